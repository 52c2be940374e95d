package remote

import (
	"context"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"goqmail/internal/route"
)

func TestDeliverFallsBackToNextMX(t *testing.T) {
	// mx1: nothing listens. mx2: 421 greeting. mx3: refuses EHLO and HELO.
	// mx4: 554 greeting. mx5: takes the mail. mx6 must never be reached.
	refuse := func(s *session) {
		s.send("220 hi")
		for {
			l, err := s.line()
			if err != nil {
				return
			}
			if strings.HasPrefix(l, "QUIT") {
				s.send("221 bye")
				return
			}
			s.send("550 5.7.1 go away")
		}
	}
	greet := func(reply string) func(*session) {
		return func(s *session) { s.send(reply); s.line() }
	}
	peers := startPeers(t, []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6", "127.0.0.7"},
		greet("unused"), greet("421 4.3.2 busy"), refuse, greet("554 5.7.1 no service"), server{}.serve, server{}.serve)
	peers[0].ln.Close() // connection refused
	dns := mxDNS("dest.test", peers...)
	c := newClient(t, dns, peers[0].addr.Port())
	res := c.Deliver(context.Background(), job("dest.test", "hello\n", "a"))
	if codes(res) != "K" || res[0].Host != peers[4].addr.String() {
		t.Fatalf("%+v", res)
	}
	for i, want := range []int{0, 1, 1, 1, 1, 0} {
		if got := peers[i].conns(); got != want {
			t.Errorf("mx%d: %d connections, want %d", i+1, got, want)
		}
	}
	// Everything fails: the deferral names what happened on the last host
	// that answered.
	c2 := newClient(t, mxDNS("dest.test", peers[:4]...), peers[0].addr.Port())
	res = c2.Deliver(context.Background(), job("dest.test", "hello\n", "a"))
	if codes(res) != "Z" || !strings.Contains(res[0].Text, "greeting failed./Remote host said: 554 5.7.1 no service") {
		t.Fatalf("%+v", res)
	}
	c3 := newClient(t, mxDNS("dest.test", peers[0]), peers[0].addr.Port())
	res = c3.Deliver(context.Background(), job("dest.test", "hello\n", "a"))
	if codes(res) != "Z" || !strings.Contains(res[0].Text, "wasn't able to establish an SMTP connection") || !strings.Contains(res[0].Text, "#4.4.1") {
		t.Fatalf("%+v", res)
	}
}

// timeoutDialer fails dials to some addresses with a timeout, without
// waiting, and counts every dial.
type timeoutDialer struct {
	mu    sync.Mutex
	dead  map[string]bool
	dials map[string]int
}

type fakeTimeout struct{}

func (fakeTimeout) Error() string   { return "i/o timeout" }
func (fakeTimeout) Timeout() bool   { return true }
func (fakeTimeout) Temporary() bool { return true }

func (d *timeoutDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, _ := net.SplitHostPort(addr)
	d.mu.Lock()
	d.dials[host]++
	dead := d.dead[host]
	d.mu.Unlock()
	if dead {
		return nil, &net.OpError{Op: "dial", Net: network, Err: fakeTimeout{}}
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}

func TestDeliverSkipsDeadHosts(t *testing.T) {
	peers := startPeers(t, []string{"127.0.0.2", "127.0.0.3"}, server{}.serve, server{}.serve)
	clock := time.Unix(1_700_000_000, 0)
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	d := &timeoutDialer{dead: map[string]bool{"127.0.0.2": true}, dials: map[string]int{}}
	c := newClient(t, mxDNS("dest.test", peers...), peers[0].addr.Port())
	c.Dial = d.dial
	c.Dead = route.NewDeadHosts(now, 0)
	for i := range 4 {
		res := c.Deliver(context.Background(), job("dest.test", "x\n", "a"))
		if codes(res) != "K" || res[0].Host != peers[1].addr.String() {
			t.Fatalf("delivery %d: %+v", i, res)
		}
		advance(130 * time.Second)
	}
	// Two counted timeouts mark mx1 dead; deliveries 3 and 4 skip it.
	if d.dials["127.0.0.2"] != 2 || d.dials["127.0.0.3"] != 4 {
		t.Errorf("dials %v, want mx1 twice then skipped", d.dials)
	}
	// When every host is dead, they are tried anyway.
	d.dead["127.0.0.3"] = true
	c.Deliver(context.Background(), job("dest.test", "x\n", "a"))
	advance(130 * time.Second)
	c.Deliver(context.Background(), job("dest.test", "x\n", "a"))
	d.dead = map[string]bool{}
	res := c.Deliver(context.Background(), job("dest.test", "x\n", "a"))
	if codes(res) != "K" || res[0].Host != peers[0].addr.String() {
		t.Fatalf("all dead, then mx1 back: %+v (dials %v)", res, d.dials)
	}
	if !c.Dead.Dead(netip.MustParseAddr("127.0.0.3")) || c.Dead.Dead(netip.MustParseAddr("127.0.0.2")) {
		t.Error("success did not clear mx1, or mx2 not dead")
	}
}

func TestDeliverContextEndsDelivery(t *testing.T) {
	hang := func(s *session) { io.Copy(io.Discard, s.br) }
	p := startPeer(t, "127.0.0.2", 0, hang)
	c := newClient(t, mxDNS("dest.test", p), p.addr.Port())
	c.ReplyTimeout = 10 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	res := c.Deliver(ctx, job("dest.test", "x\n", "a"))
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %v after the context ended", el)
	}
	if codes(res) != "Z" {
		t.Fatalf("%+v", res)
	}
}
