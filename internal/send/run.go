package send

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"goqmail/internal/control"
	"goqmail/internal/ipc"
	"goqmail/internal/logline"
	"goqmail/internal/metrics"
	"goqmail/internal/proto"
)

// Process wires the Core to its two connections and to signals.
type Process struct {
	ControlDir string
	CtlSocket  string // the queue's ctl socket
	LspawnSock string // the local spawner's socket
	RemoteSock string // the remote delivery process's socket
	// Admin serves `goqmail queue` commands (nil: none). Only root and
	// send's own uid may use it.
	Admin *net.UnixListener
	Log   *logline.Logger
	// Metrics receives the counts of docs/metrics.md; nil: none.
	Metrics *metrics.Client
}

// adminRequest is one command from the admin socket with where to answer.
type adminRequest struct {
	cmd   proto.Admin
	reply chan proto.Answer
}

type queueEvent struct {
	msg     proto.Msg
	rcpts   []proto.RcptState
	bounced *proto.Bounced
	live    bool
	snapEnd bool
	err     error
}

// output implements Output over the two connections.
type output struct {
	log    *logline.Logger
	queue  *bufio.Writer
	lspawn *bufio.Writer
	remote *bufio.Writer
	qerr   error
	lerr   error
	rerr   error
	buf    []byte
}

func (o *output) DeliverRemote(r proto.Remote) {
	if o.remote == nil {
		o.rerr = errors.New("remote delivery not connected")
		return
	}
	o.buf = r.Encode(o.buf)
	if _, err := o.remote.Write(o.buf); err != nil && o.rerr == nil {
		o.rerr = err
	}
}

func (o *output) Deliver(d proto.Deliver) {
	if o.lspawn == nil {
		o.lerr = errors.New("spawner not connected")
		return
	}
	o.buf = d.Encode(o.buf)
	if _, err := o.lspawn.Write(o.buf); err != nil && o.lerr == nil {
		o.lerr = err
	}
}
func (o *output) Update(u proto.Update) {
	o.buf = u.Encode(o.buf)
	if _, err := o.queue.Write(o.buf); err != nil && o.qerr == nil {
		o.qerr = err
	}
}
func (o *output) Done(id string) {
	o.buf = proto.EncodeDone(o.buf, id)
	if _, err := o.queue.Write(o.buf); err != nil && o.qerr == nil {
		o.qerr = err
	}
}
func (o *output) Bounce(b proto.Bounce) {
	o.buf = b.Encode(o.buf)
	if _, err := o.queue.Write(o.buf); err != nil && o.qerr == nil {
		o.qerr = err
	}
}
func (o *output) Logf(format string, args ...any) { o.log.Printf(format, args...) }

// Run is send's main loop. It returns when the queue connection ends (the
// supervisor starts a fresh send, which resynchronises from the queue) or
// after SIGTERM once running deliveries have reported.
func (p *Process) Run() error {
	// Caught from the start: a SIGHUP while send waits for the queue must
	// not kill it (it is handled once the loop runs).
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGALRM, syscall.SIGTERM, syscall.SIGINT)
	snap, err := control.Load(p.ControlDir)
	if err != nil {
		return err // matches control.ErrInvalid: main exits with logline.ExitConfig
	}
	for _, w := range snap.Warnings {
		p.Log.Printf("warning: %s", w)
	}
	qc, err := dialRetry(p.CtlSocket, 30*time.Second)
	if err != nil {
		return fmt.Errorf("connect to queue: %w", err)
	}
	defer qc.Close()
	out := &output{log: p.Log, queue: bufio.NewWriterSize(qc, 64<<10)}
	cfg, err := LoadConfig(snap)
	if err != nil {
		return err // matches control.ErrInvalid: main exits with logline.ExitConfig
	}
	core := NewCore(time.Now, out, cfg)
	core.Metrics = p.Metrics
	var gauges <-chan time.Time // the queue gauges, once a second (ReportQueue walks the queue)
	if p.Metrics != nil {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		gauges = t.C
	}
	out.queue.Write(proto.EncodeHello(nil))
	if err := out.queue.Flush(); err != nil {
		return fmt.Errorf("queue hello: %w", err)
	}

	qev := make(chan queueEvent, 256)
	go readQueue(qc, qev)
	reports := make(chan proto.Report, 256)
	spawnerDown := make(chan error, 1)
	spawnerUp := make(chan net.Conn, 1)
	go dialSpawner(p.LspawnSock, spawnerUp)
	remoteReports := make(chan proto.Remoted, 256)
	remoteDown := make(chan error, 1)
	remoteUp := make(chan net.Conn, 1)
	var remote net.Conn
	if p.RemoteSock != "" {
		go dialSpawner(p.RemoteSock, remoteUp)
	}
	admin := make(chan adminRequest)
	if p.Admin != nil {
		go serveAdmin(p.Admin, admin, p.Log)
	}

	timer := time.NewTimer(time.Hour)
	status := time.NewTicker(5 * time.Minute)
	defer status.Stop()
	var spawner net.Conn
	stopping := false
	snapshotDone := false

	for {
		if !stopping {
			if next := core.Tick(); !next.IsZero() {
				timer.Reset(time.Until(next))
			}
		}
		if err := out.queue.Flush(); err != nil {
			return fmt.Errorf("queue connection: %w", err)
		}
		if out.qerr != nil {
			return fmt.Errorf("queue connection: %w", out.qerr)
		}
		if out.lspawn != nil {
			if err := out.lspawn.Flush(); err != nil && out.lerr == nil {
				out.lerr = err
			}
		}
		if out.lerr != nil && spawner != nil {
			spawner.Close() // the reader reports it down
			out.lerr = nil
		}
		if out.remote != nil {
			if err := out.remote.Flush(); err != nil && out.rerr == nil {
				out.rerr = err
			}
		}
		if out.rerr != nil && remote != nil {
			remote.Close()
			out.rerr = nil
		}
		if stopping && core.Running() == 0 {
			p.Log.Printf("status: exiting")
			return nil
		}
		select {
		case <-gauges:
			core.ReportQueue()
		case ev := <-qev:
			if ev.err != nil {
				if stopping {
					return nil
				}
				return fmt.Errorf("queue connection: %w", ev.err)
			}
			if ev.snapEnd {
				snapshotDone = true
				p.Log.Printf("status: %s", core.Summary())
				continue
			}
			if ev.bounced != nil {
				core.Bounced(*ev.bounced)
				continue
			}
			core.AddMsg(ev.msg, ev.rcpts, ev.live && snapshotDone)
		case req := <-admin:
			text, err := core.Admin(req.cmd)
			if err != nil {
				req.reply <- proto.Answer{Text: err.Error()}
			} else {
				req.reply <- proto.Answer{OK: true, Text: text}
			}
		case rep := <-reports:
			core.Report(rep)
		case rep := <-remoteReports:
			core.RemoteReport(rep)
		case c := <-remoteUp:
			remote = c
			out.remote = bufio.NewWriterSize(c, 64<<10)
			out.rerr = nil
			core.SetRemote(true)
			go readRemoteReports(c, remoteReports, remoteDown)
		case err := <-remoteDown:
			for drained := false; !drained; {
				select {
				case rep := <-remoteReports:
					core.RemoteReport(rep)
				default:
					drained = true
				}
			}
			p.Log.Printf("warning: remote delivery connection lost: %v", err)
			core.SetRemote(false)
			core.RemoteLost("lost connection to the remote delivery process; the message may have been delivered (possible duplicate) (#4.3.0)")
			remote, out.remote = nil, nil
			if !stopping {
				go dialSpawner(p.RemoteSock, remoteUp)
			}
		case c := <-spawnerUp:
			spawner = c
			out.lspawn = bufio.NewWriterSize(c, 64<<10)
			out.lerr = nil
			core.SetSpawner(true)
			go readReports(c, reports, spawnerDown)
		case err := <-spawnerDown:
			// Drain reports that arrived before the connection dropped.
			for drained := false; !drained; {
				select {
				case rep := <-reports:
					core.Report(rep)
				default:
					drained = true
				}
			}
			p.Log.Printf("warning: local spawner connection lost: %v", err)
			core.SetSpawner(false)
			core.SpawnerLost("lost connection to the local spawner (#4.3.0)")
			spawner, out.lspawn = nil, nil
			if !stopping {
				go dialSpawner(p.LspawnSock, spawnerUp)
			}
		case <-timer.C:
		case <-status.C:
			p.Log.Printf("%s", core.Status())
		case sig := <-sigs:
			switch sig {
			case syscall.SIGHUP:
				if s, err := control.Load(p.ControlDir); err != nil {
					p.Log.ReloadFailed(control.ErrorLines(err))
				} else if cfg, err := LoadConfig(s); err != nil {
					p.Log.ReloadFailed(control.ErrorLines(err))
				} else {
					core.SetConfig(cfg)
					p.Log.Printf("status: configuration reloaded")
				}
			case syscall.SIGALRM:
				p.Log.Printf("status: retrying every message now (SIGALRM)")
				core.RetryNow()
			default:
				p.Log.Printf("status: stopping after %d running deliveries", core.Running())
				stopping = true
				timer.Stop()
				go func() { time.Sleep(60 * time.Second); os.Exit(0) }()
			}
		}
	}
}

func dialRetry(path string, patience time.Duration) (net.Conn, error) {
	deadline := time.Now().Add(patience)
	for {
		c, err := net.Dial("unix", path)
		if err == nil || time.Now().After(deadline) {
			return c, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// dialSpawner connects to the local spawner, retrying forever (it may be
// restarting); deliveries wait meanwhile.
func dialSpawner(path string, up chan<- net.Conn) {
	for delay := 50 * time.Millisecond; ; {
		c, err := net.Dial("unix", path)
		if err == nil {
			up <- c
			return
		}
		time.Sleep(delay)
		if delay < time.Second {
			delay *= 2
		}
	}
}

func readReports(c net.Conn, reports chan<- proto.Report, down chan<- error) {
	r := ipc.NewReader(c, 0)
	for {
		typ, d, err := r.Next()
		if err == nil && typ != proto.TReport {
			err = fmt.Errorf("unexpected frame type %#x", typ)
		}
		var rep proto.Report
		if err == nil {
			rep, err = proto.DecodeReport(d)
		}
		if err != nil {
			c.Close()
			down <- err
			return
		}
		reports <- rep
	}
}

func readRemoteReports(c net.Conn, reports chan<- proto.Remoted, down chan<- error) {
	r := ipc.NewReader(c, 0)
	for {
		typ, d, err := r.Next()
		if err == nil && typ != proto.TRemoted {
			err = fmt.Errorf("unexpected frame type %#x", typ)
		}
		var rep proto.Remoted
		if err == nil {
			rep, err = proto.DecodeRemoted(d)
		}
		if err != nil {
			c.Close()
			down <- err
			return
		}
		reports <- rep
	}
}

// readQueue decodes the queue's frames into whole messages.
func readQueue(c net.Conn, ev chan<- queueEvent) {
	r := ipc.NewReader(c, 0)
	live := false
	fail := func(err error) { ev <- queueEvent{err: err} }
	for {
		typ, d, err := r.Next()
		if err != nil {
			fail(err)
			return
		}
		switch typ {
		case proto.TSnapEnd:
			if err := d.End(); err != nil {
				fail(err)
				return
			}
			live = true
			ev <- queueEvent{snapEnd: true}
		case proto.TBounced:
			b, err := proto.DecodeBounced(d)
			if err != nil {
				fail(err)
				return
			}
			ev <- queueEvent{bounced: &b}
		case proto.TMsg:
			m, err := proto.DecodeMsg(d)
			if err != nil {
				fail(err)
				return
			}
			rcpts := make([]proto.RcptState, 0, m.NRcpt)
			for i := 0; i < m.NRcpt; i++ {
				typ, d, err := r.Next()
				if err == nil && typ != proto.TRcpt {
					err = fmt.Errorf("want recipient frame, got %#x", typ)
				}
				var st proto.RcptState
				if err == nil {
					st, err = proto.DecodeRcptState(d)
				}
				if err == nil && st.Index != i {
					err = fmt.Errorf("recipient %d out of order", st.Index)
				}
				if err != nil {
					fail(err)
					return
				}
				rcpts = append(rcpts, st)
			}
			typ, d, err := r.Next()
			if err == nil && (typ != proto.TMsgEnd || d.End() != nil) {
				err = errors.New("message announcement not closed")
			}
			if err != nil {
				fail(err)
				return
			}
			ev <- queueEvent{msg: m, rcpts: rcpts, live: live}
		default:
			fail(fmt.Errorf("unexpected frame type %#x", typ))
			return
		}
	}
}

// serveAdmin accepts `goqmail queue` connections: one command, one answer
// each, applied by the main loop so the core needs no locking.
func serveAdmin(ln *net.UnixListener, admin chan<- adminRequest, log *logline.Logger) {
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(100 * time.Millisecond)
			continue
		}
		go func() {
			defer c.Close()
			cred, err := ipc.PeerCred(c)
			if err != nil || (cred.UID != 0 && cred.UID != os.Getuid()) {
				log.Printf("warning: admin: refused connection from uid %d (%v)", cred.UID, err)
				return
			}
			c.SetDeadline(time.Now().Add(30 * time.Second))
			typ, d, err := ipc.NewReader(c, 0).Next()
			var cmd proto.Admin
			if err == nil && typ != proto.TAdmin {
				err = fmt.Errorf("unexpected frame type %#x", typ)
			}
			if err == nil {
				cmd, err = proto.DecodeAdmin(d)
			}
			if err != nil {
				c.Write(proto.Answer{Text: "bad request: " + err.Error()}.Encode(nil))
				return
			}
			req := adminRequest{cmd: cmd, reply: make(chan proto.Answer, 1)}
			admin <- req
			c.Write((<-req.reply).Encode(nil))
		}()
	}
}
