package assign

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
)

// File is users/assign on disk. goqmail has no qmail-newu step: the spawner
// asks File for the table before each lookup, and File reparses the file
// whenever it has changed (another inode, size, mtime or mode), so an edit
// takes effect with the next delivery. The zero value with Path set is ready
// to use, and a File may be used by concurrent goroutines.
//
// Replace the file by writing a new one and renaming it over the old:
// rename(2) is atomic, so a reader sees the old or the new file. An editor
// that rewrites in place can expose a partly written file; it lacks the
// final "." line and is refused (deliveries defer), which is why Parse
// insists on that line. A file deleted and then recreated is briefly
// missing, and deliveries in that moment fall through to the passwd rules.
type File struct {
	Path string

	mu    sync.Mutex
	info  fs.FileInfo // the file the cached result came from; nil if none
	table *Table
	err   error
}

// Table returns the current assignments. A missing file is (nil, nil), which
// Lookup treats as no assignments, as qmail-lspawn falls back to
// qmail-getpw when users/cdb does not exist. Any error (unreadable file,
// unsafe permissions, bad format) should defer the delivery: falling back to
// the passwd rules could hand mail to an account the administrator assigned
// elsewhere.
//
// Because the file tells a root process which uid to deliver as, it is
// refused when it is not a regular file or is writable by group or others.
func (f *File) Table() (*Table, error) {
	// The common case, an unchanged file, costs one stat(2).
	if info, err := os.Stat(f.Path); err == nil {
		f.mu.Lock()
		if f.info != nil && sameVersion(f.info, info) {
			t, terr := f.table, f.err
			f.mu.Unlock()
			return t, terr
		}
		f.mu.Unlock()
	}
	fh, err := os.Open(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		f.remember(nil, nil, nil)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("users/assign: %w", err)
	}
	defer fh.Close()
	info, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("users/assign: %w", err)
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	if f.info != nil && sameVersion(f.info, info) {
		return f.table, f.err
	}
	var table *Table
	switch {
	case !info.Mode().IsRegular():
		err = fmt.Errorf("%s: not a regular file", f.Path)
	case info.Mode().Perm()&0o022 != 0:
		err = fmt.Errorf("%s: refusing a file writable by group or others (mode %v): it decides which uid deliveries run as", f.Path, info.Mode().Perm())
	default:
		table, err = Parse(fh)
		if err != nil {
			err = fmt.Errorf("parse %s: %w", f.Path, err)
		}
	}
	f.info, f.table, f.err = info, table, err
	return table, err
}

func (f *File) remember(info fs.FileInfo, table *Table, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.info, f.table, f.err = info, table, err
}

// sameVersion reports whether two stats describe the same, unchanged file.
// A rename over the file changes the inode; an in-place rewrite changes the
// mtime (nanoseconds on current file systems) and usually the size.
func sameVersion(a, b fs.FileInfo) bool {
	return os.SameFile(a, b) && a.ModTime().Equal(b.ModTime()) &&
		a.Size() == b.Size() && a.Mode() == b.Mode()
}
