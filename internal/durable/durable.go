// Package durable decides how goqmail makes a new file and its name
// durable before it tells anyone the file exists (the queue before 250, the
// delivery process before "delivered"), and shares that cost among
// concurrent callers: group commit.
//
// Two ways, chosen by control/syncmode:
//
//   - fsync: fsync(2) the file before renaming it into place, then fsync the
//     directory, directory fsyncs shared among callers. Every file costs
//     its own fsync and cache flush.
//   - syncfs: rename first, then one syncfs(2) of the file system, shared
//     by every caller whose rename came before it started. One call writes
//     all their data and metadata and flushes the disk cache once. Then each
//     caller asks the kernel, with sync_file_range(2) on its own descriptor,
//     whether writing its file failed: syncfs reports errors to only one
//     caller, so each file's own error state is checked as fsync would.
//     Needs Linux 5.8 or newer (older kernels' syncfs drops write errors).
//     Costs: it also writes other programs' dirty data on the same file
//     system, so the queue is best on its own file system.
//
// A file is reported durable only when both its content and its name are
// on stable storage, in either mode.
package durable

import (
	"fmt"
	"os"
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
	Fsync Mode = iota
	Syncfs
)

func (m Mode) String() string {
	if m == Syncfs {
		return "syncfs"
	}
	return "fsync"
}

// ParseMode reads control/syncmode: "fsync", "syncfs", or "auto"/"" for
// syncfs where the kernel reports its errors (5.8 and later), else fsync.
func ParseMode(s string) (Mode, error) {
	switch strings.TrimSpace(s) {
	case "fsync":
		return Fsync, nil
	case "syncfs":
		return Syncfs, nil
	case "", "auto":
		if kernelAtLeast(5, 8) {
			return Syncfs, nil
		}
		return Fsync, nil
	}
	return Fsync, fmt.Errorf("syncmode %q: use fsync, syncfs or auto", s)
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

// Syncer applies a Mode. The zero value uses fsync.
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

// File is called after writing f and before renaming it into place.
func (s *Syncer) File(f *os.File) error {
	if s.Mode == Syncfs {
		return nil
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync: %w", err)
	}
	return nil
}

// Name is called after f was renamed into dir; f must still be open. When
// it returns nil, the file's content and its name in dir are durable.
func (s *Syncer) Name(dir string, f *os.File) error {
	if s.Mode == Fsync {
		return s.group.Sync(dir)
	}
	key, err := s.fsKey(dir)
	if err != nil {
		return err
	}
	err = s.group.Do(key, func() error { return syncfs(dir) })
	if err != nil {
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
