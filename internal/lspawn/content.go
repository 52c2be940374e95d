package lspawn

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// contentPipe returns a pipe whose read end yields the content of a queued
// message (the range after its envelope) and starts copying into it. The
// copy is splice(2): the data moves inside the kernel and this root process
// never looks at it. The delivery process gets only the read end, so the
// envelope, which names every recipient, stays out of its reach.
func contentPipe(msg *os.File, offset int64) (*os.File, <-chan error, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("pipe: %w", err)
	}
	done := make(chan error, 1)
	go func() {
		defer msg.Close()
		defer w.Close()
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
				done <- fmt.Errorf("splice: %w", err)
				return
			}
			if n == 0 {
				done <- nil
				return
			}
		}
	}()
	return r, done, nil
}

// waitWritable blocks until the pipe has room (the write end is in
// non-blocking mode under Go's poller).
func waitWritable(w *os.File) {
	fds := []unix.PollFd{{Fd: int32(w.Fd()), Events: unix.POLLOUT}}
	unix.Poll(fds, 1000)
}
