package lspawn

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// maxPipe is the largest pipe buffer asked for; Linux allows up to
// /proc/sys/fs/pipe-max-size (1 MB by default) without privilege.
const maxPipe = 1 << 20

// contentPipe returns a pipe whose read end yields the content of a queued
// message (the range after its envelope) and starts copying into it. The
// copy is splice(2): the data moves inside the kernel and this root process
// never looks at it. The delivery process gets only the read end, so the
// envelope, which names every recipient, stays out of its reach.
//
// A message that fits the pipe buffer is copied before contentPipe returns,
// so the delivery process never waits for this process to be scheduled;
// a larger one is copied by a goroutine as the reader drains the pipe.
func contentPipe(msg *os.File, offset, size int64) (*os.File, <-chan error, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("pipe: %w", err)
	}
	done := make(chan error, 1)
	if size > 64<<10 {
		want := size + 64<<10 // slots hold pages: an unaligned range needs a spare one
		if want > maxPipe {
			want = maxPipe
		}
		unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, int(want))
	}
	// Copy what fits without blocking now: a pipe's capacity counts page
	// slots, not bytes, so whether a message fits is only known by trying.
	off := offset
	for {
		n, err := unix.Splice(int(msg.Fd()), &off, int(w.Fd()), nil, maxPipe, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			break // full: the goroutine copies the rest as the reader drains
		}
		if err != nil || n == 0 {
			if err != nil {
				err = fmt.Errorf("splice: %w", err)
			}
			done <- err
			msg.Close()
			w.Close()
			return r, done, nil
		}
	}
	go func() {
		done <- spliceAll(msg, off, w)
		msg.Close()
		w.Close()
	}()
	return r, done, nil
}

// spliceAll moves everything from offset to the end of msg into w.
func spliceAll(msg *os.File, offset int64, w *os.File) error {
	off := offset
	for {
		n, err := unix.Splice(int(msg.Fd()), &off, int(w.Fd()), nil, 1<<20, unix.SPLICE_F_MOVE)
		if err == unix.EINTR || err == unix.EAGAIN {
			if err == unix.EAGAIN {
				waitWritable(w)
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("splice: %w", err)
		}
		if n == 0 {
			return nil
		}
	}
}

// waitWritable blocks until the pipe has room (the write end is in
// non-blocking mode under Go's poller).
func waitWritable(w *os.File) {
	fds := []unix.PollFd{{Fd: int32(w.Fd()), Events: unix.POLLOUT}}
	unix.Poll(fds, 1000)
}
