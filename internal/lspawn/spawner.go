package lspawn

import (
	"bufio"
	"errors"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"goqmail/internal/ipc"
	"goqmail/internal/logline"
	"goqmail/internal/proto"
	"goqmail/internal/queue"
)

// Spawner serves send's delivery requests.
type Spawner struct {
	Resolver    *Resolver
	Queue       queue.Layout
	QueueUID    int    // owner of queued message files; -1 to skip the check
	SendUID     int    // only this uid may connect; -1: any
	LocalBinary string // path of goqmail-local
	Root        bool   // running as root: start workers under the target's uid
	SyncMode    string // control/syncmode, passed to the delivery processes
	Log         *logline.Logger
	IdleTimeout time.Duration
	// SubmitSocket is the queue's submit socket, passed to delivery
	// processes for forwards (GOQMAIL_SUBMIT).
	SubmitSocket string
	// DirectoryRoot is the virtual-user directory (ROOT/vdir), passed to
	// delivery processes (GOQMAIL_VDIR).
	DirectoryRoot string
	// Settings are the delivery settings from control/; replaced on SIGHUP.
	Settings atomic.Pointer[Settings]

	mu       sync.Mutex
	workers  map[workerKey]*worker
	stopping bool // Shutdown began: no delivery starts
	seq      uint64
	out      *bufio.Writer
	outMu    sync.Mutex
	outBuf   []byte
}

// Settings are the control files the spawner passes on with each delivery.
type Settings struct {
	AliasUser       string // control/aliasuser
	DefaultDelivery string // control/defaultdelivery, lines joined by "\n"
	Aliases         string // control/aliases: a sendmail-style aliases file, or ""
	DotForward      bool   // control/dotforward
	// ProgramTimeout bounds each .qmail program (control/timeoutprogram);
	// 0: the delivery process's default.
	ProgramTimeout time.Duration
}

// Serve accepts send's connection (one at a time) until ln closes.
func (s *Spawner) Serve(ln *net.UnixListener) error {
	s.workers = map[workerKey]*worker{}
	if s.IdleTimeout == 0 {
		s.IdleTimeout = 30 * time.Second
	}
	go s.reapIdle()
	return ipc.ServeOne(ln, s.SendUID, s.session, func(cred ipc.Cred, err error) {
		s.Log.Printf("warning: refused connection from uid %d (%v)", cred.UID, err)
	})
}

func (s *Spawner) session(c *net.UnixConn) {
	s.outMu.Lock()
	s.out = bufio.NewWriterSize(c, 32<<10)
	s.outMu.Unlock()
	defer func() {
		s.outMu.Lock()
		s.out = nil
		s.outMu.Unlock()
	}()
	r := ipc.NewReader(c, 0)
	for {
		typ, d, err := r.Next()
		if err != nil {
			return
		}
		if typ != proto.TDeliver {
			s.Log.Printf("warning: unexpected frame type %#x from send", typ)
			return
		}
		req, err := proto.DecodeDeliver(d)
		if err != nil {
			s.Log.Printf("warning: bad delivery request: %v", err)
			return
		}
		s.deliver(req)
		if r.Buffered() == 0 {
			s.flush()
		}
	}
}

// report sends one result to send (from any goroutine).
func (s *Spawner) report(rep proto.Report) {
	s.outMu.Lock()
	defer s.outMu.Unlock()
	if s.out == nil {
		return // send is gone; it will retry the delivery
	}
	s.outBuf = rep.Encode(s.outBuf)
	s.out.Write(s.outBuf)
	s.out.Flush()
}

func (s *Spawner) flush() {
	s.outMu.Lock()
	if s.out != nil {
		s.out.Flush()
	}
	s.outMu.Unlock()
}

func (s *Spawner) deliver(req proto.Deliver) {
	fail := func(res byte, text string) {
		s.report(proto.Report{Seq: req.Seq, Result: res, Text: text})
	}
	set := s.Settings.Load()
	if set == nil {
		set = &Settings{DefaultDelivery: "./Maildir/"}
	}
	rv := *s.Resolver
	rv.AliasUser = set.AliasUser
	var t Target
	var err error
	if req.Virtual {
		t, err = rv.ResolveVirtual(req.Rcpt)
	} else {
		t, err = rv.Resolve(req.Rcpt)
	}
	switch {
	case errors.Is(err, ErrNoMailbox):
		fail(proto.ResultPermanent, err.Error())
		return
	case err != nil:
		fail(proto.ResultDeferral, "Unable to look up the recipient: "+clip(err.Error())+" (#4.3.0)")
		return
	}
	l := proto.Local{User: t.User, Home: t.Home, Local: t.Local, Dash: t.Dash, Ext: t.Ext, Domain: t.Domain, Sender: req.Sender,
		DefaultDelivery: set.DefaultDelivery, DotForward: set.DotForward, Virtual: t.Virtual, Birth: req.Birth,
		ProgramTimeout: int64(set.ProgramTimeout / time.Second), ForwardSender: req.ForwardSender}
	if t.Alias {
		l.Aliases = set.Aliases
	}
	// send's delivery number and the queue id: the spawner's part of one
	// message's trail (docs/logs.md); the result is send's to log.
	s.Log.Printf("delivery %d: msg %s: %s as %s (uid %d)", req.Seq, req.ID, req.Rcpt, t.User, t.UID)
	for attempt := 0; attempt < 2; attempt++ {
		w, err := s.worker(workerKey{uid: t.UID, gid: t.GID})
		if errors.Is(err, errStopping) {
			fail(proto.ResultDeferral, textStopping)
			return
		}
		if err != nil {
			fail(proto.ResultDeferral, "Unable to start the delivery process: "+clip(err.Error())+" (#4.3.0)")
			return
		}
		content, size, err := s.openContent(req.ID)
		if err != nil {
			fail(proto.ResultDeferral, "Unable to read the message: "+clip(err.Error())+" (#4.3.0)")
			return
		}
		s.mu.Lock()
		s.seq++
		seq := s.seq
		s.mu.Unlock()
		l.Size = size
		err = w.hand(seq, req.Seq, l, content)
		content.Close() // the worker holds its own copy of the descriptor
		if err == nil {
			return
		}
		// The worker died between deliveries: drop it and start another.
		s.dropWorker(w)
	}
	fail(proto.ResultDeferral, "Unable to reach the delivery process. (#4.3.0)")
}

// openContent opens a queued message and returns a pipe that delivers its
// content. A copy that fails midway closes the pipe early: the delivery
// process then sees a short message and must not report success, so it
// checks the length it was told.
func (s *Spawner) openContent(id string) (*os.File, int64, error) {
	msg, size, err := openMessage(s.Queue.Msg(id), s.QueueUID)
	if err != nil {
		return nil, 0, err
	}
	c, err := queue.ReadContent(msg, size)
	if err != nil {
		msg.Close()
		return nil, 0, err
	}
	r, done, err := contentPipe(msg, c.Ranges())
	if err != nil {
		msg.Close()
		return nil, 0, err
	}
	go func() {
		if err := <-done; err != nil && !errors.Is(err, syscall.EPIPE) {
			s.Log.Printf("warning: msg %s: copying content: %v", id, err)
		}
	}()
	return r, c.Size(), nil
}

func (s *Spawner) worker(key workerKey) (*worker, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return nil, errStopping
	}
	if w := s.workers[key]; w != nil {
		return w, nil
	}
	w, err := s.startWorker(key)
	if err != nil {
		return nil, err
	}
	s.workers[key] = w
	return w, nil
}

func (s *Spawner) dropWorker(w *worker) {
	s.mu.Lock()
	if s.workers[w.key] == w {
		delete(s.workers, w.key)
	}
	s.mu.Unlock()
}

// errStopping: Shutdown began.
var errStopping = errors.New("the spawner is stopping")

// textStopping answers a delivery asked for while the spawner stops: send
// tries it again after the restart.
const textStopping = "Delivery not started: goqmail is stopping. (#4.3.0)"

// Shutdown ends what the spawner started, so that no delivery process and
// no .qmail program outlives the server and a restart never runs a second
// copy beside one still running (issue 11, item 3): no delivery starts any
// more; every delivery process gets SIGTERM, lets its running deliveries
// finish for local.StopGrace, kills their programs' process groups, reports
// them deferred (relayed to send while its connection lasts) and exits.
// One still there after timeout (stuck in the kernel, say) is killed; its
// programs' shells die with it (PR_SET_PDEATHSIG), but what they started in
// the background may not: that is why the process ends them itself first.
func (s *Spawner) Shutdown(timeout time.Duration) {
	s.mu.Lock()
	s.stopping = true
	var ws []*worker
	for k, w := range s.workers {
		ws = append(ws, w)
		delete(s.workers, k)
		w.cmd.Process.Signal(syscall.SIGTERM)
	}
	s.mu.Unlock()
	deadline := time.Now().Add(timeout)
	for _, w := range ws {
		for !w.exited() && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if !w.exited() {
			s.Log.Printf("warning: delivery process uid %d did not stop within %v; killing it", w.key.uid, timeout)
			w.cmd.Process.Kill()
		}
	}
	for _, w := range ws {
		for !w.exited() {
			time.Sleep(10 * time.Millisecond) // reaped by readWorker, which reports what it had
		}
	}
}

// reapIdle ends delivery processes that had nothing to do for IdleTimeout:
// closing the socket makes them exit.
func (s *Spawner) reapIdle() {
	for range time.Tick(s.IdleTimeout / 2) {
		cutoff := time.Now().Add(-s.IdleTimeout)
		s.mu.Lock()
		for k, w := range s.workers {
			if w.idle(cutoff) {
				delete(s.workers, k)
				w.hangUp()
			}
		}
		s.mu.Unlock()
	}
}

func clip(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
