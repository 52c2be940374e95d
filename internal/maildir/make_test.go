package maildir

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMakeIdempotentAndExactMode(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "Maildir")
	const perm = 0o770 // wider than the usual umask 022 allows
	for range 2 {
		if err := Make(dir, perm); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"", "tmp", "new", "cur"} {
		fi, err := os.Stat(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		if !fi.IsDir() || fi.Mode().Perm() != perm {
			t.Errorf("%s/%s: %v, want directory %v", dir, p, fi.Mode(), os.FileMode(perm))
		}
	}
	var d Deliverer
	if _, err := d.Deliver(dir, nil, strings.NewReader("x")); err != nil {
		t.Fatalf("delivery into made maildir: %v", err)
	}
}

func TestMakeKeepsExistingParts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "Maildir")
	if err := os.MkdirAll(filepath.Join(dir, "cur"), 0o700); err != nil {
		t.Fatal(err)
	}
	plant(t, filepath.Join(dir, "cur", "kept"), "x")
	if err := Make(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "cur", "kept")); err != nil {
		t.Fatalf("existing message lost: %v", err)
	}
	for _, p := range []string{"tmp", "new"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("%s not created: %v", p, err)
		}
	}
}

func TestMakeErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  error
	}{
		{"missing parent", func(t *testing.T, dir string) {}, fs.ErrNotExist},
		{"new is a file", func(t *testing.T, dir string) {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			plant(t, filepath.Join(dir, "new"), "x")
		}, fs.ErrExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "parent", "Maildir")
			tt.setup(t, dir)
			if err := Make(dir, 0o700); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestCleanTmpByAccessTime(t *testing.T) {
	md := newMaildir(t)
	now := time.Now()
	tests := []struct {
		name     string
		accessed time.Duration // before now
		dir      bool
		removed  bool
	}{
		{"crashed-delivery", 40 * time.Hour, false, true},
		{"just-over", DefaultTmpAge + time.Minute, false, true},
		{"in-progress", time.Hour, false, false},
		{"just-under", DefaultTmpAge - time.Minute, false, false},
		{".dotfile", 40 * time.Hour, false, false},
		{"subdir", 40 * time.Hour, true, false},
	}
	want := 0
	for _, tt := range tests {
		p := filepath.Join(md, "tmp", tt.name)
		if tt.dir {
			if err := os.Mkdir(p, 0o700); err != nil {
				t.Fatal(err)
			}
		} else {
			plant(t, p, "x")
		}
		at := now.Add(-tt.accessed)
		// mtime stays recent: the age is judged by access time.
		if err := os.Chtimes(p, at, now); err != nil {
			t.Fatal(err)
		}
		if tt.removed {
			want++
		}
	}
	n, err := CleanTmp(md, DefaultTmpAge, now)
	if err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Errorf("removed %d, want %d", n, want)
	}
	for _, tt := range tests {
		_, err := os.Lstat(filepath.Join(md, "tmp", tt.name))
		if gone := errors.Is(err, fs.ErrNotExist); gone != tt.removed {
			t.Errorf("%s: removed = %v, want %v", tt.name, gone, tt.removed)
		}
	}
}

func TestCleanTmpMissingTmp(t *testing.T) {
	md := newMaildir(t)
	rmdir(t, md, "tmp")
	if _, err := CleanTmp(md, DefaultTmpAge, time.Now()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want ErrNotExist", err)
	}
}
