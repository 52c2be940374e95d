package smtpd

import (
	"context"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// hangupPoll is how often a session that waits on a service behind it
// (the auth service, which slows failed logins down by up to 10 s) looks
// whether its client is still there.
const hangupPoll = 200 * time.Millisecond

// watchHangup returns a context that ends when parent does or when the
// client hangs up, and the function that ends the watch. A session waiting
// for the auth service used to hold its slot of concurrencyincoming for
// the whole wait after its client had gone; an abuser could hang up and
// reconnect faster than the slots came back.
//
// The test is poll(2)'s POLLRDHUP: the peer has shut its side down, even
// with bytes (a TLS close_notify) still unread, which a read could not
// tell without consuming them.
func (s *session) watchHangup(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	sc, ok := s.tcp.(syscall.Conn)
	if !ok {
		return ctx, cancel
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return ctx, cancel
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(hangupPoll)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if peerGone(raw) {
					s.hungUp = true
					cancel()
					return
				}
			}
		}
	}()
	return ctx, func() {
		close(stop)
		<-done
		cancel()
	}
}

// peerGone reports whether the peer closed or reset the connection.
func peerGone(raw syscall.RawConn) bool {
	gone := false
	raw.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLRDHUP}}
		if n, err := unix.Poll(fds, 0); err == nil && n > 0 {
			gone = fds[0].Revents&(unix.POLLRDHUP|unix.POLLHUP|unix.POLLERR) != 0
		}
	})
	return gone
}
