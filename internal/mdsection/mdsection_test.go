package mdsection

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReplace(t *testing.T) {
	doc := "# T\n\nhand text\n<!-- begin generated: t; old how -->\nold\nrows\n<!-- end generated: t -->\nmore hand text\n"
	got, err := Replace([]byte(doc), "t", "run x", "new\n")
	if err != nil {
		t.Fatal(err)
	}
	want := "# T\n\nhand text\n<!-- begin generated: t; run x -->\nnew\n<!-- end generated: t -->\nmore hand text\n"
	if string(got) != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	for _, bad := range []struct{ doc, err string }{
		{"no markers\n", "put the two marker lines"},
		{"<!-- begin generated: t; x -->\nno end\n", "no line"},
		{"<!-- begin generated: t; x -->\n<!-- end generated: t -->\n<!-- begin generated: t; x -->\n<!-- end generated: t -->\n", "marked twice"},
		{"text <!-- begin generated: t; x -->\n<!-- end generated: t -->\n", "put the two marker lines"},
		{"<!-- begin generated: other; x -->\n<!-- end generated: other -->\n", "put the two marker lines"},
	} {
		if _, err := Replace([]byte(bad.doc), "t", "how", "b\n"); err == nil || !strings.Contains(err.Error(), bad.err) {
			t.Errorf("%q: %v, want an error with %q", bad.doc, err, bad.err)
		}
	}
}

func TestSync(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.md")
	os.WriteFile(path, []byte("a\n<!-- begin generated: s; h -->\nold\n<!-- end generated: s -->\n"), 0o644)
	if stale, err := Sync(path, "s", "h", "new\n", false); err != nil || !stale {
		t.Fatalf("stale=%v err=%v", stale, err)
	}
	if b, _ := os.ReadFile(path); !strings.Contains(string(b), "old") {
		t.Fatal("written without update")
	}
	if stale, err := Sync(path, "s", "h", "new\n", true); err != nil || !stale {
		t.Fatalf("update: stale=%v err=%v", stale, err)
	}
	if stale, err := Sync(path, "s", "h", "new\n", false); err != nil || stale {
		t.Fatalf("after update: stale=%v err=%v", stale, err)
	}
}
