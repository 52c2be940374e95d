package lspawn

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
	"goqmail/internal/plainfile"
	"goqmail/internal/queue"
)

// maxPipe is the largest pipe buffer asked for; Linux allows up to
// /proc/sys/fs/pipe-max-size (1 MB by default) without privilege.
const maxPipe = 1 << 20

// contentPipe returns a pipe whose read end yields the delivered message
// of a queued file: its ranges in order (queue.Content: the prefix added
// at the end of data, then the body), and starts copying into it. The
// copy is splice(2): the data moves inside the kernel and this root process
// never looks at it. The delivery process gets only the read end, so the
// envelope, which names every recipient, stays out of its reach.
//
// A message that fits the pipe buffer is copied before contentPipe returns,
// so the delivery process never waits for this process to be scheduled;
// a larger one is copied by a goroutine as the reader drains the pipe.
func contentPipe(msg *os.File, ranges []queue.Range) (*os.File, <-chan error, error) {
	r, w, err := plainfile.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("pipe: %w", err)
	}
	var size int64
	for _, rg := range ranges {
		size += rg.Len
	}
	done := make(chan error, 1)
	if size > 64<<10 {
		// Slots hold pages: each unaligned range needs a spare one.
		want := min(size+int64(len(ranges))*64<<10, maxPipe)
		unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, int(want))
	}
	c := &copier{msg: msg, w: w, ranges: ranges}
	// Copy what fits without blocking now: a pipe's capacity counts page
	// slots, not bytes, so whether a message fits is only known by trying.
	full, err := c.run(unix.SPLICE_F_NONBLOCK)
	if !full {
		done <- err
		msg.Close()
		w.Close()
		return r, done, nil
	}
	go func() {
		_, err := c.run(0)
		done <- err
		msg.Close()
		w.Close()
	}()
	return r, done, nil
}

// copier moves ranges of msg into w, remembering how far it got.
type copier struct {
	msg    *os.File
	w      *os.File
	ranges []queue.Range // what is left, the first one possibly begun
}

// run splices until every range is copied or, with SPLICE_F_NONBLOCK in
// flags, until the pipe is full (full reports that case). A range that
// ends early (the file is shorter than its header says) is an error: the
// delivery process, which knows the length, then sees a short message.
func (c *copier) run(flags int) (full bool, err error) {
	for len(c.ranges) > 0 {
		rg := &c.ranges[0]
		if rg.Len == 0 {
			c.ranges = c.ranges[1:]
			continue
		}
		off := rg.Off
		n, err := unix.Splice(int(c.msg.Fd()), &off, int(c.w.Fd()), nil, int(min(rg.Len, maxPipe)), unix.SPLICE_F_MOVE|flags)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN && flags&unix.SPLICE_F_NONBLOCK != 0:
			return true, nil
		case err == unix.EAGAIN:
			waitWritable(c.w)
			continue
		case err != nil:
			return false, fmt.Errorf("splice: %w", err)
		case n == 0:
			return false, fmt.Errorf("splice: message file ends %d bytes early", rg.Len)
		}
		rg.Off += n
		rg.Len -= n
	}
	return false, nil
}

// waitWritable blocks until the pipe has room. The write end is in
// blocking mode (plainfile.Pipe), so a splice without SPLICE_F_NONBLOCK
// waits by itself; this is for an EAGAIN all the same.
func waitWritable(w *os.File) {
	fds := []unix.PollFd{{Fd: int32(w.Fd()), Events: unix.POLLOUT}}
	unix.Poll(fds, 1000)
}
