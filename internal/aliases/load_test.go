package aliases

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// later is a clock far enough ahead that files written by the test are no
// longer "racy"; the cache may then keep what it read.
func later() time.Time { return time.Now().Add(time.Hour) }

func setMtime(t *testing.T, path string, mt time.Time) {
	t.Helper()
	if err := os.Chtimes(path, mt, mt); err != nil {
		t.Fatal(err)
	}
}

func lookupOne(t *testing.T, tab *Table, name string) []Target {
	t.Helper()
	got, ok := tab.Lookup(name)
	if !ok {
		t.Fatalf("alias %q missing", name)
	}
	return got
}

func TestLoadCache(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "aliases")
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	writeFile(t, path, "a: b\n")
	setMtime(t, path, old)
	c := newLoadCache()

	t1, err := c.load(path, later)
	if err != nil {
		t.Fatal(err)
	}
	t2, _ := c.load(path, later)
	if t1 != t2 {
		t.Fatal("unchanged file was parsed again")
	}

	steps := []struct {
		name   string
		change func()
		want   Target
	}{
		{"size changes", func() { writeFile(t, path, "a: bb\n"); setMtime(t, path, old) }, addr("bb")},
		{"mtime changes, same size", func() { writeFile(t, path, "a: cc\n"); setMtime(t, path, old.Add(time.Second)) }, addr("cc")},
		{"same size and mtime, in place (ctime)", func() {
			time.Sleep(20 * time.Millisecond) // the kernel's ctime clock ticks per jiffy
			writeFile(t, path, "a: dd\n")
			setMtime(t, path, old.Add(time.Second))
		}, addr("dd")},
		{"replaced by rename, same size and mtime", func() {
			tmp := filepath.Join(dir, "tmp")
			writeFile(t, tmp, "a: ee\n")
			setMtime(t, tmp, old.Add(time.Second))
			if err := os.Rename(tmp, path); err != nil {
				t.Fatal(err)
			}
		}, addr("ee")},
	}
	prev := t2
	for _, s := range steps {
		s.change()
		got, err := c.load(path, later)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got == prev {
			t.Fatalf("%s: table not re-read", s.name)
		}
		if g := lookupOne(t, got, "a"); !reflect.DeepEqual(g, []Target{s.want}) {
			t.Fatalf("%s: a = %v, want %v", s.name, g, s.want)
		}
		again, _ := c.load(path, later)
		if again != got {
			t.Fatalf("%s: unchanged file parsed again", s.name)
		}
		prev = got
	}
}

func TestLoadCacheFollowsIncludes(t *testing.T) {
	dir := t.TempDir()
	path, list := filepath.Join(dir, "aliases"), filepath.Join(dir, "list")
	old := time.Now().Add(-time.Hour)
	writeFile(t, list, "x\n")
	writeFile(t, path, "l: :include:"+list+"\n")
	c := newLoadCache()
	t1, err := c.load(path, later)
	if err != nil {
		t.Fatal(err)
	}
	if t2, _ := c.load(path, later); t2 != t1 {
		t.Fatal("unchanged files parsed again")
	}
	writeFile(t, list, "y, z\n")
	setMtime(t, list, old)
	t3, _ := c.load(path, later)
	if t3 == t1 || !reflect.DeepEqual(lookupOne(t, t3, "l"), []Target{addr("y"), addr("z")}) {
		t.Fatal("change of an include file not noticed")
	}
}

func TestLoadRacyFileNotCached(t *testing.T) {
	path := filepath.Join(t.TempDir(), "aliases")
	writeFile(t, path, "a: b\n")
	c := newLoadCache()
	t1, _ := c.load(path, time.Now)
	t2, _ := c.load(path, time.Now)
	if t1 == t2 {
		t.Fatal("a file written just now was cached; a same-second rewrite could be missed")
	}
}

func TestLoadBrokenIncludeNotCached(t *testing.T) {
	dir := t.TempDir()
	path, list := filepath.Join(dir, "aliases"), filepath.Join(dir, "list")
	writeFile(t, path, "l: :include:"+list+", fallback\n")
	c := newLoadCache()
	t1, err := c.load(path, later)
	if !errors.Is(err, ErrInclude) || !reflect.DeepEqual(lookupOne(t, t1, "l"), []Target{addr("fallback")}) {
		t.Fatalf("missing include: err = %v", err)
	}
	writeFile(t, list, "x\n")
	t2, err := c.load(path, later)
	if err != nil || !reflect.DeepEqual(lookupOne(t, t2, "l"), []Target{addr("x"), addr("fallback")}) {
		t.Fatalf("include that appeared was not read: err = %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	c := newLoadCache()

	if tab, err := c.load(filepath.Join(dir, "missing"), later); tab != nil || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, %v", tab, err)
	}
	if tab, err := c.load(dir, later); tab != nil || err == nil {
		t.Errorf("directory: %v, %v", tab, err)
	}
	ww := filepath.Join(dir, "ww")
	writeFile(t, ww, "a: b\n")
	if err := os.Chmod(ww, 0o646); err != nil {
		t.Fatal(err)
	}
	if tab, err := c.load(ww, later); tab != nil || err == nil {
		t.Errorf("world-writable file: %v, %v", tab, err)
	}

	partial := filepath.Join(dir, "partial")
	writeFile(t, partial, "a: b\nbroken\nc: d\n")
	tab, err := c.load(partial, later)
	var le *LineError
	if tab == nil || !errors.As(err, &le) || le.File != partial || le.Line != 2 {
		t.Fatalf("partial file: table %v, err %v; want table and a LineError at line 2", tab, err)
	}
	if tab.Len() != 2 {
		t.Errorf("partial file kept %d aliases, want 2", tab.Len())
	}
	// The cached result repeats the error, so every caller sees it.
	if tab2, err2 := c.load(partial, later); tab2 != tab || err2 == nil {
		t.Errorf("cached partial: %v, %v", tab2, err2)
	}
}

func TestLoadUsesSharedCache(t *testing.T) {
	path := filepath.Join(t.TempDir(), "aliases")
	writeFile(t, path, "a: b\n")
	setMtime(t, path, time.Now().Add(-time.Hour))
	tab, err := Load(path)
	if err != nil || !reflect.DeepEqual(lookupOne(t, tab, "a"), []Target{addr("b")}) {
		t.Fatalf("Load: %v", err)
	}
}
