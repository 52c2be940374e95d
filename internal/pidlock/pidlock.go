// Package pidlock is a pid file that is also a lock, enforced by the
// kernel: the holder keeps an exclusive flock(2) on the file for as long as
// it lives, and the kernel drops the lock the instant the process is gone,
// however it died. A second process that finds the lock held learns the
// holder's pid from the file and can say who is in the way.
//
// goqmail uses two: ROOT/run/goqmaild.pid (one supervisor per root) and
// ROOT/queue/lock (one queue writer, held from before recovery until exit,
// so a new queue never recycles files an old one is still writing).
package pidlock

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Lock is a held lock. Its descriptor is close-on-exec: programs the holder
// starts do not inherit the lock and cannot keep it alive after the holder
// died.
type Lock struct {
	f    *os.File
	path string
}

// HeldError says the lock belongs to another process.
type HeldError struct {
	Path string
	PID  int // 0 when the file does not name one (yet)
}

func (e *HeldError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("%s is locked by pid %d", e.Path, e.PID)
	}
	return fmt.Sprintf("%s is locked by another process", e.Path)
}

// TryAcquire takes the lock on path (created with perm if missing) without
// waiting, and writes this process's pid into the file. A lock held by
// another process is a *HeldError.
func TryAcquire(path string, perm os.FileMode) (*Lock, error) {
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, perm)
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		err = flock(f, syscall.LOCK_EX|syscall.LOCK_NB)
		if errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, &HeldError{Path: path, PID: ReadPID(path)}
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		// A holder that released the lock removes the file first: if the
		// name no longer points at the file we locked, the lock guards
		// nothing and another process may lock the new file. Start over.
		same, err := samePath(f, path)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if !same {
			f.Close()
			continue
		}
		if err := writePID(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: write pid: %w", path, err)
		}
		return &Lock{f: f, path: path}, nil
	}
}

// Acquire waits until the lock on path is free and takes it. Every waitLog
// while it waits, it calls logf with the holder, so a stuck predecessor is
// visible in the log rather than a silent hang.
func Acquire(path string, perm os.FileMode, waitLog time.Duration, logf func(holder *HeldError, waited time.Duration)) (*Lock, error) {
	start := time.Now()
	next := start
	for {
		l, err := TryAcquire(path, perm)
		var held *HeldError
		if !errors.As(err, &held) {
			return l, err
		}
		if now := time.Now(); logf != nil && !now.Before(next) {
			logf(held, now.Sub(start))
			next = now.Add(waitLog)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Release removes the file and drops the lock, in that order (see
// TryAcquire). Programs that leave the file behind just exit.
func (l *Lock) Release() {
	os.Remove(l.path)
	l.f.Close()
}

// Holder returns the pid of the live process holding the lock on path, or
// 0 when nobody holds it (the file is missing, or left behind by a process
// that died: its pid may belong to someone else by now). It takes no lock
// and changes nothing: a shared lock that cannot be had means an exclusive
// one is held.
func Holder(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	if err := flock(f, syscall.LOCK_SH|syscall.LOCK_NB); err == nil {
		return 0 // closing f drops the shared lock
	}
	return ReadPID(path)
}

// ReadPID returns the pid written in a lock file, 0 if there is none.
func ReadPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}

func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			return err
		}
	}
}

func samePath(f *os.File, path string) (bool, error) {
	a, err := f.Stat()
	if err != nil {
		return false, err
	}
	b, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(a, b), nil
}
