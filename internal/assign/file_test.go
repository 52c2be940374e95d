package assign

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// replaceFile writes text to path the recommended way: a new file renamed
// over the old one.
func replaceFile(t *testing.T, path, text string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func lookupUser(t *testing.T, f *File, local string) string {
	t.Helper()
	table, err := f.Table()
	if err != nil {
		t.Fatalf("Table: %v", err)
	}
	e, _ := table.Lookup(local)
	return e.User
}

func TestFileReloads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "assign")
	f := &File{Path: path}

	// No file: no table, no error (the passwd rules apply).
	if table, err := f.Table(); table != nil || err != nil {
		t.Fatalf("missing file: Table = %v, %v; want nil, nil", table, err)
	}

	replaceFile(t, path, "=joe:first:1:1:/h:::\n.\n")
	if got := lookupUser(t, f, "joe"); got != "first" {
		t.Fatalf("after create: user %q, want first", got)
	}
	first, _ := f.Table()
	again, _ := f.Table()
	if first != again {
		t.Error("unchanged file was parsed again")
	}

	// Renamed over: a new inode.
	replaceFile(t, path, "=joe:second:1:1:/h:::\n.\n")
	if got := lookupUser(t, f, "joe"); got != "second" {
		t.Fatalf("after rename: user %q, want second", got)
	}

	// Rewritten in place with the same size: only the mtime tells.
	if err := os.WriteFile(path, []byte("=joe:thirdd:1:1:/h:::\n.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	if got := lookupUser(t, f, "joe"); got != "thirdd" {
		t.Fatalf("after in-place rewrite: user %q, want thirdd", got)
	}

	// Removed: back to no table.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if table, err := f.Table(); table != nil || err != nil {
		t.Fatalf("removed file: Table = %v, %v; want nil, nil", table, err)
	}
}

func TestFileErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "assign")
	f := &File{Path: path}

	// Truncated (no "." line): an error naming the file, repeated while the
	// file is unchanged, gone once it is fixed.
	replaceFile(t, path, "=joe:joe:1:1:/h:::\n")
	for range 2 {
		table, err := f.Table()
		if err == nil || table != nil {
			t.Fatalf("truncated file: Table = %v, %v; want an error", table, err)
		}
		if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "truncated") {
			t.Errorf("error %q should name the file and say truncated", err)
		}
	}
	replaceFile(t, path, "=joe:joe:1:1:/h:::\n.\n")
	if got := lookupUser(t, f, "joe"); got != "joe" {
		t.Fatalf("fixed file: user %q, want joe", got)
	}

	for _, mode := range []os.FileMode{0o664, 0o646, 0o666} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		if table, err := f.Table(); err == nil || table != nil {
			t.Errorf("mode %v: Table = %v, %v; want a refusal", mode, table, err)
		}
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := lookupUser(t, f, "joe"); got != "joe" {
		t.Errorf("mode 0600: user %q, want joe", got)
	}

	// A directory is not a regular file.
	dirFile := &File{Path: dir}
	if table, err := dirFile.Table(); err == nil || table != nil {
		t.Errorf("directory: Table = %v, %v; want an error", table, err)
	}
}
