// Package plainfile opens regular files and directories without the
// netpoller's set-up, for the paths every message takes.
//
// os.OpenFile on Linux treats every descriptor as possibly pollable: it
// sets O_NONBLOCK (two fcntl calls), tries to add the descriptor to epoll
// (which refuses regular files and directories), and clears O_NONBLOCK
// again (two more fcntl calls): five system calls wasted on each open of a
// regular file. Measured under the bench load (docs/bench.md, "CPU per
// message"), that was 5.8 fcntl calls per delivery in goqmail-local and 9 in
// goqmail-lspawn. A descriptor from open(2) wrapped by os.NewFile costs one
// fcntl (NewFile asks whether it is non-blocking) and behaves the same for
// a regular file: blocking reads and writes, no deadlines.
//
// Use it only where the path is a regular file or a directory, or is
// checked to be one (O_NOFOLLOW, Stat): a FIFO opened here would not be
// under the poller.
package plainfile

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// Open is os.OpenFile for a regular file or a directory: flag as for
// os.OpenFile (O_CLOEXEC is always added), perm's permission bits only (no
// setuid, setgid or sticky bit; no caller needs them). Its errors are
// *os.PathError with op "open", as os.OpenFile's are, so errors.Is(err,
// fs.ErrExist) and os.IsNotExist keep working.
func Open(path string, flag int, perm os.FileMode) (*os.File, error) {
	fd, err := openRetry(path, flag|unix.O_CLOEXEC, uint32(perm.Perm()))
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// ErrNotRegular is OpenRegular's error for anything but a regular file.
var ErrNotRegular = errors.New("not a regular file")

// OpenRegular opens path only if it is a regular file, and returns its
// status too. The open itself is non-blocking, so a FIFO planted where a
// file was expected is refused at once instead of blocking the caller
// until a writer appears (qmail's open_read uses O_NDELAY for the same
// reason); the descriptor is returned in blocking mode. flag must not
// create: the file is expected to exist.
func OpenRegular(path string, flag int) (*os.File, *unix.Stat_t, error) {
	fd, err := openRetry(path, flag|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	var st unix.Stat_t
	err = unix.Fstat(fd, &st)
	if err == nil && st.Mode&unix.S_IFMT != unix.S_IFREG {
		err = ErrNotRegular
	}
	if err == nil && flag&unix.O_NONBLOCK == 0 {
		var fl int
		if fl, err = unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0); err == nil {
			_, err = unix.FcntlInt(uintptr(fd), unix.F_SETFL, fl&^unix.O_NONBLOCK)
		}
	}
	if err != nil {
		unix.Close(fd)
		return nil, nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), &st, nil
}

// SyncDir fsyncs a directory: open, fsync, close on a bare descriptor,
// three system calls where os.Open, Sync and Close take eight.
func SyncDir(dir string) error {
	fd, err := openRetry(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: dir, Err: err}
	}
	for {
		err = unix.Fsync(fd)
		if err != unix.EINTR {
			break
		}
	}
	cerr := unix.Close(fd)
	if err != nil {
		return &os.PathError{Op: "fsync", Path: dir, Err: err}
	}
	if cerr != nil {
		return &os.PathError{Op: "close", Path: dir, Err: cerr}
	}
	return nil
}

// Pipe returns a pipe in blocking mode, close-on-exec, outside the poller:
// the form a pipe takes anyway once its descriptor is passed on or used
// with splice(2) (os.File.Fd puts it in blocking mode). os.Pipe would spend
// eight fcntl and four epoll_ctl calls to set up and undo the poller's
// registration.
func Pipe() (r, w *os.File, err error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return nil, nil, os.NewSyscallError("pipe2", err)
	}
	return os.NewFile(uintptr(p[0]), "|0"), os.NewFile(uintptr(p[1]), "|1"), nil
}

func openRetry(path string, flag int, perm uint32) (int, error) {
	for {
		fd, err := unix.Open(path, flag, perm)
		if err != unix.EINTR {
			return fd, err
		}
	}
}
