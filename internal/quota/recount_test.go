package quota

import (
	"os"
	"path/filepath"
	"testing"
)

// TestRecount: a file that trusts an old count ("under quota") is
// replaced by the real one; a file that is right is left alone.
func TestRecount(t *testing.T) {
	root, want := testMaildir(t)
	lim := Limits{Bytes: 1000}
	writeSizeFile(t, root, "1000S\n10 1\n", 0) // fresh, one line: Check would trust it
	if _, fits, err := Check(root, lim, 1); err != nil || !fits {
		t.Fatalf("precondition: Check trusts the stale file: fits %v, %v", fits, err)
	}
	u, err := Recount(filepath.Join(root, ".Sent"), lim) // a folder: its parent's file
	if err != nil || u != want {
		t.Fatalf("Recount = %+v, %v; want %+v", u, err, want)
	}
	path := filepath.Join(root, fileName)
	b, err := os.ReadFile(path)
	if wantFile := string(formatFile(lim, want)); err != nil || string(b) != wantFile {
		t.Fatalf("maildirsize = %q, %v; want %q", b, err, wantFile)
	}
	if _, fits, err := Check(root, lim, 1); err != nil || fits {
		t.Errorf("after Recount, Check: fits %v, %v; want over quota", fits, err)
	}

	before, _ := os.Stat(path)
	if _, err := Recount(root, lim); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(path)
	if !os.SameFile(before, after) {
		t.Error("Recount replaced a file that was already right")
	}
	if _, err := Recount(root, Limits{Bytes: -1}); err == nil {
		t.Error("Recount took a negative limit")
	}
}
