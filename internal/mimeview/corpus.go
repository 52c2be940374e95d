package mimeview

import (
	"os"
	"path/filepath"
	"runtime"
	"sort"
)

// CorpusDir is the directory of the hostile corpus (testdata/hostile
// beside this file), for tests in other packages, such as the browser
// tests, that load each message in a real browser. It is a source tree
// path: it works where the tests run, in the repository.
func CorpusDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "testdata", "hostile")
}

// CorpusFiles lists the hostile corpus's messages (*.eml), sorted.
func CorpusFiles() ([]string, error) {
	ents, err := os.ReadDir(CorpusDir())
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() && filepath.Ext(e.Name()) == ".eml" {
			out = append(out, filepath.Join(CorpusDir(), e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}
