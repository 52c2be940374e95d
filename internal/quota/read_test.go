package quota

import (
	"os"
	"path/filepath"
	"testing"
)

func TestReadNeverWrites(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"cur", "new", "tmp"} {
		os.Mkdir(filepath.Join(dir, d), 0o700)
	}
	os.WriteFile(filepath.Join(dir, "new", "1.x,S=120"), make([]byte, 120), 0o600)
	lim, u, known, err := Read(dir)
	if err != nil || known || lim != (Limits{}) || u != (Usage{120, 1}) {
		t.Fatalf("no file: %v %v %v %v", lim, u, known, err)
	}
	if _, err := os.Stat(filepath.Join(dir, fileName)); err == nil {
		t.Fatal("Read wrote maildirsize")
	}
	os.WriteFile(filepath.Join(dir, fileName), []byte("1000S,10C\n300 2\n-100 -1\n"), 0o600)
	lim, u, known, err = Read(dir)
	if err != nil || !known || lim != (Limits{1000, 10}) || u != (Usage{200, 1}) {
		t.Fatalf("file: %v %v %v %v", lim, u, known, err)
	}
}
