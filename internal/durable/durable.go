// Package durable decides how goqmail makes a new file and its name
// durable before it tells anyone the file exists (the queue before 250, the
// delivery process before "delivered"), and shares that cost among
// concurrent callers: group commit.
//
// Always in this order: the file's content is on stable storage before the
// file is renamed to its final name, and the name is on stable storage
// before the caller reports success. A name must never point at content
// that a power loss could take away (issue 12): a rename is metadata that
// the file system may commit before the data it names.
//
// Ways to make the content durable, chosen by control/syncmode:
//
//   - journal (the default): for the queue, a journal shared by concurrent
//     commits (internal/queue/journal.go): one fdatasync for a group of
//     messages. Everywhere else (Maildir deliveries), as fsync.
//   - fsync: fsync(2) the file. Every file costs its own
//     call; concurrent calls share the file system's journal commits.
//   - syncfs: one syncfs(2) of the file system, shared by every caller that
//     arrives while one runs. One call writes all their data and flushes
//     the disk cache once. Then each caller asks the kernel, with
//     sync_file_range(2) on its own descriptor, whether writing its file
//     failed: syncfs reports errors to only one caller, so each file's own
//     error state is checked as fsync would. Needs Linux 5.8 or newer
//     (older kernels' syncfs drops write errors). It also writes every
//     other program's dirty data on the same file system, so it is only
//     for a queue on a file system of its own: never the default.
//
// The name is made durable the same way in both modes: fsync of the
// directory, shared among the callers of that directory (internal/dirsync).
package durable

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
	"goqmail/internal/dirsync"
)

// Mode is how files are made durable.
type Mode int

const (
	// Journal (the default): the queue shares one fdatasync among
	// concurrent commits through its journal (internal/queue/journal.go);
	// for everything else, and for messages too large for the journal, it
	// is Fsync.
	Journal Mode = iota
	Fsync
	Syncfs
)

func (m Mode) String() string {
	switch m {
	case Syncfs:
		return "syncfs"
	case Fsync:
		return "fsync"
	}
	return "journal"
}

// ParseMode reads control/syncmode: "journal", "fsync", "syncfs", or
// "auto"/"" for journal. syncfs is refused on kernels before 5.8, whose
// syncfs drops write errors.
func ParseMode(s string) (Mode, error) {
	switch strings.TrimSpace(s) {
	case "", "auto", "journal":
		return Journal, nil
	case "fsync":
		return Fsync, nil
	case "syncfs":
		if !kernelAtLeast(5, 8) {
			return Journal, errors.New("syncmode syncfs needs Linux 5.8 or newer (older kernels' syncfs loses write errors): use fsync")
		}
		return Syncfs, nil
	}
	return Journal, fmt.Errorf("syncmode %q: use journal, fsync, syncfs or auto", s)
}

func kernelAtLeast(major, minor int) bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	rel := unix.ByteSliceToString(u.Release[:])
	parts := strings.SplitN(rel, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(strings.TrimLeftFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}

// Syncer applies a Mode to single files. The zero value (Journal) and
// Fsync use fsync(2).
type Syncer struct {
	Mode  Mode
	group dirsync.Syncer
	devs  sync.Map // directory -> group key of its file system
}

// fsKey names the file system dir is on, so that every commit on one file
// system shares its syncfs; looked up once per directory.
func (s *Syncer) fsKey(dir string) (string, error) {
	if k, ok := s.devs.Load(dir); ok {
		return k.(string), nil
	}
	st, err := os.Stat(dir)
	if err != nil {
		return "", err
	}
	k := "syncfs:" + strconv.FormatUint(st.Sys().(*syscall.Stat_t).Dev, 10)
	s.devs.Store(dir, k)
	return k, nil
}

// File is called after writing f and before renaming it into place. When
// it returns nil, f's content is on stable storage.
func (s *Syncer) File(f *os.File) error {
	if s.Mode != Syncfs {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("fsync: %w", err)
		}
		return nil
	}
	dir := filepath.Dir(f.Name())
	key, err := s.fsKey(dir)
	if err != nil {
		return err
	}
	if err := s.group.Do(key, func() error { return syncfs(dir) }); err != nil {
		return err
	}
	// The file's own write-back errors since it was opened (errseq), which
	// the shared syncfs may have reported to another caller only.
	for {
		err = unix.SyncFileRange(int(f.Fd()), 0, 0, unix.SYNC_FILE_RANGE_WAIT_BEFORE|unix.SYNC_FILE_RANGE_WRITE|unix.SYNC_FILE_RANGE_WAIT_AFTER)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("write-back of %s failed: %w", f.Name(), err)
	}
	return nil
}

// Name is called after f, made durable by File, was renamed into dir. When
// it returns nil, the name in dir is durable too: fsync of dir, shared
// with every caller of the same directory.
func (s *Syncer) Name(dir string, f *os.File) error {
	return s.group.Sync(dir)
}

func syncfs(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncfs: %w", err)
	}
	defer d.Close()
	for {
		err = unix.Syncfs(int(d.Fd()))
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("syncfs: %w", err)
	}
	return nil
}
