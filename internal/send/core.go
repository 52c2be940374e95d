// Package send is the scheduler: it learns of queued messages from the
// queue, routes each recipient (local or remote, qmail-send's rewriting in
// internal/rewrite), starts deliveries under the concurrency limits, retries
// on qmail's schedule until queuelifetime, asks the queue for one bounce per
// batch of permanent failures, and records every outcome back through the
// queue. It never touches mailboxes, queue files or the network (DESIGN.md,
// process table).
package send

import (
	"container/heap"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"goqmail/internal/control"
	"goqmail/internal/metrics"
	"goqmail/internal/proto"
	"goqmail/internal/rewrite"
	"goqmail/internal/srs"
	"goqmail/internal/vdir"
)

// Config is the part of control/ that send uses.
type Config struct {
	ConcurrencyLocal  int
	ConcurrencyRemote int
	// Per-destination limits (limits.go): deliveries to one local
	// recipient, jobs to one remote domain; 0 means no limit below the
	// channel's.
	ConcurrencyLocalRcpt    int
	ConcurrencyRemoteDomain int
	Lifetime                time.Duration
	Rules                   *rewrite.Rules
	// SRS rewrites the sender of forwards and decodes bounces to SRS
	// addresses (srs.go); nil: off.
	SRS *srs.Codec
}

// LoadConfig is ConfigFrom with the SRS secrets, which live in a file of
// their own: a secrets file that cannot be used is a configuration error
// (control.ErrInvalid), never SRS silently off.
func LoadConfig(s *control.Snapshot) (Config, error) {
	cfg := ConfigFrom(s)
	codec, err := srs.Load(s)
	if err != nil {
		return cfg, fmt.Errorf("%w: %w", control.ErrInvalid, err)
	}
	cfg.SRS = codec
	return cfg, nil
}

// ConfigFrom extracts send's settings from a control snapshot.
func ConfigFrom(s *control.Snapshot) Config {
	return Config{
		ConcurrencyLocal:        int(s.Number(control.ConcurrencyLocal)),
		ConcurrencyRemote:       int(s.Number(control.ConcurrencyRemote)),
		ConcurrencyLocalRcpt:    int(s.Number(control.ConcurrencyLocalRcpt)),
		ConcurrencyRemoteDomain: int(s.Number(control.ConcurrencyRemoteDomain)),
		Lifetime:                time.Duration(s.Number(control.QueueLifetime)) * time.Second,
		Rules:                   rewrite.New(s).WithDirectory(Directory(s)),
	}
}

// Directory opens the virtual-user directory of the installation whose
// control/ the snapshot read (ROOT/vdir, ROOT/vmail).
func Directory(s *control.Snapshot) *vdir.Files {
	root := filepath.Dir(s.Dir)
	return vdir.OpenFiles(filepath.Join(root, "vdir"), filepath.Join(root, "vmail"), -1, -1)
}

// Output is where the core's decisions go: frames for the queue and the
// spawner, and log lines.
type Output interface {
	Deliver(proto.Deliver)
	DeliverRemote(proto.Remote)
	Update(proto.Update)
	Done(id string)
	Bounce(proto.Bounce)
	Logf(format string, args ...any)
}

type channel = rewrite.Channel

const (
	chanLocal  = rewrite.Local
	chanRemote = rewrite.Remote
)

// bounceRetry is how long send waits before asking again for a bounce the
// queue could not make (disk full, for instance).
const bounceRetry = 5 * time.Minute

// Texts recorded for recipients the administrator removed.
const deletedText = "This message was deleted from the queue by the postmaster. (#5.0.0)"

type message struct {
	id       string
	birth    time.Time
	sender   string
	rcpts    []*rcpt
	open     int   // recipients not final yet
	failed   int   // failed permanently, not yet in a bounce
	running  int   // deliveries in progress
	bouncing []int // recipients in a bounce request the queue has not answered
	bounceAt time.Time
	held     bool
	deleting bool // the admin deleted it: no new deliveries
	silent   bool // ... without telling the sender
	// dups are recipients that name the same mailbox as an earlier one
	// (dedup.go): done without a delivery of their own. Their state is
	// recorded with the first record the message needs, if any.
	dups         []*rcpt
	dupsRecorded bool
}

type rcpt struct {
	msg     *message
	idx     int
	addr    string // as queued
	to      string // as delivered (virtualdomains, percenthack applied)
	virtual bool   // a virtual-directory domain
	ch      channel
	state   byte
	retryAt time.Time
	running bool
	waiting bool   // in the timer heap or a ready list
	ready   bool   // on a ready list, not taken yet
	tok     uint32 // which ready-list entry is current (older ones are stale)
	dupOf   *rcpt  // the earlier recipient this one duplicates (dedup.go)
}

// readyEntry is a recipient on a ready list. A remote job takes the ready
// recipients of the same message and domain with it, so an entry can go
// stale: it counts only while tok matches and the recipient is still ready.
type readyEntry struct {
	r    *rcpt
	tok  uint32
	dest string // set once it waited for its destination's limit (limits.go)
}

// job is one delivery in progress: one local recipient, or up to
// proto.MaxRemoteRcpts remote recipients of one message and domain.
type job struct {
	ch    channel
	rcpts []*rcpt
	dest  string // its destination (limits.go)
	start time.Time
}

// Core is the scheduler's state machine, free of I/O so that tests drive it
// with a fake clock.
type Core struct {
	Now func() time.Time
	Out Output
	// Metrics receives the delivery counts of docs/metrics.md; nil: none.
	Metrics *metrics.Client
	cfg     Config

	msgs       map[string]*message
	timers     timerHeap                  // pending recipients waiting for their retry time
	ready      [2][]readyEntry            // recipients due now, per channel, first come first served
	dests      [2]map[string]*destination // running jobs and waiting entries per destination (limits.go)
	unblocked  [2][]readyEntry            // entries a finished job let go, started before ready
	inflight   map[uint64]*job
	running    [2]int // jobs in progress per channel
	seq        uint64
	spawner    bool       // the local spawner is connected
	remote     bool       // the remote delivery process is connected
	bounceWait []*message // messages whose bounce failed, to ask again
}

// NewCore returns a scheduler with the given configuration.
func NewCore(now func() time.Time, out Output, cfg Config) *Core {
	if cfg.Rules == nil {
		cfg.Rules = rewrite.Build("", nil, nil, nil)
	}
	c := &Core{Now: now, Out: out, cfg: cfg, msgs: map[string]*message{}, inflight: map[uint64]*job{}}
	c.dests = [2]map[string]*destination{{}, {}}
	return c
}

// SetConfig applies a reloaded configuration (SIGHUP). Recipients already
// known keep their route, as qmail fixes it at preprocessing; `goqmail
// queue requeue` routes them again.
func (c *Core) SetConfig(cfg Config) {
	if cfg.Rules == nil {
		cfg.Rules = c.cfg.Rules
	}
	old := c.cfg
	c.cfg = cfg
	if cfg.ConcurrencyLocalRcpt != old.ConcurrencyLocalRcpt || cfg.ConcurrencyRemoteDomain != old.ConcurrencyRemoteDomain {
		c.releaseAll() // a new limit applies to what waits now, not at the next finish
	}
}

// SetSpawner records whether the local spawner is connected; deliveries
// start only while it is.
func (c *Core) SetSpawner(up bool) { c.spawner = up }

// SetRemote records whether the remote delivery process is connected.
func (c *Core) SetRemote(up bool) { c.remote = up }

// AddMsg takes a message announced by the queue. live is false for the
// startup snapshot (qmail logs "new msg" only when it first sees one).
func (c *Core) AddMsg(m proto.Msg, states []proto.RcptState, live bool) {
	if _, dup := c.msgs[m.ID]; dup {
		return
	}
	msg := &message{id: m.ID, birth: time.Unix(m.Birth, 0), sender: m.Sender, held: m.Held}
	if live {
		c.Out.Logf("new msg %s", m.ID)
	}
	c.Out.Logf("info msg %s: bytes %d from <%s> qp %d uid %d", m.ID, m.Size, m.Sender, m.QP, m.UID)
	var seen mailboxes
	for _, st := range states {
		r := &rcpt{msg: msg, idx: st.Index, addr: st.Addr, state: st.State, retryAt: time.Unix(st.RetryAt, 0)}
		msg.rcpts = append(msg.rcpts, r)
		final := st.State == proto.StateDone || st.State == proto.StateBounced || st.State == proto.StateFailed
		if !final || len(states) > 1 {
			c.route(r)
		}
		if len(states) > 1 {
			r.dupOf = seen.first(r)
		}
		switch st.State {
		case proto.StateDone, proto.StateBounced:
			continue
		case proto.StateFailed:
			msg.failed++
			continue
		}
		if r.dupOf != nil {
			c.duplicate(r)
			continue
		}
		msg.open++
		if st.RetryAt == 0 {
			r.retryAt = time.Time{}
		}
		c.wait(r)
	}
	c.msgs[m.ID] = msg
	c.maybeFinish(msg)
}

func (c *Core) route(r *rcpt) {
	addr := c.unSRS(r)
	res := c.cfg.Rules.Route(addr)
	r.ch, r.to, r.virtual = res.Channel, res.Addr, res.Virtual
}

// wait puts a pending recipient on the timer heap.
func (c *Core) wait(r *rcpt) {
	if r.waiting || r.running || r.state != proto.StatePending {
		return
	}
	r.waiting = true
	heap.Push(&c.timers, r)
}

// Tick moves due recipients to the ready lists, starts deliveries within
// the concurrency limits, asks again for bounces that failed, and returns
// when it next needs to run (zero: no timer pending).
func (c *Core) Tick() time.Time {
	now := c.Now()
	for c.timers.Len() > 0 && !c.timers[0].retryAt.After(now) {
		r := heap.Pop(&c.timers).(*rcpt)
		if !c.startable(r) {
			r.waiting = false // release or requeue puts it back
			continue
		}
		r.tok++
		r.ready = true
		c.ready[r.ch] = append(c.ready[r.ch], readyEntry{r: r, tok: r.tok})
	}
	c.startReady(chanLocal, c.spawner, c.cfg.ConcurrencyLocal, c.cfg.ConcurrencyLocalRcpt, now)
	c.startReady(chanRemote, c.remote, c.cfg.ConcurrencyRemote, c.cfg.ConcurrencyRemoteDomain, now)
	var next time.Time
	if c.timers.Len() > 0 {
		next = c.timers[0].retryAt
	}
	if len(c.bounceWait) > 0 {
		waiting := c.bounceWait[:0]
		for _, m := range c.bounceWait {
			if c.msgs[m.id] != m {
				continue
			}
			if !m.bounceAt.After(now) {
				m.bounceAt = time.Time{}
				c.maybeFinish(m)
				continue
			}
			waiting = append(waiting, m)
			if next.IsZero() || m.bounceAt.Before(next) {
				next = m.bounceAt
			}
		}
		c.bounceWait = waiting
	}
	return next
}

func (c *Core) startable(r *rcpt) bool {
	return !r.msg.held && !r.msg.deleting && r.state == proto.StatePending && !r.running
}

// startReady starts jobs from a channel's ready list while the channel is
// connected and under its concurrency limit. An entry whose destination
// is at its own limit (perDest) waits beside it, without holding up the
// entries behind it (limits.go); entries a finished job let go come first.
func (c *Core) startReady(ch channel, up bool, limit, perDest int, now time.Time) {
	for up && c.running[ch] < limit {
		var e readyEntry
		if u := c.unblocked[ch]; len(u) > 0 {
			e, u[0] = u[0], readyEntry{}
			c.unblocked[ch] = u[1:]
		} else if q := c.ready[ch]; len(q) > 0 {
			e, q[0] = q[0], readyEntry{}
			c.ready[ch] = q[1:]
		} else {
			break
		}
		r := e.r
		if e.tok != r.tok || !r.ready || !c.startable(r) {
			if e.tok == r.tok && r.ready {
				r.ready, r.waiting = false, false // held or deleted: release or requeue puts it back
			}
			if e.dest != "" {
				c.promote(ch, e.dest) // it was let go for a free slot: the next one takes it
			}
			continue // stale: taken by a remote job, or queued again since
		}
		dest := destOf(r)
		if e.dest != "" && e.dest != dest {
			c.promote(ch, e.dest) // requeued to another destination meanwhile
		}
		if c.atLimit(ch, dest, perDest) {
			c.block(ch, dest, e, perDest)
			continue
		}
		r.ready, r.waiting = false, false
		if ch == chanLocal {
			c.startLocal(r, dest, now)
		} else {
			c.startRemote(r, dest, now)
		}
	}
	for _, q := range []*[]readyEntry{&c.ready[ch], &c.unblocked[ch]} {
		if len(*q) == 0 {
			*q = nil // let the backing array go
		}
	}
}

func (c *Core) begin(ch channel, dest string, rcpts []*rcpt, now time.Time) uint64 {
	c.seq++
	skip := int64(skipLocal)
	if ch == chanRemote {
		skip = skipRemote
	}
	for _, r := range rcpts {
		r.running = true
		r.msg.running++
		// The retry time is fixed when the attempt starts, as in qmail.
		r.retryAt = nextRetry(r.msg.birth, now, skip)
	}
	c.running[ch]++
	c.destination(ch, dest).running++
	c.inflight[c.seq] = &job{ch: ch, rcpts: rcpts, dest: dest, start: now}
	return c.seq
}

func (c *Core) startLocal(r *rcpt, dest string, now time.Time) {
	seq := c.begin(chanLocal, dest, []*rcpt{r}, now)
	c.Out.Logf("starting delivery %d: msg %s to local %s", seq, r.msg.id, r.to)
	c.Out.Deliver(proto.Deliver{Seq: seq, ID: r.msg.id, Sender: r.msg.sender, Rcpt: r.to, Virtual: r.virtual, Birth: r.msg.birth.Unix(),
		ForwardSender: c.forwardSender(r.msg)})
}

// startRemote starts one SMTP transaction for r and every other ready
// recipient of the same message at the same domain (qmail sent one
// recipient per connection).
func (c *Core) startRemote(r *rcpt, dest string, now time.Time) {
	dom := domainOf(r.to)
	batch := []*rcpt{r}
	for _, o := range r.msg.rcpts {
		if len(batch) >= proto.MaxRemoteRcpts {
			break
		}
		if o != r && o.ready && o.ch == chanRemote && c.startable(o) && strings.EqualFold(domainOf(o.to), dom) {
			o.ready, o.waiting = false, false
			batch = append(batch, o)
		}
	}
	seq := c.begin(chanRemote, dest, batch, now)
	addrs := make([]string, len(batch))
	for i, b := range batch {
		addrs[i] = b.to
	}
	c.Out.Logf("starting delivery %d: msg %s to remote %s", seq, r.msg.id, strings.Join(addrs, " "))
	c.Out.DeliverRemote(proto.Remote{Seq: seq, ID: r.msg.id, Sender: r.msg.sender, Domain: dom, Rcpts: addrs})
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return ""
}

// Report applies the outcome of a local delivery.
func (c *Core) Report(rep proto.Report) {
	j, ok := c.inflight[rep.Seq]
	if !ok || j.ch != chanLocal {
		c.Out.Logf("warning: report for unknown delivery %d", rep.Seq)
		return
	}
	c.finishJob(rep.Seq, j)
	c.apply(rep.Seq, j, j.rcpts[0], rep.Result, rep.Text)
}

// RemoteReport applies the outcome of a remote job, one result per
// recipient in the job's order.
func (c *Core) RemoteReport(rep proto.Remoted) {
	j, ok := c.inflight[rep.Seq]
	if !ok || j.ch != chanRemote {
		c.Out.Logf("warning: report for unknown delivery %d", rep.Seq)
		return
	}
	c.finishJob(rep.Seq, j)
	for i, r := range j.rcpts {
		res := proto.RcptResult{Result: proto.ResultDeferral, Text: "The remote delivery process reported no result for this recipient. (#4.3.0)"}
		if i < len(rep.Results) {
			res = rep.Results[i]
		}
		c.apply(rep.Seq, j, r, res.Result, res.Text)
	}
}

func (c *Core) finishJob(seq uint64, j *job) {
	delete(c.inflight, seq)
	c.running[j.ch]--
	c.release(j.ch, j.dest)
	for _, r := range j.rcpts {
		r.running = false
		r.msg.running--
	}
}

// apply records one recipient's outcome.
func (c *Core) apply(seq uint64, j *job, r *rcpt, result byte, text string) {
	msg := r.msg
	now := c.Now()
	// A message past its lifetime has had its last try (qmail flagdying).
	if result == proto.ResultDeferral && c.cfg.Lifetime > 0 && now.Sub(msg.birth) > c.cfg.Lifetime {
		result = proto.ResultPermanent
		text += "/I'm not going to try again; this message has been in the queue too long."
	}
	if result == proto.ResultDeferral && msg.deleting {
		result, text = proto.ResultPermanent, text+"/"+deletedText
	}
	who := ""
	if r.ch == chanRemote {
		who = r.to + ": " // a remote job has several recipients
	}
	c.count(j, r, result, now)
	switch result {
	case proto.ResultSuccess:
		c.Out.Logf("delivery %d: success: %s%s", seq, who, text)
		r.state = proto.StateDone
		msg.open--
	case proto.ResultPermanent:
		c.Out.Logf("delivery %d: failure: %s%s", seq, who, text)
		r.state = proto.StateFailed
		msg.open--
		msg.failed++
	default:
		c.Out.Logf("delivery %d: deferral: %s%s", seq, who, text)
		c.wait(r)
	}
	// A message finished in one go needs no per-recipient record: removing
	// it says everything. Otherwise record this recipient's new state.
	if msg.open == 0 && msg.failed == 0 {
		c.maybeFinish(msg)
		return
	}
	if !msg.silent {
		c.recordDups(msg)
		c.Out.Update(proto.Update{ID: msg.id, Index: r.idx, State: r.state, RetryAt: r.retryAt.Unix(), Text: text})
	}
	c.maybeFinish(msg)
}

// count reports one recipient's result to the metrics.
func (c *Core) count(j *job, r *rcpt, result byte, now time.Time) {
	if c.Metrics == nil {
		return
	}
	kind := "local"
	if r.ch == chanRemote {
		kind = "remote"
	}
	res := "deferral"
	switch result {
	case proto.ResultSuccess:
		res = "success"
		c.Metrics.Observe(metrics.DeliveryDelay, now.Sub(r.msg.birth), kind)
	case proto.ResultPermanent:
		res = "failure"
	}
	c.Metrics.Inc(metrics.Deliveries, kind, res)
	c.Metrics.Observe(metrics.DeliveryDuration, now.Sub(j.start), kind)
}

// ReportQueue sets the queue gauges: messages and recipients not finished,
// and the age of the oldest message. It walks the whole queue, so send
// calls it once a second, not per event.
func (c *Core) ReportQueue() {
	if c.Metrics == nil {
		return
	}
	now := c.Now()
	var oldest time.Time
	open := 0
	for _, m := range c.msgs {
		open += m.open
		if oldest.IsZero() || m.birth.Before(oldest) {
			oldest = m.birth
		}
	}
	age := 0.0
	if !oldest.IsZero() {
		age = max(now.Sub(oldest).Truncate(time.Second).Seconds(), 0)
	}
	c.Metrics.Set(metrics.QueueMessages, float64(len(c.msgs)))
	c.Metrics.Set(metrics.QueueRecipients, float64(open))
	c.Metrics.Set(metrics.QueueOldest, age)
}

// maybeFinish sends the bounce a message owes, or removes a finished one.
// qmail-send bounces once a message has no delivery in progress, with all
// the failures collected so far; so does goqmail: usually one bounce per
// message, a second one only for recipients that fail later.
func (c *Core) maybeFinish(msg *message) {
	if msg.running > 0 || msg.bouncing != nil {
		return
	}
	if msg.deleting && msg.silent {
		c.finish(msg, true)
		return
	}
	if msg.held {
		return
	}
	if msg.failed > 0 {
		if !msg.bounceAt.IsZero() {
			return // waiting to ask again (Tick)
		}
		for _, r := range msg.rcpts {
			if r.state == proto.StateFailed {
				msg.bouncing = append(msg.bouncing, r.idx)
			}
		}
		c.Out.Bounce(proto.Bounce{ID: msg.id, Last: msg.open == 0, Indexes: msg.bouncing})
		return
	}
	if msg.open == 0 {
		c.finish(msg, true)
	}
}

// finish forgets a message; tell says whether the queue must be asked to
// remove it (not when a last bounce already did).
func (c *Core) finish(msg *message, tell bool) {
	if tell {
		c.Out.Done(msg.id)
	}
	c.Out.Logf("end msg %s", msg.id)
	for _, r := range msg.rcpts {
		r.state = proto.StateDone // drops it from the heap and ready lists when met
	}
	delete(c.msgs, msg.id)
}

// Bounced applies the queue's answer to a bounce request.
func (c *Core) Bounced(b proto.Bounced) {
	msg := c.msgs[b.ID]
	if msg == nil || msg.bouncing == nil {
		c.Out.Logf("warning: bounce answer for msg %s, which has no bounce pending", b.ID)
		return
	}
	idx := msg.bouncing
	msg.bouncing = nil
	if !b.OK {
		msg.bounceAt = c.Now().Add(bounceRetry)
		c.bounceWait = append(c.bounceWait, msg)
		c.Out.Logf("warning: msg %s: unable to queue its bounce: %s; trying again in %v", msg.id, b.Text, bounceRetry)
		return
	}
	for _, i := range idx {
		if i < len(msg.rcpts) && msg.rcpts[i].state == proto.StateFailed {
			msg.rcpts[i].state = proto.StateBounced
			msg.failed--
		}
	}
	if b.BounceID != "" {
		c.Out.Logf("bounce msg %s qp %s", msg.id, b.BounceID)
	} else {
		c.Out.Logf("bounce msg %s: %s", msg.id, b.Text)
	}
	if msg.open == 0 && msg.failed == 0 {
		c.finish(msg, false) // a last bounce removed the message in the queue
		return
	}
	c.maybeFinish(msg)
}

// SpawnerLost turns every running local delivery into a deferral: the
// spawner (or the delivery process) went away and we cannot know what
// happened. A delivery that did complete will be repeated: at least once,
// never lost.
func (c *Core) SpawnerLost(why string) { c.lost(chanLocal, why) }

// RemoteLost does the same for remote jobs; a message whose final dot was
// sent may be delivered twice (qmail's "possible duplicate").
func (c *Core) RemoteLost(why string) { c.lost(chanRemote, why) }

func (c *Core) lost(ch channel, why string) {
	for seq, j := range c.inflight {
		if j.ch != ch {
			continue
		}
		c.finishJob(seq, j)
		for _, r := range j.rcpts {
			c.apply(seq, j, r, proto.ResultDeferral, why)
		}
	}
}

// Running reports the number of deliveries in progress.
func (c *Core) Running() int { return len(c.inflight) }

// Status is qmail's "status: local l/L remote r/R" line.
func (c *Core) Status() string {
	return fmt.Sprintf("status: local %d/%d remote %d/%d", c.running[chanLocal], c.cfg.ConcurrencyLocal, c.running[chanRemote], c.cfg.ConcurrencyRemote)
}

// Summary describes the queue as send sees it, for the status log.
func (c *Core) Summary() string {
	return fmt.Sprintf("%d messages, %d recipients waiting for their next try, %d local and %d remote due now, %d local and %d remote waiting for their destination's limit",
		len(c.msgs), c.timers.Len(), len(c.ready[chanLocal]), len(c.ready[chanRemote]), c.blocked(chanLocal), c.blocked(chanRemote))
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
