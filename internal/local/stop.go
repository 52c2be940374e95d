package local

import (
	"context"
	"time"

	"golang.org/x/sys/unix"
)

// StopGrace is how long a stopping delivery process lets running
// deliveries finish by themselves before it kills their programs' process
// groups. A clean stop must end what goqmail started, in bounded time: a
// program that never exits used to keep goqmaild's stop waiting 60 s and
// then outlive it, and after a restart a second copy ran beside it (issue
// 11, item 3). Short programs (filters, autoresponders) finish within the
// grace and are not repeated.
const StopGrace = 3 * time.Second

// Texts of deliveries a stop ended: deferrals, so the message is
// delivered after the restart (at least once).
const (
	textStopping    = "Delivery not started: goqmail is stopping. (#4.3.0)"
	textInterrupted = "Program killed: goqmail is stopping. (#4.3.0)"
)

func (w *Worker) init() {
	w.initOnce.Do(func() {
		w.stopping = make(chan struct{})
		w.kill, w.killNow = context.WithCancel(context.Background())
	})
}

// Stop makes the worker finish (SIGTERM, from the spawner's shutdown): no
// new deliveries; those running get grace to end, then their programs'
// process groups are killed and they report deferrals. Run returns when
// the last one has reported. Stop may be called more than once and before
// Run.
func (w *Worker) Stop(grace time.Duration) {
	w.init()
	w.stopOnce.Do(func() {
		close(w.stopping)
		// Wake Run's recvmsg: it sees end of input and stops reading, while
		// reports still go out on the same socket.
		if w.Sock != nil {
			unix.Shutdown(int(w.Sock.Fd()), unix.SHUT_RD)
		}
		time.AfterFunc(grace, w.killNow)
	})
}

func (w *Worker) stopped() bool {
	select {
	case <-w.stopping:
		return true
	default:
		return false
	}
}

// killed reports whether running programs must end now.
func (w *Worker) killed() bool { return w.kill.Err() != nil }
