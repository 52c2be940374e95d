package remote

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestConnectionReuse(t *testing.T) {
	p := startPeer(t, "127.0.0.2", 0, server{}.serve)
	c := newClient(t, mxDNS("dest.test", p), p.addr.Port())
	c.IdleTimeout = 150 * time.Millisecond
	for i := range 3 {
		if res := c.Deliver(context.Background(), job("dest.test", "x\n", "a")); codes(res) != "K" {
			t.Fatalf("delivery %d: %+v", i, res)
		}
	}
	if p.conns() != 1 {
		t.Fatalf("%d connections for a burst of 3, want 1", p.conns())
	}
	if open, idle := c.pool.counts(p.addr); open != 1 || idle != 1 {
		t.Errorf("pool: %d open %d idle, want 1 1", open, idle)
	}
	raw := p.received()
	if strings.Count(raw, "RSET\r\n") != 2 || strings.Count(raw, "EHLO") != 1 {
		t.Errorf("want one EHLO and an RSET before each reuse:\n%s", raw)
	}
	// After the idle timeout the connection is closed with QUIT.
	time.Sleep(300 * time.Millisecond)
	p.settle()
	if !strings.HasSuffix(p.received(), "QUIT\r\n") {
		t.Errorf("idle connection not closed with QUIT:\n%s", p.received())
	}
	if open, idle := c.pool.counts(p.addr); open != 0 || idle != 0 {
		t.Errorf("pool after idle timeout: %d open %d idle", open, idle)
	}
	// The next delivery opens a new connection.
	if res := c.Deliver(context.Background(), job("dest.test", "x\n", "a")); codes(res) != "K" || p.conns() != 2 {
		t.Fatalf("%+v, %d connections", res, p.conns())
	}
}

func TestConnectionReuseSurvivesPeerClose(t *testing.T) {
	// The peer closes after each message: the idle connection's RSET
	// fails and the client reconnects without losing the delivery.
	p := startPeer(t, "127.0.0.2", 0, func(s *session) {
		if s.n == 0 {
			// End the first session shortly after its message.
			go func() {
				for len(s.p.messages()) == 0 {
					time.Sleep(5 * time.Millisecond)
				}
				time.Sleep(20 * time.Millisecond)
				s.nc.Close()
			}()
		}
		server{}.serve(s)
	})
	c := newClient(t, mxDNS("dest.test", p), p.addr.Port())
	c.IdleTimeout = 10 * time.Second
	if res := c.Deliver(context.Background(), job("dest.test", "x\n", "a")); codes(res) != "K" {
		t.Fatal(res)
	}
	time.Sleep(100 * time.Millisecond)
	if res := c.Deliver(context.Background(), job("dest.test", "x\n", "a")); codes(res) != "K" {
		t.Fatalf("after the peer closed the idle connection: %+v", res)
	}
	if p.conns() != 2 {
		t.Errorf("%d connections, want 2", p.conns())
	}
}

// countingConn tracks how many client connections are open at once.
type countingConn struct {
	net.Conn
	once  sync.Once
	count *connCounter
}

type connCounter struct {
	mu        sync.Mutex
	open, max int
}

func (c *countingConn) Close() error {
	c.once.Do(func() {
		c.count.mu.Lock()
		c.count.open--
		c.count.mu.Unlock()
	})
	return c.Conn.Close()
}

func (cc *connCounter) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	cc.mu.Lock()
	cc.open++
	cc.max = max(cc.max, cc.open)
	cc.mu.Unlock()
	return &countingConn{Conn: nc, count: cc}, nil
}

func TestPerDestinationLimit(t *testing.T) {
	p := startPeer(t, "127.0.0.2", 0, func(s *session) {
		time.Sleep(30 * time.Millisecond) // hold the slot a while
		server{}.serve(s)
	})
	for _, idle := range []time.Duration{-1, time.Second} {
		cc := &connCounter{}
		c := newClient(t, mxDNS("dest.test", p), p.addr.Port())
		c.MaxPerDest = 2
		c.IdleTimeout = idle
		c.Dial = cc.dial
		results := make([]string, 6)
		var wg sync.WaitGroup
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = codes(c.Deliver(context.Background(), job("dest.test", "x\n", "a")))
			}()
		}
		wg.Wait()
		if strings.Join(results, "") != "KKKKKK" {
			t.Fatalf("%v", results)
		}
		if cc.max != 2 {
			t.Errorf("idle %v: at most %d connections at once, want the limit 2 reached and kept", idle, cc.max)
		}
	}
	if len(p.messages()) != 12 {
		t.Errorf("%d messages", len(p.messages()))
	}
}

func TestPoolWaitEndsWithContext(t *testing.T) {
	pl := newPool(1, 0)
	key := connKey{addr: mustAddrPort("127.0.0.9:25")}
	if cn, err := pl.acquire(context.Background(), key); cn != nil || err != nil {
		t.Fatal(cn, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := pl.acquire(ctx, key); err == nil {
		t.Fatal("second slot granted over the limit")
	}
	pl.releaseSlot(key.addr)
	if cn, err := pl.acquire(context.Background(), key); cn != nil || err != nil {
		t.Fatal("slot not given back", err)
	}
}
