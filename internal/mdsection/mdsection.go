// Package mdsection keeps generated sections of a Markdown file in step
// with the code they are generated from (as docs/control.md is, whole).
// A section sits between two marker lines:
//
//	<!-- begin generated: NAME; HOW -->
//	...
//	<!-- end generated: NAME -->
//
// HOW says how to regenerate it, so a reader of the raw file knows not to
// edit it by hand. Everything outside the markers is left alone, and the
// markers keep merges of hand edits and generated tables apart.
package mdsection

import (
	"bytes"
	"fmt"
	"os"
)

// Replace returns doc with section name's content set to body (ending in
// a newline) and its begin marker naming how.
func Replace(doc []byte, name, how, body string) ([]byte, error) {
	begin := []byte("<!-- begin generated: " + name + ";")
	end := []byte("<!-- end generated: " + name + " -->\n")
	i := bytes.Index(doc, begin)
	if i < 0 || (i > 0 && doc[i-1] != '\n') {
		return nil, fmt.Errorf("no line starting %q: put the two marker lines where section %s goes", begin, name)
	}
	if bytes.Index(doc[i+len(begin):], begin) >= 0 {
		return nil, fmt.Errorf("section %s is marked twice", name)
	}
	j := bytes.Index(doc[i:], end)
	if j < 0 || doc[i+j-1] != '\n' {
		return nil, fmt.Errorf("section %s has no line %q after its begin marker", name, bytes.TrimSpace(end))
	}
	var b bytes.Buffer
	b.Write(doc[:i])
	fmt.Fprintf(&b, "<!-- begin generated: %s; %s -->\n", name, how)
	b.WriteString(body)
	b.Write(doc[i+j:])
	return b.Bytes(), nil
}

// Sync compares the file at path with section name regenerated from body
// and, if update is set, writes the regenerated file. It reports whether
// the file was stale (before any update).
func Sync(path, name, how, body string, update bool) (stale bool, err error) {
	doc, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	want, err := Replace(doc, name, how, body)
	if err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	if bytes.Equal(doc, want) {
		return false, nil
	}
	if update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			return true, err
		}
	}
	return true, nil
}
