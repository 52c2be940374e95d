package send

import (
	"slices"
	"strings"
	"testing"
	"time"

	"goqmail/internal/proto"
)

// spellings returns n different ASCII case spellings of addr.
func spellings(addr string, n int) []string {
	var out []string
	for mask := 0; len(out) < n; mask++ {
		b := []byte(addr)
		bit := 0
		for i, c := range b {
			if 'a' <= c && c <= 'z' {
				if mask&(1<<bit) != 0 {
					b[i] = c - 'a' + 'A'
				}
				bit++
			}
		}
		if bit < 31 && mask >= 1<<bit {
			panic("not enough letters for that many spellings")
		}
		out = append(out, string(b))
	}
	return out
}

// TestCaseSpellingsDeliveredOnce: 100 spellings of one local address are
// one delivery (issue 11, item 4: they were 100 copies). So are spellings
// of a virtualdomains address, whose local part is folded by the lookup
// too. A remote local part keeps its case (RFC 5321 2.4); only the domain
// is folded.
func TestCaseSpellingsDeliveredOnce(t *testing.T) {
	c, rec, _ := newTestCore(200, time.Hour)
	c.SetRemote(true)
	m, st := msg("00000000000000d0", spellings("demo@example.org", 100)...)
	c.AddMsg(m, st, true)
	c.Tick()
	if len(rec.delivers) != 1 || rec.delivers[0].Rcpt != "demo@example.org" {
		t.Fatalf("%d local deliveries for 100 spellings of one address, want 1 (to the first spelling)", len(rec.delivers))
	}
	c.Report(proto.Report{Seq: rec.delivers[0].Seq, Result: proto.ResultSuccess, Text: "did 1+0+0/"})
	if len(rec.done) != 1 || len(rec.updates) != 0 {
		t.Fatalf("finished in one go: done %v, %d records (want the message removed and no records)", rec.done, len(rec.updates))
	}

	rec.delivers = nil
	rcpts := append(spellings("demo@example.org", 3), "Joe@virt.example", "joe@VIRT.EXAMPLE", "Far@remote.example", "far@remote.example", "far@REMOTE.EXAMPLE")
	m, st = msg("00000000000000d1", rcpts...)
	c.AddMsg(m, st, true)
	c.Tick()
	if len(rec.delivers) != 2 || rec.delivers[0].Rcpt != "demo@example.org" || rec.delivers[1].Rcpt != "v-Joe@virt.example" {
		t.Fatalf("local deliveries %+v, want one to demo@example.org and one to v-Joe@virt.example", rec.delivers)
	}
	if len(rec.remotes) != 1 || strings.Join(slices.Sorted(slices.Values(rec.remotes[0].Rcpts)), " ") != "Far@remote.example far@remote.example" {
		t.Fatalf("remote jobs %+v, want Far@ and far@ (local parts differ), not far@REMOTE.EXAMPLE again", rec.remotes)
	}
	for _, d := range rec.delivers {
		c.Report(proto.Report{Seq: d.Seq, Result: proto.ResultSuccess, Text: "did 1+0+0/"})
	}
	c.RemoteReport(proto.Remoted{Seq: rec.remotes[0].Seq, Results: []proto.RcptResult{{Result: proto.ResultSuccess}, {Result: proto.ResultSuccess}}})
	if len(rec.done) != 2 || len(c.msgs) != 0 {
		t.Fatalf("message not finished: done %v", rec.done)
	}
}

// TestDuplicatesRecordedWithTheMessagesState: when a message needs
// per-recipient records, its duplicates are recorded done first, so a
// restarted send (and `goqmail queue list`) sees them done, and a restart
// without those records makes the same choice again.
func TestDuplicatesRecordedWithTheMessagesState(t *testing.T) {
	c, rec, _ := newTestCore(10, time.Hour)
	m, st := msg("00000000000000d2", "a@example.org", "A@Example.Org", "b@example.org", "a@EXAMPLE.org")
	c.AddMsg(m, st, true)
	c.Tick()
	if len(rec.delivers) != 2 {
		t.Fatalf("deliveries %+v, want a@ and b@", rec.delivers)
	}
	c.Report(proto.Report{Seq: rec.delivers[0].Seq, Result: proto.ResultSuccess})
	c.Report(proto.Report{Seq: rec.delivers[1].Seq, Result: proto.ResultDeferral, Text: "busy"})
	state := map[int]byte{}
	for _, u := range rec.updates {
		state[u.Index] = u.State
	}
	if state[0] != proto.StateDone || state[1] != proto.StateDone || state[3] != proto.StateDone || state[2] != proto.StatePending || len(rec.updates) != 4 {
		t.Fatalf("records %+v: want a@ and its two duplicates done, b@ pending", rec.updates)
	}

	// Restart: from the records, and from no records at all.
	for _, states := range [][]byte{{proto.StateDone, proto.StateDone, proto.StatePending, proto.StateDone}, {0, 0, 0, 0}} {
		c2, rec2, _ := newTestCore(10, time.Hour)
		m, st := msg("00000000000000d2", "a@example.org", "A@Example.Org", "b@example.org", "a@EXAMPLE.org")
		for i := range st {
			st[i].State = states[i]
		}
		c2.AddMsg(m, st, false)
		c2.Tick()
		want := "a@example.org b@example.org"
		if states[0] == proto.StateDone {
			want = "b@example.org"
		}
		var got []string
		for _, d := range rec2.delivers {
			got = append(got, d.Rcpt)
		}
		if strings.Join(got, " ") != want {
			t.Errorf("after a restart with states %v: deliveries %v, want %s", states, got, want)
		}
	}
}

func TestMailboxKey(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		ch   channel
		same bool
	}{
		{"Demo-Ext@Example.TEST", "demo-ext@example.test", chanLocal, true},
		{"demo@example.test", "demo2@example.test", chanLocal, false},
		{"Far@remote.example", "Far@REMOTE.example", chanRemote, true},
		{"Far@remote.example", "far@remote.example", chanRemote, false},
		{"ÄNN@example.test", "änn@example.test", chanLocal, false}, // ASCII only, as qmail
		{"a@b@example.test", "A@B@EXAMPLE.TEST", chanLocal, true},
	} {
		if got := mailboxKey(tc.ch, false, tc.a) == mailboxKey(tc.ch, false, tc.b); got != tc.same {
			t.Errorf("%s %s and %s: same mailbox %v, want %v", tc.ch, tc.a, tc.b, got, tc.same)
		}
	}
	if mailboxKey(chanLocal, true, "a@x.example") == mailboxKey(chanLocal, false, "a@x.example") {
		t.Error("a virtual and a plain local recipient share a key")
	}
}
