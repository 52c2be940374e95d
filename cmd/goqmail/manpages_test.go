package main

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var updateMan = flag.Bool("update-man", false, "rewrite docs/man from the help texts")

// TestManPagesUpToDate: docs/man is what `goqmail install` writes, the
// help texts rendered; a help text changed without its page fails here.
// Every command has a page, and each page holds its --help text.
func TestManPagesUpToDate(t *testing.T) {
	const dir = "../../docs/man"
	pages := renderedPages()
	if *updateMan {
		os.MkdirAll(dir, 0o755)
		old, _ := filepath.Glob(filepath.Join(dir, "*.8"))
		for _, f := range old {
			os.Remove(f)
		}
		for name, text := range pages {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	have, _ := filepath.Glob(filepath.Join(dir, "*.8"))
	var names []string
	for _, f := range have {
		names = append(names, filepath.Base(f))
	}
	for name, text := range pages {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(b) != text {
			t.Errorf("docs/man/%s is stale or missing: run go test ./cmd/goqmail -run TestManPagesUpToDate -update-man", name)
		}
		names = slices.DeleteFunc(names, func(n string) bool { return n == name })
	}
	for _, n := range names {
		t.Errorf("docs/man/%s has no command behind it: run go test ./cmd/goqmail -run TestManPagesUpToDate -update-man", n)
	}
	for _, c := range commands {
		page, ok := pages["goqmail-"+c.name+".8"]
		first := strings.SplitN(c.usage, "\n", 2)[0]
		if !ok || !strings.Contains(page, strings.ReplaceAll(first, "-", `\-`)) {
			t.Errorf("goqmail %s: no page, or its page lacks the usage line %q", c.name, first)
		}
	}
	for _, want := range []string{"goqmail.8", "goqmaild.8", "goqmail-sendmail.8", "goqmail-metrics.8"} {
		if _, ok := pages[want]; !ok {
			t.Errorf("no page %s", want)
		}
	}
}
