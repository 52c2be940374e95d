// Package send is the scheduler: it learns of queued messages from the
// queue, decides which recipients are local and which remote, starts
// deliveries under the concurrency limits, retries on qmail's schedule until
// queuelifetime, and records every outcome back through the queue. It never
// touches mailboxes, queue files or the network (DESIGN.md, process table).
package send

import (
	"container/heap"
	"fmt"
	"strings"
	"time"

	"goqmail/internal/address"
	"goqmail/internal/control"
	"goqmail/internal/proto"
)

// Config is the part of control/ that send uses.
type Config struct {
	ConcurrencyLocal  int
	ConcurrencyRemote int
	Lifetime          time.Duration
	Locals            *control.DomainSet
}

// ConfigFrom extracts send's settings from a control snapshot.
func ConfigFrom(s *control.Snapshot) Config {
	return Config{
		ConcurrencyLocal:  int(s.Number(control.ConcurrencyLocal)),
		ConcurrencyRemote: int(s.Number(control.ConcurrencyRemote)),
		Lifetime:          time.Duration(s.Number(control.QueueLifetime)) * time.Second,
		Locals:            control.NewDomainSet(s.List(control.Locals)),
	}
}

// Output is where the core's decisions go: frames for the queue and the
// spawner, and log lines.
type Output interface {
	Deliver(proto.Deliver)
	Update(proto.Update)
	Done(id string)
	Logf(format string, args ...any)
}

type channel int

const (
	chanLocal channel = iota
	chanRemote
)

func (c channel) String() string {
	if c == chanLocal {
		return "local"
	}
	return "remote"
}

type message struct {
	id      string
	birth   time.Time
	sender  string
	rcpts   []*rcpt
	open    int // recipients not final yet
	failed  int
	running int
}

type rcpt struct {
	msg     *message
	idx     int
	addr    string
	ch      channel
	state   byte
	retryAt time.Time
	running bool
}

// Core is the scheduler's state machine, free of I/O so that tests drive it
// with a fake clock.
type Core struct {
	Now func() time.Time
	Out Output
	cfg Config

	msgs     map[string]*message
	timers   timerHeap // pending recipients waiting for their retry time
	ready    []*rcpt   // local recipients due now, first come first served
	inflight map[uint64]*rcpt
	running  [2]int
	seq      uint64
	parked   int // remote recipients waiting for the remote channel (not built yet)
	spawner  bool
}

// NewCore returns a scheduler with the given configuration.
func NewCore(now func() time.Time, out Output, cfg Config) *Core {
	return &Core{Now: now, Out: out, cfg: cfg, msgs: map[string]*message{}, inflight: map[uint64]*rcpt{}}
}

// SetConfig applies a reloaded configuration (SIGHUP). Classification of
// recipients already known is kept, as qmail fixes it at preprocessing.
func (c *Core) SetConfig(cfg Config) { c.cfg = cfg }

// SetSpawner records whether the local spawner is connected; deliveries
// start only while it is.
func (c *Core) SetSpawner(up bool) { c.spawner = up }

// AddMsg takes a message announced by the queue. live is false for the
// startup snapshot (qmail logs "new msg" only when it first sees one).
func (c *Core) AddMsg(m proto.Msg, states []proto.RcptState, live bool) {
	if _, dup := c.msgs[m.ID]; dup {
		return
	}
	msg := &message{id: m.ID, birth: time.Unix(m.Birth, 0), sender: m.Sender}
	if live {
		c.Out.Logf("new msg %s", m.ID)
	}
	c.Out.Logf("info msg %s: bytes %d from <%s> qp %d uid %d", m.ID, m.Size, m.Sender, m.QP, m.UID)
	for _, st := range states {
		r := &rcpt{msg: msg, idx: st.Index, addr: st.Addr, state: st.State, retryAt: time.Unix(st.RetryAt, 0)}
		msg.rcpts = append(msg.rcpts, r)
		switch st.State {
		case proto.StateDone:
			continue
		case proto.StateFailed:
			msg.failed++
			continue
		}
		msg.open++
		r.ch = c.classify(st.Addr)
		if r.ch == chanRemote {
			c.parked++
			continue
		}
		if st.RetryAt == 0 {
			r.retryAt = time.Time{}
		}
		heap.Push(&c.timers, r)
	}
	c.msgs[m.ID] = msg
	c.maybeFinish(msg)
}

// classify decides the channel: a recipient whose domain is in locals is
// local, everything else remote (qmail-send; percenthack and virtualdomains
// come with the delivery issue).
func (c *Core) classify(addr string) channel {
	_, dom := address.Split(addr)
	if c.cfg.Locals != nil && c.cfg.Locals.Exact(dom) {
		return chanLocal
	}
	return chanRemote
}

// Tick moves due recipients to the ready list, starts deliveries within
// the concurrency limit, and returns when it next needs to run (zero: no
// timer pending).
func (c *Core) Tick() time.Time {
	now := c.Now()
	for c.timers.Len() > 0 && !c.timers[0].retryAt.After(now) {
		r := heap.Pop(&c.timers).(*rcpt)
		c.ready = append(c.ready, r)
	}
	for len(c.ready) > 0 && c.spawner && c.running[chanLocal] < c.cfg.ConcurrencyLocal {
		r := c.ready[0]
		c.ready[0] = nil
		c.ready = c.ready[1:]
		c.start(r, now)
	}
	if len(c.ready) == 0 {
		c.ready = nil // let the backing array go
	}
	if c.timers.Len() == 0 {
		return time.Time{}
	}
	return c.timers[0].retryAt
}

func (c *Core) start(r *rcpt, now time.Time) {
	c.seq++
	r.running = true
	r.msg.running++
	c.running[r.ch]++
	c.inflight[c.seq] = r
	// The retry time is fixed when the attempt starts, as in qmail.
	r.retryAt = nextRetry(r.msg.birth, now, skipLocal)
	c.Out.Logf("starting delivery %d: msg %s to %s %s", c.seq, r.msg.id, r.ch, r.addr)
	c.Out.Deliver(proto.Deliver{Seq: c.seq, ID: r.msg.id, Sender: r.msg.sender, Rcpt: r.addr})
}

// Report applies the outcome of a delivery.
func (c *Core) Report(rep proto.Report) {
	r, ok := c.inflight[rep.Seq]
	if !ok {
		c.Out.Logf("warning: report for unknown delivery %d", rep.Seq)
		return
	}
	delete(c.inflight, rep.Seq)
	r.running = false
	r.msg.running--
	c.running[r.ch]--
	msg := r.msg
	now := c.Now()
	result, text := rep.Result, rep.Text
	// A message past its lifetime has had its last try (qmail flagdying).
	if result == proto.ResultDeferral && c.cfg.Lifetime > 0 && now.Sub(msg.birth) > c.cfg.Lifetime {
		result = proto.ResultPermanent
		text += "/I'm not going to try again; this message has been in the queue too long."
	}
	switch result {
	case proto.ResultSuccess:
		c.Out.Logf("delivery %d: success: %s", rep.Seq, text)
		r.state = proto.StateDone
		msg.open--
	case proto.ResultPermanent:
		c.Out.Logf("delivery %d: failure: %s", rep.Seq, text)
		r.state = proto.StateFailed
		msg.open--
		msg.failed++
	default:
		c.Out.Logf("delivery %d: deferral: %s", rep.Seq, text)
		heap.Push(&c.timers, r)
	}
	// A message finished in one go needs no per-recipient record: removing
	// it says everything. Otherwise record this recipient's new state.
	if msg.open == 0 && msg.failed == 0 {
		c.maybeFinish(msg)
		return
	}
	c.Out.Update(proto.Update{ID: msg.id, Index: r.idx, State: r.state, RetryAt: r.retryAt.Unix(), Text: text})
	c.maybeFinish(msg)
}

func (c *Core) maybeFinish(msg *message) {
	if msg.open > 0 || msg.running > 0 {
		return
	}
	if msg.failed > 0 {
		// Bounces are built by the delivery issue; until then the failed
		// recipients stay recorded in the queue and the message is kept,
		// never dropped.
		c.Out.Logf("warning: msg %s: %d recipients failed permanently; kept in the queue until bounces are implemented", msg.id, msg.failed)
		delete(c.msgs, msg.id)
		return
	}
	c.Out.Done(msg.id)
	c.Out.Logf("end msg %s", msg.id)
	delete(c.msgs, msg.id)
}

// SpawnerLost turns every running delivery into a deferral: the spawner (or
// the delivery process) went away and we cannot know what happened. A
// delivery that did complete will be repeated: at least once, never lost.
func (c *Core) SpawnerLost(why string) {
	for seq := range c.inflight {
		c.Report(proto.Report{Seq: seq, Result: proto.ResultDeferral, Text: why})
	}
}

// RetryNow makes every waiting recipient due (qmail-send's SIGALRM).
func (c *Core) RetryNow() {
	for _, r := range c.timers {
		r.retryAt = time.Time{}
	}
	heap.Init(&c.timers)
}

// Running reports the number of deliveries in progress.
func (c *Core) Running() int { return len(c.inflight) }

// Status is qmail's "status: local l/L remote r/R" line.
func (c *Core) Status() string {
	return fmt.Sprintf("status: local %d/%d remote %d/%d", c.running[chanLocal], c.cfg.ConcurrencyLocal, c.running[chanRemote], c.cfg.ConcurrencyRemote)
}

// Summary describes the queue as send sees it, for the status log.
func (c *Core) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d messages, %d recipients waiting, %d remote recipients parked (remote delivery not built yet)", len(c.msgs), c.timers.Len()+len(c.ready), c.parked)
	return b.String()
}

// timerHeap orders pending recipients by retry time.
type timerHeap []*rcpt

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].retryAt.Before(h[j].retryAt) }
func (h timerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)        { *h = append(*h, x.(*rcpt)) }
func (h *timerHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return r
}
