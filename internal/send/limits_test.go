package send

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"goqmail/internal/proto"
	"goqmail/internal/rewrite"
)

func newLimitedCore(local, perRcpt, remote, perDomain int) (*Core, *recorder) {
	rec := &recorder{}
	clk := &clock{t: t0}
	c := NewCore(clk.now, rec, Config{ConcurrencyLocal: local, ConcurrencyLocalRcpt: perRcpt,
		ConcurrencyRemote: remote, ConcurrencyRemoteDomain: perDomain, Lifetime: time.Hour,
		Rules: rewrite.Build("example.org", []string{"example.org"}, nil, nil)})
	c.SetSpawner(true)
	c.SetRemote(true)
	return c, rec
}

// running counts the local deliveries started to rcpt that have not
// reported, given the sequence numbers reported so far.
func runningTo(rec *recorder, rcpt string, reported map[uint64]bool) int {
	n := 0
	for _, d := range rec.delivers {
		if strings.EqualFold(d.Rcpt, rcpt) && !reported[d.Seq] {
			n++
		}
	}
	return n
}

// TestOneRecipientCannotTakeEveryLocalSlot: ten messages for a recipient
// whose deliveries never end take concurrencylocalrcpt slots, not all of
// concurrencylocal; another recipient's mail starts at once, and the
// hung recipient's next message starts when one of its own finishes
// (issue 11, item 3: ten hanging .qmail programs stopped everyone's mail).
func TestOneRecipientCannotTakeEveryLocalSlot(t *testing.T) {
	c, rec := newLimitedCore(10, 2, 20, 5)
	for i := 0; i < 10; i++ {
		m, st := msg(fmt.Sprintf("00000000000002%02x", i), "hang@example.org")
		c.AddMsg(m, st, true)
	}
	c.Tick()
	reported := map[uint64]bool{}
	if n := runningTo(rec, "hang@example.org", reported); n != 2 || len(rec.delivers) != 2 {
		t.Fatalf("%d deliveries to the hanging recipient started (%d in all), want 2 (concurrencylocalrcpt)", n, len(rec.delivers))
	}
	if !strings.Contains(strings.Join(rec.logs, "\n"), "local recipient <hang@example.org> has 2 deliveries running (concurrencylocalrcpt 2)") {
		t.Errorf("the wait is not logged:\n%s", strings.Join(rec.logs, "\n"))
	}
	for i := 0; i < 3; i++ {
		m, st := msg(fmt.Sprintf("00000000000003%02x", i), "Other@example.org")
		c.AddMsg(m, st, true)
	}
	c.Tick()
	if n := runningTo(rec, "other@example.org", reported); n != 2 {
		t.Fatalf("another recipient got %d deliveries started, want 2 at once", n)
	}
	// One of the hung ones ends (the program timeout): the next starts.
	// (Waiting now: 7 for hang@, 1 for other@.)
	first := rec.delivers[0]
	reported[first.Seq] = true
	c.Report(proto.Report{Seq: first.Seq, Result: proto.ResultDeferral, Text: "Program timed out"})
	c.Tick()
	last := rec.delivers[len(rec.delivers)-1]
	if n := runningTo(rec, "hang@example.org", reported); n != 2 || last.Rcpt != "hang@example.org" || len(rec.delivers) != 5 {
		t.Fatalf("after one finished: %d running to hang@, last started %+v; want 2 running, another to hang@", n, last)
	}
	if !strings.Contains(c.Summary(), "8 local and 0 remote waiting for their destination's limit") {
		t.Errorf("summary: %s", c.Summary())
	}
	if n := strings.Count(strings.Join(rec.logs, "\n"), "local recipient <hang@example.org> has"); n != 1 {
		t.Errorf("the wait was logged %d times while the recipient stayed busy, want once", n)
	}
}

// TestOneDomainCannotTakeEveryRemoteSlot: jobs to one slow domain stop at
// concurrencyremotedomain; other domains still start.
func TestOneDomainCannotTakeEveryRemoteSlot(t *testing.T) {
	c, rec := newLimitedCore(10, 2, 20, 3)
	for i := 0; i < 25; i++ {
		m, st := msg(fmt.Sprintf("00000000000004%02x", i), fmt.Sprintf("u%d@Slow.example", i))
		c.AddMsg(m, st, true)
	}
	m, st := msg("0000000000000500", "x@fast.example")
	c.AddMsg(m, st, true)
	c.Tick()
	slow := 0
	for _, j := range rec.remotes {
		if strings.EqualFold(j.Domain, "slow.example") {
			slow++
		}
	}
	if slow != 3 || len(rec.remotes) != 4 {
		t.Fatalf("%d jobs to slow.example and %d in all, want 3 (concurrencyremotedomain) and the fast one", slow, len(rec.remotes))
	}
	c.RemoteReport(proto.Remoted{Seq: rec.remotes[0].Seq, Results: []proto.RcptResult{{Result: proto.ResultDeferral, Text: "timeout"}}})
	c.Tick()
	if len(rec.remotes) != 5 || !strings.EqualFold(rec.remotes[4].Domain, "slow.example") {
		t.Fatalf("after one slow job ended: %d jobs", len(rec.remotes))
	}
}

// TestWaitingEntryNotStranded: a waiting delivery that cannot start when
// its turn comes (its message was held) passes the turn on; raising the
// limit lets the waiting ones go at once.
func TestWaitingEntryNotStranded(t *testing.T) {
	c, rec := newLimitedCore(10, 1, 20, 5)
	for i := 0; i < 4; i++ {
		m, st := msg(fmt.Sprintf("00000000000006%02x", i), "one@example.org")
		c.AddMsg(m, st, true)
	}
	c.Tick()
	if len(rec.delivers) != 1 {
		t.Fatalf("started %d, limit 1", len(rec.delivers))
	}
	if _, err := c.Admin(proto.Admin{Verb: proto.AdminHold, ID: "0000000000000601"}); err != nil {
		t.Fatal(err)
	}
	c.Report(proto.Report{Seq: rec.delivers[0].Seq, Result: proto.ResultSuccess})
	c.Tick()
	if len(rec.delivers) != 2 || rec.delivers[1].ID == "0000000000000601" || rec.delivers[1].ID == rec.delivers[0].ID {
		t.Fatalf("after the first finished (another held): delivers %+v, want one of the two others", rec.delivers)
	}
	c.SetConfig(Config{ConcurrencyLocal: 10, ConcurrencyLocalRcpt: 5, ConcurrencyRemote: 20, ConcurrencyRemoteDomain: 5, Lifetime: time.Hour})
	c.Tick()
	if len(rec.delivers) != 3 || rec.delivers[2].ID == "0000000000000601" {
		t.Fatalf("after the limit was raised: delivers %+v, want the last unheld one too", rec.delivers)
	}
	c.Admin(proto.Admin{Verb: proto.AdminRelease, ID: "0000000000000601"})
	c.Tick()
	if len(rec.delivers) != 4 || rec.delivers[3].ID != "0000000000000601" {
		t.Fatalf("after release: delivers %+v", rec.delivers)
	}
}
