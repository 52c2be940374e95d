// Package atomicfile replaces files so that a reader sees either the old or
// the new content, never a mix, and the new content survives a crash once
// WriteFile returns: write a temporary file, fsync it, rename it over the
// target, fsync the directory (qmail-newu's cdb.tmp + fsync + rename, plus
// the directory fsync qmail never did).
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"

	"goqmail/internal/dirsync"
)

// WriteFile atomically replaces path with data, created with perm.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Chmod(perm); err != nil {
		return fail(err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return dirsync.Dir(dir)
}
