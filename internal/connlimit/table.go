package connlimit

import (
	"net/netip"
	"sync"
	"time"
)

// Window is the rate limit's time unit: Rate connections per client per
// minute (Postfix's anvil_rate_time_unit). A client's window starts with
// its first connection and a new one with its first connection after that
// window has ended.
const Window = time.Minute

// maxClients bounds the clients remembered only for their rate (no session
// open). Past it a sweep forgets the stale ones, and if every one is still
// live in its window, the rate counts of clients without a session are
// forgotten: a flood from that many addresses meets the budget instead.
const maxClients = 1 << 16

// Table counts the sessions of one budget and of each client in it, and
// each client's connections per Window. It is safe for concurrent use.
// The limits are passed to each Admit, so a reload applies at once to new
// connections without losing the counts.
type Table struct {
	mu       sync.Mutex
	sessions int
	clients  map[netip.Prefix]*client
	swept    time.Time
}

type client struct {
	sessions   int
	start      time.Time // of the rate window
	attempts   int       // connections in the window, refused ones included
	reported   time.Time // the last refusal that was logged
	unreported int       // refusals since then that were not
}

// Decision is Admit's answer with the counts, for the log.
type Decision struct {
	Verdict
	Sessions int // of the budget, the new one included when admitted
	Client   int // of the client, likewise
	Attempts int // the client's connections in this window, this one included
	// Report: log this refusal. A client's first refusal in a Window is
	// reported, the ones after it only counted (Unreported, given with
	// the next report), so a flood cannot flood the log too.
	Report     bool
	Unreported int
}

// Ticket is one admitted session; Release gives its place back.
type Ticket struct {
	t    *Table
	key  netip.Prefix
	once sync.Once
}

// Release ends the session's count; calls after the first do nothing.
func (tk *Ticket) Release() {
	if tk == nil {
		return
	}
	tk.once.Do(func() { tk.t.release(tk.key) })
}

// Admit decides on one connection from key and, if it is admitted, counts
// it until the Ticket is released. Every connection counts toward the
// client's rate, admitted or not: a client that reconnects as soon as it
// is refused stays refused until its window ends (as with anvil).
func (t *Table) Admit(key netip.Prefix, exempt bool, l Limits, now time.Time) (Decision, *Ticket) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.clients == nil {
		t.clients = make(map[netip.Prefix]*client)
		t.swept = now
	}
	if now.Sub(t.swept) >= Window || len(t.clients) >= maxClients && now.Sub(t.swept) >= time.Second {
		t.sweep(now)
	}
	c := t.clients[key]
	if c == nil {
		c = &client{start: now}
		t.clients[key] = c
	}
	if now.Sub(c.start) >= Window || now.Before(c.start) {
		c.start, c.attempts = now, 0
	}
	c.attempts++
	d := Decision{Sessions: t.sessions, Client: c.sessions, Attempts: c.attempts}
	d.Verdict = Decide(Facts{Sessions: t.sessions, Client: c.sessions, Attempts: c.attempts, Exempt: exempt}, l)
	if d.Verdict != Admit {
		if c.reported.IsZero() || now.Sub(c.reported) >= Window || now.Before(c.reported) {
			d.Report, d.Unreported = true, c.unreported
			c.reported, c.unreported = now, 0
		} else {
			c.unreported++
		}
		return d, nil
	}
	t.sessions++
	c.sessions++
	d.Sessions, d.Client = t.sessions, c.sessions
	return d, &Ticket{t: t, key: key}
}

func (t *Table) release(key netip.Prefix) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sessions--
	if c := t.clients[key]; c != nil {
		c.sessions--
	}
}

// Sessions is the number of admitted sessions not yet released.
func (t *Table) Sessions() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sessions
}

// Client is the number of sessions key holds now.
func (t *Table) Client(key netip.Prefix) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c := t.clients[key]; c != nil {
		return c.sessions
	}
	return 0
}

// sweep forgets clients with no session whose window and last report are
// over; if too many are left, every client without a session.
func (t *Table) sweep(now time.Time) {
	t.swept = now
	stale := func(c *client) bool {
		return c.sessions == 0 && now.Sub(c.start) >= Window && (c.reported.IsZero() || now.Sub(c.reported) >= Window)
	}
	for k, c := range t.clients {
		if stale(c) {
			delete(t.clients, k)
		}
	}
	if len(t.clients) >= maxClients {
		for k, c := range t.clients {
			if c.sessions == 0 {
				delete(t.clients, k)
			}
		}
	}
}
