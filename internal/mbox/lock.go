package mbox

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// heldLocks is what lock acquired; release drops it in reverse order.
type heldLocks struct {
	f       *os.File
	dotlock string // path of our dotlock, "" if none
	flock   bool
	fcntl   bool
	fcntlOp int // F_OFD_SETLK or F_SETLK, whichever took the lock
}

// lock takes the three locks mail readers use on an mbox, all or none,
// retrying with backoff until the lock timeout:
//
//  1. the dotlock path.lock (mutt, procmail, the traditional /var/mail
//     convention), skipped when the directory does not let us create files;
//  2. flock(2), qmail-local's own lock_ex, which also serialises this
//     process's concurrent deliveries to the same file;
//  3. an fcntl(2) write lock on the whole file (mutt's default, lockf).
//
// Polling non-blocking attempts instead of sleeping in F_SETLKW or
// LOCK_EX is deliberate: Go cannot interrupt a blocked lock call the way
// qmail's alarm(30) does, and taking all locks or none on each attempt
// means a reader that takes them in another order cannot deadlock with us.
//
// The fcntl lock is an open-file-description lock (F_OFD_SETLK, Linux 3.15)
// where the kernel has them: it conflicts with other processes' classic
// fcntl locks exactly like one of theirs, but belongs to our descriptor, so
// closing another descriptor of the same file in this process (another
// delivery's) cannot drop it, which is the classic POSIX-lock trap for a
// multi-threaded writer.
func (a Appender) lock(f *os.File, path string) (*heldLocks, error) {
	timeout := a.LockTimeout
	if timeout <= 0 {
		timeout = DefaultLockTimeout
	}
	deadline := time.Now().Add(timeout)
	pause := 10 * time.Millisecond
	for {
		h := &heldLocks{f: f}
		ok, err := h.tryAll(path, a.staleAfter())
		if err != nil {
			h.release()
			return nil, err
		}
		if ok {
			return h, nil
		}
		h.release()
		left := time.Until(deadline)
		if left <= 0 {
			return nil, ErrLocked
		}
		time.Sleep(min(pause, left))
		pause = min(2*pause, time.Second)
	}
}

func (a Appender) staleAfter() time.Duration {
	if a.DotlockStale <= 0 {
		return DefaultDotlockStale
	}
	return a.DotlockStale
}

// tryAll makes one attempt at every lock. It reports false, nil when one
// is held by someone else, and an error only for failures waiting cannot
// fix. File systems that cannot lock at all (ENOLCK, EOPNOTSUPP) get no
// lock of that kind, as qmail writes when lock_ex fails.
func (h *heldLocks) tryAll(path string, stale time.Duration) (bool, error) {
	ok, err := h.tryDotlock(path+".lock", stale)
	if !ok || err != nil {
		return false, err
	}
	switch err := unix.Flock(int(h.f.Fd()), unix.LOCK_EX|unix.LOCK_NB); {
	case err == nil:
		h.flock = true
	case err == unix.EWOULDBLOCK:
		return false, nil
	case !cannotLock(err):
		return false, fmt.Errorf("flock: %w", err)
	}
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: 0, Len: 0}
	op := unix.F_OFD_SETLK
	err = unix.FcntlFlock(h.f.Fd(), op, &lk)
	if err == unix.EINVAL {
		// No OFD locks: a classic lock is still safe here, because the
		// flock above keeps this process's other deliveries to the file
		// waiting until this one has closed its descriptor.
		op = unix.F_SETLK
		err = unix.FcntlFlock(h.f.Fd(), op, &lk)
	}
	switch {
	case err == nil:
		h.fcntl, h.fcntlOp = true, op
	case err == unix.EAGAIN || err == unix.EACCES:
		return false, nil
	case !cannotLock(err):
		return false, fmt.Errorf("fcntl lock: %w", err)
	}
	return true, nil
}

// cannotLock reports errors that mean "this file system does not lock",
// not "someone holds the lock".
func cannotLock(err error) bool {
	return err == unix.ENOLCK || err == unix.EOPNOTSUPP || err == unix.EINVAL
}

// tryDotlock creates lockPath exclusively. It reports true when we now
// hold it or cannot create files there at all (a directory such as
// /var/mail that only a setgid helper may write: those readers rely on the
// kernel locks too), false when another live writer holds it. A lock file
// older than stale is removed and the attempt repeated once.
func (h *heldLocks) tryDotlock(lockPath string, stale time.Duration) (bool, error) {
	for attempt := 0; attempt < 2; attempt++ {
		fd, err := unix.Open(lockPath, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
		if err == nil {
			unix.Close(fd)
			h.dotlock = lockPath
			return true, nil
		}
		switch err {
		case unix.EACCES, unix.EPERM, unix.EROFS:
			return true, nil
		case unix.EEXIST:
		default:
			return false, fmt.Errorf("create %s: %w", lockPath, err)
		}
		st, err := os.Lstat(lockPath)
		if errors.Is(err, os.ErrNotExist) {
			continue // released between our open and stat
		}
		if err != nil {
			return false, fmt.Errorf("stat %s: %w", lockPath, err)
		}
		if time.Since(st.ModTime()) < stale {
			return false, nil
		}
		// A writer that died left it. Another deliverer may remove it at
		// the same moment; the O_EXCL create above decides who wins.
		_ = os.Remove(lockPath)
	}
	return false, nil
}

// release drops the locks in reverse order. The kernel drops flock and
// fcntl locks at close anyway; unlocking explicitly just releases them
// before the deferred close, and the dotlock goes last.
func (h *heldLocks) release() {
	if h.fcntl {
		lk := unix.Flock_t{Type: unix.F_UNLCK}
		_ = unix.FcntlFlock(h.f.Fd(), h.fcntlOp, &lk)
	}
	if h.flock {
		_ = unix.Flock(int(h.f.Fd()), unix.LOCK_UN)
	}
	if h.dotlock != "" {
		_ = os.Remove(h.dotlock)
	}
}
