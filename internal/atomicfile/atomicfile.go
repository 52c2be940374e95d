// Package atomicfile replaces files so that a reader sees either the old or
// the new content, never a mix, and the new content survives a crash once
// WriteFile returns: write a temporary file, fsync it, rename it over the
// target, fsync the directory (qmail-newu's cdb.tmp + fsync + rename, plus
// the directory fsync qmail never did). It also has the exclusive lock the
// writers of shared tables (the virtual-user directory, the relay grants)
// take around a read-modify-replace.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"goqmail/internal/dirsync"
)

// Options adjust Write.
type Options struct {
	Perm os.FileMode
	// Group, when >= 0, is set on the temporary file before the rename, so
	// the file is never visible with the wrong group (a password table
	// that its readers cannot read for an instant).
	Group int
	// UID, when > 0, becomes the file's owner before the rename (only root
	// may give a file away): a file that one other account must read, and
	// nobody else, is given to that account with a mode like 0400.
	UID int
	// StampNow sets the mtime with full nanoseconds before the rename: file
	// systems stamp with a coarse clock, and readers that cache by (inode,
	// size, mtime) must never see two versions with the same key.
	StampNow bool
}

// WriteFile atomically replaces path with data, created with perm.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return Write(path, data, Options{Perm: perm, Group: -1})
}

// Write atomically replaces path with data as o says.
func Write(path string, data []byte, o Options) error {
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
	if err := f.Chmod(o.Perm); err != nil {
		return fail(err)
	}
	if o.Group >= 0 || o.UID > 0 {
		uid := -1
		if o.UID > 0 {
			uid = o.UID
		}
		if err := f.Chown(uid, o.Group); err != nil {
			return fail(err)
		}
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
	if o.StampNow {
		now := time.Now()
		if err := os.Chtimes(tmp, now, now); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return dirsync.Dir(dir)
}

// Lock takes an exclusive flock on path (created 0600 if missing) and
// returns the function that releases it. flock locks belong to the open
// file, so two goroutines of one process exclude each other as two
// processes do. Readers of the files it protects never lock.
func Lock(path string) (unlock func(), err error) {
	fh, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	for {
		err = syscall.Flock(int(fh.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { fh.Close() }, nil
}
