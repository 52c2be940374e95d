package route

import (
	"net/netip"
	"sync"
	"time"
)

// qmail's tcpto constants (tcpto.c, qmail.md 1.8).
const (
	deadSlots     = 64                // records in lock/tcpto
	deadMaxCount  = 10                // failure count saturates here
	deadMinGap    = 120 * time.Second // timeouts closer together count once
	deadThreshold = 2                 // skip a host after this many counted timeouts
)

// DeadHosts remembers hosts whose connect timed out recently, like qmail's
// tcpto table, so a delivery does not wait out another connect timeout on
// a host that is down while a working MX is listed.
//
// qmail keeps the table in lock/tcpto, shared by every qmail-remote; ours
// lives in the memory of the one remote-delivery process, so it is empty
// after a restart (it is only a hint). The rules are qmail's: a timeout
// counts only if 120 s have passed since the last counted one, the count
// saturates at 10, a host is skipped once it has 2 counted timeouts and
// the last one is younger than (60 + jitter) << 6 seconds (jitter in
// 0..31, qmail uses pid & 31: 64 to 97 minutes), a successful connect
// clears the entry, and a full table evicts the entry with the oldest
// time + count*1024 s. Safe for concurrent use.
type DeadHosts struct {
	mu      sync.Mutex
	now     func() time.Time
	horizon time.Duration
	byAddr  map[netip.Addr]deadEntry
}

type deadEntry struct {
	count int
	last  time.Time
}

// NewDeadHosts returns an empty table. now is the clock (time.Now when
// nil); jitter (taken mod 32) stands in for qmail's pid & 31.
func NewDeadHosts(now func() time.Time, jitter int) *DeadHosts {
	if now == nil {
		now = time.Now
	}
	j := jitter & 31
	return &DeadHosts{now: now, horizon: time.Duration(60+j) << 6 * time.Second, byAddr: make(map[netip.Addr]deadEntry)}
}

// Dead reports whether ip should be skipped.
func (d *DeadHosts) Dead(ip netip.Addr) bool {
	if d == nil {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.byAddr[ip.Unmap()]
	return ok && e.count >= deadThreshold && d.now().Sub(e.last) < d.horizon
}

// Timeout records that a connect to ip timed out (qmail tcpto_err with
// flagerr 1). Other connect failures, such as a refused connection, are
// not recorded: they come back fast.
func (d *DeadHosts) Timeout(ip netip.Addr) {
	if d == nil {
		return
	}
	ip = ip.Unmap()
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	e, ok := d.byAddr[ip]
	if ok {
		if now.Sub(e.last) >= deadMinGap {
			e.count = min(e.count+1, deadMaxCount)
			e.last = now
		}
		d.byAddr[ip] = e
		return
	}
	if len(d.byAddr) >= deadSlots {
		d.evict()
	}
	d.byAddr[ip] = deadEntry{count: 1, last: now}
}

// evict drops the entry qmail would overwrite: the oldest time + count*1024.
func (d *DeadHosts) evict() {
	var victim netip.Addr
	var worst time.Time
	first := true
	for ip, e := range d.byAddr {
		score := e.last.Add(time.Duration(e.count) * 1024 * time.Second)
		if first || score.Before(worst) {
			victim, worst, first = ip, score, false
		}
	}
	delete(d.byAddr, victim)
}

// Success clears ip after a successful connect (tcpto_err with flagerr 0).
func (d *DeadHosts) Success(ip netip.Addr) {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.byAddr, ip.Unmap())
}

// Filter returns targets without the dead ones, in the same order, unless
// that would leave nothing: when every target is dead they are all tried,
// since a host that was down an hour ago may be up now and there is no
// better choice. qmail skips dead hosts even then; we prefer trying.
func (d *DeadHosts) Filter(targets []Target) []Target {
	if d == nil {
		return targets
	}
	live := make([]Target, 0, len(targets))
	for _, t := range targets {
		if !d.Dead(t.Addr) {
			live = append(live, t)
		}
	}
	if len(live) == 0 {
		return targets
	}
	return live
}
