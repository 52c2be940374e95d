// Package local is the delivery process, goqmail's qmail-local: it runs as
// the recipient (never as root), receives deliveries from the local spawner
// over a packet socket, each with a pipe carrying the message content, and
// follows the recipient's instructions (man dot-qmail.9): the aliases file
// for the alias user, the .qmail file for the address extension, the
// default delivery, ~/.forward. It writes maildirs and mboxes, runs
// programs, and submits forwards to the queue as one new message.
//
// SECURITY: runs as the recipient's uid with only its primary gid. Reads the
// message only through the descriptor it was given; trusts the spawner's
// frames after strict decoding. Runs "/bin/sh -c" only with commands from
// files the recipient (or, for the alias user, the postmaster) controls and
// that nobody else may write; values from the network reach programs only
// as environment variables (dotqmail.Env). File names built from the
// address extension never leave the home directory (dotqmail.Search).
// Programs run as the same uid, so cmd/goqmail-local makes the process
// non-dumpable (no ptrace, no /proc/PID/mem from them) and marks every
// inherited descriptor close-on-exec: a program gets 0, 1 and 2 only.
package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"goqmail/internal/durable"
	"goqmail/internal/ipc"
	"goqmail/internal/logline"
	"goqmail/internal/maildir"
	"goqmail/internal/mbox"
	"goqmail/internal/proto"
	"goqmail/internal/vdir"
)

// Worker serves one spawner connection, delivering concurrently.
type Worker struct {
	Sock *os.File
	Log  *logline.Logger
	Mode durable.Mode
	// SubmitSocket is the queue's submit socket, through which forwards
	// leave (qmail-local ran qmail-queue). Without it forwards defer.
	SubmitSocket string
	// ProgramTimeout bounds each delivery program; 0 means
	// DefaultProgramTimeout.
	ProgramTimeout time.Duration
	// ForwardTimeout bounds the queue's answer to a forward; 0 means
	// DefaultForwardTimeout.
	ForwardTimeout time.Duration
	// Directory is the virtual-user directory, for Virtual deliveries
	// (nil: they defer).
	Directory vdir.Directory

	deliverer maildir.Deliverer
	appender  mbox.Appender
	now       func() time.Time // test seam; nil means time.Now
	// drainDelay replaces outputDrainDelay in tests.
	drainDelay time.Duration
	sendMu     sync.Mutex

	// Stopping (stop.go): stopping is closed by Stop (no new deliveries);
	// kill is cancelled when the programs still running must end.
	initOnce sync.Once
	stopOnce sync.Once
	stopping chan struct{}
	kill     context.Context
	killNow  context.CancelFunc
}

func (w *Worker) clock() time.Time {
	if w.now != nil {
		return w.now()
	}
	return time.Now()
}

// Run serves deliveries until the spawner closes the socket or Stop is
// called, then waits for the deliveries in progress: when the spawner is
// gone their programs are killed at once (nobody could hear their result,
// and send will deliver again: two copies must not run side by side);
// after Stop they get StopGrace first.
func (w *Worker) Run() error {
	w.init()
	var wg sync.WaitGroup
	defer wg.Wait()
	w.deliverer.Sync.Mode = w.Mode
	// The spawner passed the socket as an inherited descriptor, which
	// stays open across exec: delivery programs must not get it, or a
	// user's program could read the next deliveries' messages or forge
	// reports.
	syscall.CloseOnExec(int(w.Sock.Fd()))
	buf := make([]byte, 64<<10)
	for {
		body, files, err := ipc.RecvPacket(int(w.Sock.Fd()), buf, 1)
		if errors.Is(err, ipc.ErrClosed) {
			if !w.stopped() {
				w.killNow() // the spawner went away, not a stop: see above
			}
			return nil
		}
		if err != nil {
			w.killNow()
			return err
		}
		typ, d, err := ipc.NewDecoder(body)
		var req proto.Local
		if err == nil && typ != proto.TLocal {
			err = fmt.Errorf("unexpected frame type %#x", typ)
		}
		if err == nil {
			req, err = proto.DecodeLocal(d)
		}
		if err == nil && len(files) != 1 {
			err = fmt.Errorf("delivery without its message file")
		}
		if err != nil {
			for _, f := range files {
				f.Close()
			}
			return fmt.Errorf("bad request from the spawner: %w", err)
		}
		if w.stopped() {
			// Sent before the spawner saw us stopping: not started, so
			// nothing is left running; send tries again later.
			files[0].Close()
			w.reply(proto.Report{Seq: req.Seq, Result: proto.ResultDeferral, Text: textStopping})
			continue
		}
		wg.Add(1)
		go func(req proto.Local, msg *os.File) {
			defer wg.Done()
			defer msg.Close()
			res, text := w.deliver(req, msg)
			w.reply(proto.Report{Seq: req.Seq, Result: res, Text: text})
		}(req, files[0])
	}
}

func (w *Worker) reply(rep proto.Report) {
	w.sendMu.Lock()
	defer w.sendMu.Unlock()
	if err := ipc.SendPacket(int(w.Sock.Fd()), rep.Packet(nil)); err != nil {
		w.Log.Printf("warning: report delivery %d: %v", rep.Seq, err)
	}
}
