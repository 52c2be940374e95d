// Package connlimit decides whether a server takes one more connection:
// a budget of sessions per kind of listener, a concurrency limit and a
// connection-rate limit per client address (Postfix's anvil, tcpserver's
// -c with the per-IP limits sites patched in), and the "stress" that
// shrinks timeouts when a budget is nearly used up (Postfix's stress
// mode). It knows nothing of mail: smtpd, pop3d and the auth service use
// it alike.
//
// The decision is a pure function of counts (Decide, Stressed), tested
// with tables; Table keeps the counts behind a mutex and Gate queues work
// for a bounded number of slots.
package connlimit

import "net/netip"

// IPv6Prefix is how much of an IPv6 address names one client. A /64 is
// what one customer, one host or one VPN endpoint is normally given (RFC
// 6177): counting single addresses would let one machine take its own
// 2^64 addresses in turn. IPv4 addresses count one by one.
const IPv6Prefix = 64

// Key is the client a connection from ip counts against: the address
// itself for IPv4 (an IPv4-mapped IPv6 address is its IPv4 address), its
// /64 for IPv6. An invalid address is the zero Prefix, one key for all
// connections that have no IP (a Unix socket, a test).
func Key(ip netip.Addr) netip.Prefix {
	if !ip.IsValid() {
		return netip.Prefix{}
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		return netip.PrefixFrom(ip, 32)
	}
	p, _ := ip.Prefix(IPv6Prefix)
	return p
}

// Limits are one budget. A zero field is no limit of that kind; settings
// that may be zero say so in their declaration (docs/control.md).
type Limits struct {
	Total     int // sessions of this budget at once
	PerClient int // sessions of one client (Key) at once
	Rate      int // connections of one client per Window
}

// Facts are the counts when a connection arrives.
type Facts struct {
	Sessions int  // sessions of the budget, not counting this one
	Client   int  // sessions of this client, not counting this one
	Attempts int  // connections of this client in the current window, this one included
	Exempt   bool // the client is trusted (tcp.smtp RELAYCLIENT): no per-client limits
}

// Verdict is the answer to one connection.
type Verdict int

const (
	Admit      Verdict = iota
	OverTotal          // the budget is used up: everyone waits
	OverClient         // this client has PerClient sessions already
	OverRate           // this client connected Rate times in this window already
)

var verdictNames = [...]string{"admitted", "over the total", "over the per-client limit", "over the rate limit"}

func (v Verdict) String() string {
	if v < 0 || int(v) >= len(verdictNames) {
		return "verdict?"
	}
	return verdictNames[v]
}

// Decide answers one connection. The budget comes first: when it is used
// up nobody gets in, trusted or not, since it bounds the process's memory
// and descriptors. A trusted client is spared the per-client limits only
// (Postfix exempts $mynetworks from anvil's limits the same way). The rate
// comes before the concurrency so that a client hammering at a full
// allowance is told the reason that lasts.
func Decide(f Facts, l Limits) Verdict {
	switch {
	case l.Total > 0 && f.Sessions >= l.Total:
		return OverTotal
	case f.Exempt:
		return Admit
	case l.Rate > 0 && f.Attempts > l.Rate:
		return OverRate
	case l.PerClient > 0 && f.Client >= l.PerClient:
		return OverClient
	}
	return Admit
}

// Stressed says whether a budget of total with sessions in use is under
// stress: the server then shortens its timeouts (Postfix's stress mode,
// which starts when every smtpd process is busy; starting at percent of
// the budget leaves room for the clients the short timeouts let in).
// Stress starts when sessions reach percent of total and, once on (was),
// lasts until they fall below nine tenths of that, so a count that hovers
// at the threshold does not switch the timeouts (and the log) back and
// forth with every connection. No budget or no percent, no stress.
func Stressed(sessions, total, percent int, was bool) bool {
	if total <= 0 || percent <= 0 {
		return false
	}
	if was {
		return sessions*1000 >= total*percent*9
	}
	return sessions*100 >= total*percent
}
