package connlimit

import (
	"context"
	"sync"
)

// Gate lets at most a limit of holders work at once and queues the others
// in order of arrival, so a burst from many clients waits its turn instead
// of sharing the CPU until everyone is slow (the auth service's password
// hashing). The limit is passed to each call: a reload takes effect as
// holders come and go.
type Gate struct {
	mu      sync.Mutex
	busy    int
	waiting []chan struct{}
}

// Enter waits for a slot until ctx ends; a limit below 1 counts as 1. On
// nil the caller holds a slot and must Leave.
func (g *Gate) Enter(ctx context.Context, limit int) error {
	limit = max(limit, 1)
	g.mu.Lock()
	if g.busy < limit && len(g.waiting) == 0 {
		g.busy++
		g.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	g.waiting = append(g.waiting, ch)
	g.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
	}
	g.mu.Lock()
	for i, w := range g.waiting {
		if w == ch {
			g.waiting = append(g.waiting[:i], g.waiting[i+1:]...)
			g.mu.Unlock()
			return ctx.Err()
		}
	}
	// Handed a slot as the context ended: give it to the next one.
	g.mu.Unlock()
	g.Leave(limit)
	return ctx.Err()
}

// Leave gives a slot back and hands free slots to the longest waiting.
func (g *Gate) Leave(limit int) {
	limit = max(limit, 1)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.busy--
	for g.busy < limit && len(g.waiting) > 0 {
		g.busy++
		close(g.waiting[0])
		g.waiting = g.waiting[1:]
	}
}

// Load is the number of holders and of waiters now.
func (g *Gate) Load() (busy, waiting int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.busy, len(g.waiting)
}
