package remote

import (
	"context"
	"net/netip"
	"sync"
	"time"
)

// Connection reuse limits beyond the idle timeout: a connection is retired
// after this many transactions or this age, so one long burst does not
// pin a peer forever (Postfix's smtp_connection_reuse_* limits).
const (
	maxUses = 100
	maxAge  = 5 * time.Minute
)

// connKey says which deliveries may share a connection: the same address
// and port, and the same security state (verified for the same name,
// authenticated as the same user, plaintext by fallback or not).
type connKey struct {
	addr       netip.AddrPort
	verifyName string
	security   string // "dane", "webpki", "tls" (required, unauthenticated) or "" (opportunistic)
	user       string
	plain      bool
}

// pool holds idle connections and counts open ones per destination
// address and port, the unit of the per-destination concurrency limit.
// Idle connections count as open: a slot is freed by closing one.
type pool struct {
	mu    sync.Mutex
	max   int
	idle  time.Duration // 0: no reuse
	dests map[netip.AddrPort]*dest
	done  bool
}

type dest struct {
	open int
	idle []*idleConn
	wake chan struct{} // closed and replaced whenever a slot or an idle connection appears
}

type idleConn struct {
	c     *conn
	timer *time.Timer
}

func newPool(max int, idle time.Duration) *pool {
	return &pool{max: max, idle: idle, dests: map[netip.AddrPort]*dest{}}
}

func (p *pool) dest(a netip.AddrPort) *dest {
	d := p.dests[a]
	if d == nil {
		d = &dest{wake: make(chan struct{})}
		p.dests[a] = d
	}
	return d
}

func (d *dest) signal() {
	close(d.wake)
	d.wake = make(chan struct{})
}

// acquire returns an idle connection for key, or nil with a slot reserved
// for a new connection the caller dials (and gives back with release or
// releaseSlot). When the destination is at its limit it closes an idle
// connection that does not fit key, or waits for a slot until ctx ends.
func (p *pool) acquire(ctx context.Context, key connKey) (*conn, error) {
	for {
		p.mu.Lock()
		d := p.dest(key.addr)
		for i, ic := range d.idle {
			if ic.c.key == key {
				d.idle = append(d.idle[:i], d.idle[i+1:]...)
				ic.timer.Stop()
				p.mu.Unlock()
				return ic.c, nil
			}
		}
		if d.open < p.max {
			d.open++
			p.mu.Unlock()
			return nil, nil
		}
		if len(d.idle) > 0 { // full, but an idle connection of another kind can go
			ic := d.idle[0]
			d.idle = d.idle[1:]
			ic.timer.Stop()
			p.mu.Unlock()
			ic.c.close()
			return nil, nil // its slot is now ours
		}
		wake := d.wake
		p.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// release takes a connection back after a delivery: kept idle when it is
// in step and young enough, closed otherwise.
func (p *pool) release(c *conn) {
	c.uses++
	c.ctx = context.Background()
	p.mu.Lock()
	d := p.dest(c.key.addr)
	if !c.broken && !p.done && p.idle > 0 && c.uses < maxUses && time.Since(c.born) < maxAge {
		ic := &idleConn{c: c}
		ic.timer = time.AfterFunc(p.idle, func() { p.expire(ic) })
		d.idle = append(d.idle, ic)
		d.signal()
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	c.close() // before the slot is free, so the limit holds at every moment
	p.releaseSlot(c.key.addr)
}

// releaseSlot gives back a slot whose dial or setup failed.
func (p *pool) releaseSlot(a netip.AddrPort) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.freeLocked(a, p.dest(a))
}

func (p *pool) freeLocked(a netip.AddrPort, d *dest) {
	d.open--
	d.signal()
	if d.open <= 0 {
		delete(p.dests, a)
	}
}

// expire closes an idle connection whose idle time is up, unless a
// delivery took it meanwhile.
func (p *pool) expire(ic *idleConn) {
	p.mu.Lock()
	a := ic.c.key.addr
	found := false
	if d := p.dests[a]; d != nil {
		for i, x := range d.idle {
			if x == ic {
				d.idle = append(d.idle[:i], d.idle[i+1:]...)
				found = true
				break
			}
		}
	}
	p.mu.Unlock()
	if found {
		ic.c.close()
		p.releaseSlot(a)
	}
}

// closeIdle closes every idle connection and stops keeping new ones.
func (p *pool) closeIdle() {
	p.mu.Lock()
	p.done = true
	var all []*idleConn
	for _, d := range p.dests {
		for _, ic := range d.idle {
			ic.timer.Stop()
			all = append(all, ic)
		}
		d.idle = nil
	}
	p.mu.Unlock()
	for _, ic := range all {
		ic.c.close()
		p.releaseSlot(ic.c.key.addr)
	}
}

// counts reports open and idle connections to a, for tests and status.
func (p *pool) counts(a netip.AddrPort) (open, idle int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if d := p.dests[a]; d != nil {
		return d.open, len(d.idle)
	}
	return 0, 0
}
