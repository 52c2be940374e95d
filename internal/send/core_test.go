package send

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"goqmail/internal/proto"
	"goqmail/internal/rewrite"
)

type recorder struct {
	delivers []proto.Deliver
	updates  []proto.Update
	done     []string
	bounces  []proto.Bounce
	remotes  []proto.Remote
	logs     []string
}

func (r *recorder) DeliverRemote(d proto.Remote) { r.remotes = append(r.remotes, d) }
func (r *recorder) Bounce(b proto.Bounce)        { r.bounces = append(r.bounces, b) }
func (r *recorder) Deliver(d proto.Deliver)      { r.delivers = append(r.delivers, d) }
func (r *recorder) Update(u proto.Update)        { r.updates = append(r.updates, u) }
func (r *recorder) Done(id string)               { r.done = append(r.done, id) }
func (r *recorder) Logf(f string, args ...any)   { r.logs = append(r.logs, fmt.Sprintf(f, args...)) }

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

var t0 = time.Unix(1_800_000_000, 0)

func newTestCore(conc int, lifetime time.Duration) (*Core, *recorder, *clock) {
	rec := &recorder{}
	clk := &clock{t: t0}
	c := NewCore(clk.now, rec, Config{ConcurrencyLocal: conc, ConcurrencyRemote: 20, Lifetime: lifetime,
		Rules: rewrite.Build("example.org", []string{"example.org"}, nil, []string{"virt.example:v"})})
	c.SetSpawner(true)
	return c, rec, clk
}

func msg(id string, rcpts ...string) (proto.Msg, []proto.RcptState) {
	st := make([]proto.RcptState, len(rcpts))
	for i, r := range rcpts {
		st[i] = proto.RcptState{Index: i, Addr: r}
	}
	return proto.Msg{ID: id, Birth: t0.Unix(), Sender: "s@x", NRcpt: len(rcpts)}, st
}

func TestNextRetryMatchesQmailSchedule(t *testing.T) {
	// qmail-send's local schedule: 0, 100 s, 400 s, 15 m, 26 m 40 s ...
	// remote: 0, 6 m 40 s, 26 m 40 s, 1 h ...
	for _, tc := range []struct {
		skip int64
		want []int64
	}{{skipLocal, []int64{100, 400, 900, 1600, 2500, 3600}}, {skipRemote, []int64{400, 1600, 3600, 6400, 10000}}} {
		at := t0
		for i, want := range tc.want {
			next := nextRetry(t0, at, tc.skip)
			if got := int64(next.Sub(t0).Seconds()); got != want {
				t.Fatalf("skip %d attempt %d: next at +%d s, want +%d s", tc.skip, i+1, got, want)
			}
			at = next
		}
	}
}

func TestDeferralRetriesOnScheduleAndSuccessEnds(t *testing.T) {
	c, rec, clk := newTestCore(10, 7*24*time.Hour)
	m, st := msg("0000000000000001", "a@example.org")
	c.AddMsg(m, st, true)
	c.Tick()
	if len(rec.delivers) != 1 {
		t.Fatalf("deliveries started: %d", len(rec.delivers))
	}
	c.Report(proto.Report{Seq: rec.delivers[0].Seq, Result: proto.ResultDeferral, Text: "mailbox busy"})
	if len(rec.updates) != 1 || rec.updates[0].RetryAt != t0.Unix()+100 || rec.updates[0].State != proto.StatePending {
		t.Fatalf("deferral recorded as %+v", rec.updates)
	}
	clk.t = t0.Add(99 * time.Second)
	if next := c.Tick(); !next.Equal(t0.Add(100*time.Second)) || len(rec.delivers) != 1 {
		t.Fatalf("retried early or wrong wake: %v, %d", next, len(rec.delivers))
	}
	clk.t = t0.Add(100 * time.Second)
	c.Tick()
	if len(rec.delivers) != 2 {
		t.Fatal("not retried at +100 s")
	}
	c.Report(proto.Report{Seq: rec.delivers[1].Seq, Result: proto.ResultSuccess, Text: "did 0+0+1/"})
	if len(rec.done) != 1 || rec.done[0] != "0000000000000001" {
		t.Fatalf("done = %v", rec.done)
	}
	if len(rec.updates) != 1 {
		t.Fatalf("a finished message wrote extra state: %+v", rec.updates)
	}
}

func TestLifetimeTurnsDeferralPermanentAndBounces(t *testing.T) {
	c, rec, clk := newTestCore(10, time.Hour)
	m, st := msg("0000000000000002", "a@example.org")
	c.AddMsg(m, st, true)
	clk.t = t0.Add(2 * time.Hour)
	c.Tick()
	c.Report(proto.Report{Seq: rec.delivers[0].Seq, Result: proto.ResultDeferral, Text: "busy"})
	if len(rec.updates) != 1 || rec.updates[0].State != proto.StateFailed || !strings.Contains(rec.updates[0].Text, "too long") {
		t.Fatalf("updates %+v", rec.updates)
	}
	if len(rec.done) != 0 {
		t.Fatal("a message with a failed recipient was removed before its bounce exists")
	}
	if len(rec.bounces) != 1 || !rec.bounces[0].Last || len(rec.bounces[0].Indexes) != 1 {
		t.Fatalf("bounce requests %+v", rec.bounces)
	}
	// The queue answers: the bounce is queued and the message removed there.
	c.Bounced(proto.Bounced{ID: m.ID, OK: true, BounceID: "00000000000000b1"})
	if len(rec.done) != 0 || len(c.msgs) != 0 {
		t.Fatalf("after the last bounce: done %v, msgs %d", rec.done, len(c.msgs))
	}
}

func TestConcurrencyLimitAndPartialState(t *testing.T) {
	c, rec, _ := newTestCore(2, time.Hour)
	m, st := msg("0000000000000003", "a@example.org", "b@example.org", "c@example.org", "far@remote.example")
	c.AddMsg(m, st, true)
	c.Tick()
	if len(rec.delivers) != 2 {
		t.Fatalf("started %d, limit 2", len(rec.delivers))
	}
	c.Report(proto.Report{Seq: rec.delivers[0].Seq, Result: proto.ResultSuccess})
	c.Tick()
	if len(rec.delivers) != 3 {
		t.Fatalf("started %d after one finished", len(rec.delivers))
	}
	for _, d := range rec.delivers {
		if d.Rcpt == "far@remote.example" {
			t.Fatal("remote recipient handed to the local spawner")
		}
	}
	if len(rec.updates) != 1 || rec.updates[0].State != proto.StateDone || rec.updates[0].Index != 0 {
		t.Fatalf("partial success not recorded: %+v", rec.updates)
	}
}

func TestSpawnerLostDefersAndRetryNow(t *testing.T) {
	c, rec, _ := newTestCore(10, time.Hour)
	m, st := msg("0000000000000004", "a@example.org")
	c.AddMsg(m, st, true)
	c.Tick()
	c.SetSpawner(false)
	c.SpawnerLost("gone")
	if c.Running() != 0 || len(rec.updates) != 1 || rec.updates[0].State != proto.StatePending {
		t.Fatalf("running %d updates %+v", c.Running(), rec.updates)
	}
	c.SetSpawner(true)
	c.Tick()
	if len(rec.delivers) != 1 {
		t.Fatal("retried before its time")
	}
	c.RetryNow()
	c.Tick()
	if len(rec.delivers) != 2 {
		t.Fatal("SIGALRM retry did not start the delivery")
	}
}

func TestSnapshotStatesRespected(t *testing.T) {
	c, rec, _ := newTestCore(10, time.Hour)
	m, st := msg("0000000000000005", "a@example.org", "b@example.org", "c@example.org")
	st[0].State = proto.StateDone
	st[1].RetryAt = t0.Unix() + 500
	c.AddMsg(m, st, false)
	c.Tick()
	if len(rec.delivers) != 1 || rec.delivers[0].Rcpt != "c@example.org" {
		t.Fatalf("delivers %+v", rec.delivers)
	}
	for _, l := range rec.logs {
		if strings.HasPrefix(l, "new msg") {
			t.Fatal("snapshot message logged as new")
		}
	}
}

// One bounce per batch of failures, only once no delivery is running; a
// recipient that fails later gets a second bounce; a failed bounce is asked
// for again after bounceRetry.
func TestBounceBatchesAndRetries(t *testing.T) {
	c, rec, clk := newTestCore(10, 7*24*time.Hour)
	m, st := msg("0000000000000006", "a@example.org", "b@example.org", "c@example.org")
	c.AddMsg(m, st, true)
	c.Tick()
	if len(rec.delivers) != 3 {
		t.Fatalf("started %d", len(rec.delivers))
	}
	seqOf := func(rcpt string) uint64 {
		for i := len(rec.delivers) - 1; i >= 0; i-- {
			if rec.delivers[i].Rcpt == rcpt {
				return rec.delivers[i].Seq
			}
		}
		t.Fatalf("no delivery to %s", rcpt)
		return 0
	}
	c.Report(proto.Report{Seq: seqOf("a@example.org"), Result: proto.ResultPermanent, Text: "no (#5.1.1)"})
	if len(rec.bounces) != 0 {
		t.Fatal("bounced while deliveries were running")
	}
	c.Report(proto.Report{Seq: seqOf("b@example.org"), Result: proto.ResultPermanent, Text: "no (#5.1.1)"})
	c.Report(proto.Report{Seq: seqOf("c@example.org"), Result: proto.ResultDeferral, Text: "busy"})
	if len(rec.bounces) != 1 || rec.bounces[0].Last || len(rec.bounces[0].Indexes) != 2 || rec.bounces[0].Indexes[1] != 1 {
		t.Fatalf("bounces %+v", rec.bounces)
	}
	// The queue could not write it: ask again later, not at once.
	c.Bounced(proto.Bounced{ID: m.ID, OK: false, Text: "disk full"})
	clk.t = t0.Add(bounceRetry - time.Second)
	c.Tick() // also retries c@ (due at +100 s): a deferral again
	c.Report(proto.Report{Seq: seqOf("c@example.org"), Result: proto.ResultDeferral, Text: "busy"})
	if len(rec.bounces) != 1 {
		t.Fatal("asked again too early")
	}
	clk.t = t0.Add(bounceRetry)
	c.Tick()
	if len(rec.bounces) != 2 || len(rec.bounces[1].Indexes) != 2 {
		t.Fatalf("not asked again: %+v", rec.bounces)
	}
	c.Bounced(proto.Bounced{ID: m.ID, OK: true, BounceID: "00000000000000b2"})
	// The third recipient fails at its retry: a second bounce, the last.
	clk.t = t0.Add(time.Hour)
	c.Tick()
	c.Report(proto.Report{Seq: seqOf("c@example.org"), Result: proto.ResultPermanent, Text: "no"})
	if len(rec.bounces) != 3 || !rec.bounces[2].Last || len(rec.bounces[2].Indexes) != 1 || rec.bounces[2].Indexes[0] != 2 {
		t.Fatalf("second bounce %+v", rec.bounces)
	}
	c.Bounced(proto.Bounced{ID: m.ID, OK: true})
	if len(c.msgs) != 0 || len(rec.done) != 0 {
		t.Fatal("message not finished after its last bounce")
	}
}

func TestSnapshotWithFailedRecipientBounces(t *testing.T) {
	c, rec, _ := newTestCore(10, time.Hour)
	m, st := msg("0000000000000007", "a@example.org", "b@example.org", "c@example.org")
	st[0].State = proto.StateBounced
	st[1].State = proto.StateFailed
	st[2].State = proto.StateDone
	c.AddMsg(m, st, false)
	if len(rec.bounces) != 1 || !rec.bounces[0].Last || rec.bounces[0].Indexes[0] != 1 {
		t.Fatalf("bounces %+v", rec.bounces)
	}
}

func TestVirtualDomainDeliveredAsPrependedAddress(t *testing.T) {
	c, rec, _ := newTestCore(10, time.Hour)
	m, st := msg("0000000000000008", "Joe@virt.example", "x@remote.example")
	c.AddMsg(m, st, true)
	c.Tick()
	if len(rec.delivers) != 1 || rec.delivers[0].Rcpt != "v-Joe@virt.example" {
		t.Fatalf("delivers %+v", rec.delivers)
	}
}

func TestHoldReleaseDeleteRequeue(t *testing.T) {
	c, rec, _ := newTestCore(10, time.Hour)
	m, st := msg("0000000000000009", "a@example.org")
	c.AddMsg(m, st, true)
	if _, err := c.Admin(proto.Admin{Verb: proto.AdminHold, ID: m.ID}); err != nil {
		t.Fatal(err)
	}
	c.Tick()
	if len(rec.delivers) != 0 {
		t.Fatal("held message delivered")
	}
	if len(rec.updates) != 1 || rec.updates[0].Index != proto.HoldIndex || rec.updates[0].State != 1 {
		t.Fatalf("hold not recorded: %+v", rec.updates)
	}
	c.Admin(proto.Admin{Verb: proto.AdminRelease, ID: m.ID})
	c.Tick()
	if len(rec.delivers) != 1 {
		t.Fatal("released message not delivered")
	}
	c.Report(proto.Report{Seq: rec.delivers[0].Seq, Result: proto.ResultDeferral, Text: "busy"})
	// Delete with a bounce: the pending recipient fails with the admin text.
	if _, err := c.Admin(proto.Admin{Verb: proto.AdminDelete, ID: m.ID, Bounce: true}); err != nil {
		t.Fatal(err)
	}
	if len(rec.bounces) != 1 || !rec.bounces[0].Last {
		t.Fatalf("delete with bounce: %+v", rec.bounces)
	}
	last := rec.updates[len(rec.updates)-1]
	if last.State != proto.StateFailed || last.Text != deletedText {
		t.Fatalf("deleted recipient recorded as %+v", last)
	}

	// Silent delete while a delivery runs: removed once it reports.
	m2, st2 := msg("000000000000000a", "b@example.org")
	c.AddMsg(m2, st2, true)
	c.Tick()
	seq := rec.delivers[len(rec.delivers)-1].Seq
	c.Admin(proto.Admin{Verb: proto.AdminDelete, ID: m2.ID})
	if len(rec.done) != 0 {
		t.Fatal("removed while its delivery runs")
	}
	c.Report(proto.Report{Seq: seq, Result: proto.ResultDeferral, Text: "busy"})
	if len(rec.done) != 1 || rec.done[0] != m2.ID {
		t.Fatalf("silent delete: done %v", rec.done)
	}

	// Requeue routes again with new rules: a remote recipient becomes local.
	m3, st3 := msg("000000000000000b", "x@new.example")
	c.AddMsg(m3, st3, true)
	n := len(rec.delivers)
	c.Tick()
	if len(rec.delivers) != n {
		t.Fatal("remote recipient delivered locally")
	}
	c.SetConfig(Config{ConcurrencyLocal: 10, Lifetime: time.Hour, Rules: rewrite.Build("example.org", []string{"example.org", "new.example"}, nil, nil)})
	if _, err := c.Admin(proto.Admin{Verb: proto.AdminRequeue}); err != nil {
		t.Fatal(err)
	}
	c.Tick()
	// It sat on the remote ready list; requeue keeps a queued recipient's
	// channel, so it is delivered once it is back on the timer heap.
	if _, err := c.Admin(proto.Admin{Verb: proto.AdminHold, ID: "ffffffffffffffff"}); err == nil {
		t.Fatal("hold of an unknown message succeeded")
	}
}

// Remote recipients of one message and domain go out in one job, with the
// remote retry schedule; results apply per recipient; a lost connection
// defers the running jobs.
func TestRemoteJobsBatchByDomain(t *testing.T) {
	c, rec, clk := newTestCore(10, 7*24*time.Hour)
	c.SetRemote(true)
	m, st := msg("000000000000000c", "a@r1.example", "local@example.org", "B@R1.example", "c@r2.example")
	c.AddMsg(m, st, true)
	c.Tick()
	if len(rec.delivers) != 1 || len(rec.remotes) != 2 {
		t.Fatalf("local %d, remote jobs %+v", len(rec.delivers), rec.remotes)
	}
	var r1, r2 proto.Remote
	for _, j := range rec.remotes {
		if j.Domain == "r1.example" {
			r1 = j
		} else {
			r2 = j
		}
	}
	if len(r1.Rcpts) != 2 || r1.Rcpts[0] != "a@r1.example" || r1.Rcpts[1] != "B@R1.example" || len(r2.Rcpts) != 1 {
		t.Fatalf("jobs %+v %+v", r1, r2)
	}
	c.Report(proto.Report{Seq: rec.delivers[0].Seq, Result: proto.ResultSuccess})
	c.RemoteReport(proto.Remoted{Seq: r1.Seq, Results: []proto.RcptResult{
		{Result: proto.ResultSuccess, Text: "ok"}, {Result: proto.ResultDeferral, Text: "try later"}}})
	// The deferred remote recipient retries at birth + 400 s (qmail's
	// remote schedule), not at the local one.
	var upd proto.Update
	for _, u := range rec.updates {
		if u.Index == 2 {
			upd = u
		}
	}
	if upd.State != proto.StatePending || upd.RetryAt != t0.Unix()+400 {
		t.Fatalf("remote deferral recorded as %+v", upd)
	}
	c.RemoteLost("gone")
	if c.Running() != 0 {
		t.Fatal("jobs still running after the connection was lost")
	}
	c.SetRemote(false)
	clk.t = t0.Add(400 * time.Second)
	c.Tick()
	if len(rec.remotes) != 2 {
		t.Fatal("remote job started while remote delivery is down")
	}
	c.SetRemote(true)
	c.Tick()
	// B@R1 (deferred) and c@r2 (its job was lost) are due again.
	if len(rec.remotes) != 4 {
		t.Fatalf("jobs after reconnect: %+v", rec.remotes[2:])
	}
	// A stale report is ignored, not applied twice.
	c.RemoteReport(proto.Remoted{Seq: r1.Seq, Results: []proto.RcptResult{{Result: proto.ResultSuccess}}})
	if !strings.Contains(rec.logs[len(rec.logs)-1], "unknown delivery") {
		t.Fatalf("stale report: %s", rec.logs[len(rec.logs)-1])
	}
}

// concurrencyremote counts jobs.
func TestRemoteConcurrency(t *testing.T) {
	c, rec, _ := newTestCore(10, time.Hour)
	c.SetConfig(Config{ConcurrencyLocal: 10, ConcurrencyRemote: 2, Lifetime: time.Hour})
	c.SetRemote(true)
	for i := 0; i < 5; i++ {
		m, st := msg(fmt.Sprintf("00000000000001%02x", i), "x@far.example")
		c.AddMsg(m, st, true)
	}
	c.Tick()
	if len(rec.remotes) != 2 {
		t.Fatalf("started %d remote jobs, limit 2", len(rec.remotes))
	}
	c.RemoteReport(proto.Remoted{Seq: rec.remotes[0].Seq, Results: []proto.RcptResult{{Result: proto.ResultSuccess}}})
	c.Tick()
	if len(rec.remotes) != 3 {
		t.Fatalf("started %d after one finished", len(rec.remotes))
	}
}
