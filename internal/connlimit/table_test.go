package connlimit

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

var (
	clientA = Key(netip.MustParseAddr("192.0.2.1"))
	clientB = Key(netip.MustParseAddr("192.0.2.2"))
	t0      = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
)

// admit is one step of a table script: a connection from key at a time
// after t0, and the verdict it must get.
type admit struct {
	key    netip.Prefix
	exempt bool
	at     time.Duration
	want   Verdict
}

func TestTableCountsAndReleases(t *testing.T) {
	var tb Table
	l := Limits{Total: 3, PerClient: 2}
	var tickets []*Ticket
	for i, st := range []admit{
		{clientA, false, 0, Admit},
		{clientA, false, 0, Admit},
		{clientA, false, 0, OverClient},
		{clientB, false, 0, Admit},
		{clientB, false, 0, OverTotal},
		{clientA, true, 0, OverTotal}, // the budget binds the trusted too
	} {
		d, tk := tb.Admit(st.key, st.exempt, l, t0.Add(st.at))
		if d.Verdict != st.want {
			t.Fatalf("step %d: %v, want %v (%+v)", i, d.Verdict, st.want, d)
		}
		if (tk != nil) != (st.want == Admit) {
			t.Fatalf("step %d: ticket %v for %v", i, tk, d.Verdict)
		}
		if tk != nil {
			tickets = append(tickets, tk)
		}
	}
	if tb.Sessions() != 3 || tb.Client(clientA) != 2 || tb.Client(clientB) != 1 {
		t.Fatalf("counts: %d sessions, A %d, B %d", tb.Sessions(), tb.Client(clientA), tb.Client(clientB))
	}
	tickets[0].Release()
	tickets[0].Release() // a second release must not free another place
	if tb.Sessions() != 2 || tb.Client(clientA) != 1 {
		t.Fatalf("after one release: %d sessions, A %d", tb.Sessions(), tb.Client(clientA))
	}
	if d, _ := tb.Admit(clientA, false, l, t0); d.Verdict != Admit || d.Sessions != 3 || d.Client != 2 {
		t.Fatalf("a released place is not given again: %+v", d)
	}
	var nilTicket *Ticket
	nilTicket.Release() // refused connections have none; releasing it is harmless
}

func TestTableRateWindow(t *testing.T) {
	var tb Table
	l := Limits{Total: 100, Rate: 3}
	for i, st := range []admit{
		{clientA, false, 0, Admit},
		{clientA, false, 10 * time.Second, Admit},
		{clientA, false, 20 * time.Second, Admit},
		{clientA, false, 30 * time.Second, OverRate},
		{clientB, false, 30 * time.Second, Admit}, // another client has its own count
		{clientA, false, 59 * time.Second, OverRate},
		{clientA, false, 60 * time.Second, Admit}, // a new window
		{clientA, false, 61 * time.Second, Admit},
		{clientA, false, 62 * time.Second, Admit},
		{clientA, false, 63 * time.Second, OverRate},
		{clientA, true, 64 * time.Second, Admit}, // trusted: no rate limit
	} {
		d, tk := tb.Admit(st.key, st.exempt, l, t0.Add(st.at))
		if d.Verdict != st.want {
			t.Fatalf("step %d (%v): %v, want %v (%+v)", i, st.at, d.Verdict, st.want, d)
		}
		tk.Release()
	}
}

// A refused client is reported once per window; the refusals in between
// are counted and given with the next report.
func TestTableReportsOncePerWindow(t *testing.T) {
	var tb Table
	l := Limits{Total: 100, PerClient: 1}
	if _, tk := tb.Admit(clientA, false, l, t0); tk == nil {
		t.Fatal("first connection refused")
	}
	var reports []Decision
	for i := range 10 {
		d, _ := tb.Admit(clientA, false, l, t0.Add(time.Duration(i)*10*time.Second))
		if d.Verdict != OverClient {
			t.Fatalf("refusal %d: %v", i, d.Verdict)
		}
		if d.Report {
			reports = append(reports, d)
		}
	}
	// Refusals at 0..90 s: reported at 0 and 60 s, the five between counted.
	if len(reports) != 2 || reports[0].Unreported != 0 || reports[1].Unreported != 5 {
		t.Fatalf("reports: %+v", reports)
	}
}

func TestTableForgetsIdleClients(t *testing.T) {
	var tb Table
	l := Limits{Total: 10, Rate: 1}
	_, tk := tb.Admit(clientA, false, l, t0)
	tk.Release()
	if d, _ := tb.Admit(clientA, false, l, t0.Add(time.Second)); d.Verdict != OverRate {
		t.Fatalf("second connection in the window: %v", d.Verdict)
	}
	// Two windows later a sweep runs: A is forgotten, and B is new.
	tb.Admit(clientB, false, l, t0.Add(2*Window+time.Second))
	tb.mu.Lock()
	_, known := tb.clients[clientA]
	n := len(tb.clients)
	tb.mu.Unlock()
	if known || n != 1 {
		t.Fatalf("after the sweep: A known %v, %d clients", known, n)
	}
}

// More clients than maxClients within one window: the table does not grow
// without bound, and clients with a session keep their count.
func TestTableBoundedMemory(t *testing.T) {
	var tb Table
	l := Limits{Total: 10, PerClient: 1, Rate: 5}
	_, held := tb.Admit(clientA, false, l, t0)
	base := netip.MustParseAddr("10.0.0.0").As4()
	for i := range maxClients + 10 {
		b := base
		b[1], b[2], b[3] = byte(i>>16), byte(i>>8), byte(i)
		_, tk := tb.Admit(Key(netip.AddrFrom4(b)), false, l, t0.Add(2*time.Second))
		tk.Release()
	}
	tb.mu.Lock()
	n := len(tb.clients)
	tb.mu.Unlock()
	if n > maxClients {
		t.Fatalf("%d clients remembered, bound %d", n, maxClients)
	}
	if d, _ := tb.Admit(clientA, false, l, t0.Add(3*time.Second)); d.Verdict != OverClient {
		t.Fatalf("a client's open session was forgotten: %+v", d)
	}
	held.Release()
}

func TestGateQueuesInOrder(t *testing.T) {
	var g Gate
	ctx := context.Background()
	if err := g.Enter(ctx, 1); err != nil {
		t.Fatal(err)
	}
	order := make(chan int, 3)
	for i := range 3 {
		go func() {
			if err := g.Enter(ctx, 1); err != nil {
				t.Error(err)
				return
			}
			order <- i
			g.Leave(1)
		}()
		// Each waiter is queued before the next starts.
		for _, w := g.Load(); w != i+1; _, w = g.Load() {
			time.Sleep(time.Millisecond)
		}
	}
	g.Leave(1)
	for want := range 3 {
		if got := <-order; got != want {
			t.Fatalf("waiter %d got in as number %d", got, want)
		}
	}
	if b, w := g.Load(); b != 0 || w != 0 {
		t.Fatalf("after all left: %d busy, %d waiting", b, w)
	}
}

func TestGateContextEndsWait(t *testing.T) {
	var g Gate
	g.Enter(context.Background(), 2)
	g.Enter(context.Background(), 2)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- g.Enter(ctx, 2) }()
	for _, w := g.Load(); w != 1; _, w = g.Load() {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Enter after cancel: %v", err)
	}
	if b, w := g.Load(); b != 2 || w != 0 {
		t.Fatalf("a cancelled waiter left %d busy, %d waiting", b, w)
	}
	// A raised limit lets the next one in at once.
	if err := g.Enter(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	// A lowered limit: leaving does not hand slots over until below it.
	go func() { done <- g.Enter(context.Background(), 1) }()
	for _, w := g.Load(); w != 1; _, w = g.Load() {
		time.Sleep(time.Millisecond)
	}
	g.Leave(1)
	g.Leave(1)
	if b, w := g.Load(); b != 1 || w != 1 {
		t.Fatalf("limit 1 with one holder left: %d busy, %d waiting", b, w)
	}
	g.Leave(1)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if b, w := g.Load(); b != 1 || w != 0 {
		t.Fatalf("the waiter did not get the slot: %d busy, %d waiting", b, w)
	}
}

func TestCheckFiles(t *testing.T) {
	if err := CheckFiles(1, 1); err != nil {
		t.Errorf("one session: %v", err)
	}
	err := CheckFiles(1<<40, 1)
	if err == nil || !strings.Contains(err.Error(), "raise it (LimitNOFILE=") {
		t.Errorf("an impossible number of sessions: %v", err)
	}
}
