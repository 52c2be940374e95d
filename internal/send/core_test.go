package send

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"goqmail/internal/control"
	"goqmail/internal/proto"
)

type recorder struct {
	delivers []proto.Deliver
	updates  []proto.Update
	done     []string
	logs     []string
}

func (r *recorder) Deliver(d proto.Deliver)    { r.delivers = append(r.delivers, d) }
func (r *recorder) Update(u proto.Update)      { r.updates = append(r.updates, u) }
func (r *recorder) Done(id string)             { r.done = append(r.done, id) }
func (r *recorder) Logf(f string, args ...any) { r.logs = append(r.logs, fmt.Sprintf(f, args...)) }

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

var t0 = time.Unix(1_800_000_000, 0)

func newTestCore(conc int, lifetime time.Duration) (*Core, *recorder, *clock) {
	rec := &recorder{}
	clk := &clock{t: t0}
	c := NewCore(clk.now, rec, Config{ConcurrencyLocal: conc, ConcurrencyRemote: 20, Lifetime: lifetime,
		Locals: control.NewDomainSet([]string{"example.org"})})
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

func TestLifetimeTurnsDeferralPermanentAndKeepsMessage(t *testing.T) {
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
