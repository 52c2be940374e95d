package aliases

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"syscall"
	"time"
)

// Load reads and parses the aliases file at path (see Parse).
//
// A delivery worker may call Load for every delivery: the result is cached
// by path and reused while the file and every :include: file it read keep
// their identity (device, inode, size, modification time). Editing a file
// in place or replacing it by rename both change that identity. A table is
// not cached when one of its files was modified less than two seconds
// before it was read, because a second write within the file system's
// timestamp granularity could then go unnoticed (git's "racy" index rule),
// nor when an :include: could not be read, so that fixing it takes effect
// at once.
//
// Errors: when the file itself cannot be read (missing, not a regular
// file, world-writable) Load returns a nil Table and the error. When only
// some lines are bad, Load returns the usable Table AND a non-nil error
// joining a *LineError per problem; callers should log that error and go
// on with the table.
func Load(path string) (*Table, error) {
	return defaultCache.load(path, time.Now)
}

// load is Load with its cache and clock as parameters, for tests.
func (c *loadCache) load(path string, now func() time.Time) (*Table, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("aliases: %w", err)
	}
	if t, err, ok := c.get(path, identity(fi)); ok {
		return t, err
	}
	f, id, err := openRegular(path)
	if err != nil {
		return nil, fmt.Errorf("aliases: %w", err)
	}
	defer f.Close()
	readAt := now()
	p := &parser{deps: map[string]fileID{}}
	t := p.parseAliases(f, path)
	if err = errors.Join(p.errs...); err != nil {
		err = fmt.Errorf("aliases: %w", err)
	}
	c.put(path, id, p.deps, t, err, readAt)
	return t, err
}

// fileID is what tells Load that a file changed. The change time is in it
// too: "cp -p" rewrites a file in place with the old size and mtime, and a
// chmod can make a refused file acceptable. The zero value stands for a
// file that could not be opened.
type fileID struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64 // nanoseconds since 1970
}

func identity(fi fs.FileInfo) fileID {
	id := fileID{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.dev, id.ino, id.ctime = uint64(st.Dev), st.Ino, ctimeNanos(st)
	}
	return id
}

func statID(path string) fileID {
	fi, err := os.Stat(path)
	if err != nil {
		return fileID{}
	}
	return identity(fi)
}

// openRegular opens a file that a line of may run a program from, so it
// must be a regular file (O_NONBLOCK keeps a FIFO from hanging us before we
// can tell) that not everybody may write (qmail refuses a world-writable
// .qmail for the same reason). The identity comes from the open file, so it
// matches the content read even if the path is replaced meanwhile.
func openRegular(path string) (*os.File, fileID, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fileID{}, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fileID{}, err
	}
	id := identity(fi)
	switch {
	case !fi.Mode().IsRegular():
		err = fmt.Errorf("%s is not a regular file", path)
	case fi.Mode().Perm()&0o002 != 0:
		err = fmt.Errorf("%s is world-writable", path)
	}
	if err != nil {
		f.Close()
		return nil, id, err
	}
	return f, id, nil
}

// racyWindow: a file modified this recently may change again without its
// mtime moving on coarse-timestamp file systems.
const racyWindow = 2 * time.Second

// maxCached bounds the cache; a worker loads one or two paths.
const maxCached = 16

func (id fileID) racy(now time.Time) bool {
	return now.Sub(time.Unix(0, max(id.mtime, id.ctime))) < racyWindow
}

type cached struct {
	id    fileID
	deps  map[string]fileID
	table *Table
	err   error
}

// loadCache is the only package-level state: unexported, guarded by mu,
// and never visible outside Load.
type loadCache struct {
	mu      sync.Mutex
	entries map[string]*cached
}

var defaultCache = newLoadCache()

func newLoadCache() *loadCache { return &loadCache{entries: map[string]*cached{}} }

func (c *loadCache) get(path string, id fileID) (*Table, error, bool) {
	c.mu.Lock()
	e := c.entries[path]
	c.mu.Unlock()
	if e == nil || e.id != id {
		return nil, nil, false
	}
	for dep, want := range e.deps {
		if statID(dep) != want {
			return nil, nil, false
		}
	}
	return e.table, e.err, true
}

func (c *loadCache) put(path string, id fileID, deps map[string]fileID, t *Table, err error, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, path)
	if id.racy(now) {
		return
	}
	for _, d := range deps {
		if d == (fileID{}) || d.racy(now) {
			return
		}
	}
	if len(c.entries) >= maxCached {
		for k := range c.entries {
			delete(c.entries, k)
			break
		}
	}
	c.entries[path] = &cached{id: id, deps: deps, table: t, err: err}
}
