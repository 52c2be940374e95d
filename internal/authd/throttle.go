package authd

import (
	"sync"
	"time"
)

// Failed logins are slowed per remote address and per account: before a
// failure is answered the service sleeps min(2^n * 100ms, 10s), n being
// the larger of the two failure counts so far. A counter is forgotten 15
// minutes after its last failure. Only failures sleep, so a right password
// is never delayed by someone else's guessing beyond its own request.
const (
	baseDelay     = 100 * time.Millisecond
	maxDelay      = 10 * time.Second
	failureMemory = 15 * time.Minute
	maxCounters   = 100000 // bound on memory; beyond it, stale counters are pruned
)

type counter struct {
	n    int
	last time.Time
}

// throttle counts failures in memory: a restart forgets them, which is
// acceptable for slowing guesses (the counters decay anyway).
type throttle struct {
	mu sync.Mutex
	m  map[string]*counter
}

func newThrottle() *throttle { return &throttle{m: map[string]*counter{}} }

// failure records one failure under each key and returns the largest
// count each key had before it.
func (t *throttle) failure(now time.Time, keys ...string) (before int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.m) >= maxCounters {
		t.prune(now)
	}
	for _, k := range keys {
		c := t.m[k]
		if c == nil || now.Sub(c.last) >= failureMemory {
			c = &counter{}
			t.m[k] = c
		}
		if c.n > before {
			before = c.n
		}
		c.n++
		c.last = now
	}
	return before
}

// count is the live failure count of key.
func (t *throttle) count(now time.Time, key string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.m[key]
	if c == nil || now.Sub(c.last) >= failureMemory {
		return 0
	}
	return c.n
}

// success forgets key (the account's counter: its owner knows the
// password). The address's counter is kept: one good account must not
// let an address reset its guessing at others.
func (t *throttle) success(key string) {
	t.mu.Lock()
	delete(t.m, key)
	t.mu.Unlock()
}

func (t *throttle) prune(now time.Time) {
	for k, c := range t.m {
		if now.Sub(c.last) >= failureMemory {
			delete(t.m, k)
		}
	}
	if len(t.m) >= maxCounters { // all live: start over rather than grow
		t.m = map[string]*counter{}
	}
}

// failureDelay is min(2^n * 100ms, 10s).
func failureDelay(n int) time.Duration {
	if n >= 7 { // 2^7 * 100ms > 10s
		return maxDelay
	}
	return min(baseDelay<<n, maxDelay)
}
