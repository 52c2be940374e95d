// Package ratelimit counts events per key against "N per window" limits
// with the generic cell rate algorithm (GCRA, the leaky bucket as a
// virtual scheduler, ITU-T I.371): one time per key, the theoretical
// arrival time (TAT) of the next event, instead of a log of events. A key
// may spend up to N at once, then earns one back every window/N, and the
// table says exactly when the next one fits: what a refusal needs to tell
// a client when to come back. It knows nothing of mail.
//
// Time comes from the caller, so tests drive it with a controllable
// clock. The table is bounded: keys whose debt is paid hold nothing and
// are swept; when it is full anyway, the key closest to paid is dropped
// (forgetting a debt only ever lets a key send sooner, by less than any
// other key's).
package ratelimit

import (
	"sync"
	"time"
)

// Limit is N events per Window; N <= 0 is no limit.
type Limit struct {
	N      int
	Window time.Duration
}

// interval is the time one event costs.
func (l Limit) interval() time.Duration { return l.Window / time.Duration(l.N) }

// DefaultMaxKeys bounds a table by default.
const DefaultMaxKeys = 100000

// Table is the state of one kind of count. The zero value is ready, with
// DefaultMaxKeys.
type Table struct {
	MaxKeys int

	mu    sync.Mutex
	tat   map[string]time.Time
	swept time.Time
}

// Check reports whether cost more events fit for key at now, and if not,
// how long until they would. It counts nothing: Charge does, once the
// events happened (a message accepted, not merely tried).
func (t *Table) Check(key string, cost int, l Limit, now time.Time) (wait time.Duration, ok bool) {
	if l.N <= 0 || cost <= 0 {
		return 0, true
	}
	if cost > l.N {
		// Never fits: say when the whole window is free again.
		t.mu.Lock()
		tat := t.tat[key]
		t.mu.Unlock()
		return max(tat.Sub(now), 0) + l.Window, false
	}
	t.mu.Lock()
	tat := t.tat[key]
	t.mu.Unlock()
	next := later(tat, now).Add(time.Duration(cost) * l.interval())
	if over := next.Sub(now) - l.Window; over > 0 {
		return over, false
	}
	return 0, true
}

// Charge counts cost events for key at now, whether or not they fit (the
// ones that did not were refused before; a burst between Check and Charge
// by parallel sessions is counted all the same).
func (t *Table) Charge(key string, cost int, l Limit, now time.Time) {
	if l.N <= 0 || cost <= 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tat == nil {
		t.tat = map[string]time.Time{}
	}
	if _, known := t.tat[key]; !known {
		t.makeRoom(now)
	}
	// A debt never grows past what one window can pay: a client that
	// keeps trying while refused is not punished for longer than that.
	next := later(t.tat[key], now).Add(time.Duration(cost) * l.interval())
	if limit := now.Add(2 * l.Window); next.After(limit) {
		next = limit
	}
	t.tat[key] = next
}

// Len is the number of keys with a debt (swept or not yet).
func (t *Table) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.tat)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// makeRoom sweeps paid keys once a minute, or at once when the table is
// full, and drops the key closest to paid if that was not enough.
func (t *Table) makeRoom(now time.Time) {
	maxKeys := t.MaxKeys
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	full := len(t.tat) >= maxKeys
	if !full && now.Sub(t.swept) < time.Minute {
		return
	}
	t.swept = now
	for k, tat := range t.tat {
		if !tat.After(now) {
			delete(t.tat, k)
		}
	}
	if len(t.tat) < maxKeys {
		return
	}
	var victim string
	var least time.Time
	for k, tat := range t.tat {
		if victim == "" || tat.Before(least) {
			victim, least = k, tat
		}
	}
	delete(t.tat, victim)
}
