package remote

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"

	"goqmail/internal/route"
	"goqmail/internal/route/dnstest"
)

// TestDeliverOverRealDNS runs the whole path through the real resolver
// and a DNS server on loopback: MX order and fallback, A fallback, AAAA,
// CNAME, null MX, NXDOMAIN, SERVFAIL and the "best MX is me" check.
func TestDeliverOverRealDNS(t *testing.T) {
	peers := startPeers(t, []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}, server{}.serve, server{}.serve, server{}.serve)
	peers[0].ln.Close() // the best MX refuses connections
	port := peers[0].addr.Port()
	zone := `
e2e.test.        60 IN MX 10 mx1.e2e.test.
e2e.test.        60 IN MX 20 mx2.e2e.test.
mx1.e2e.test.    60 IN A 127.0.0.2
mx2.e2e.test.    60 IN A 127.0.0.3
plain.test.      60 IN A 127.0.0.4
alias.test.      60 IN CNAME e2e.test.
null.test.       60 IN MX 0 .
broken.test.     60 IN MX 10 mx1.e2e.test.
me.test.         60 IN MX 10 self.me.test.
me.test.         60 IN MX 20 mx2.e2e.test.
self.me.test.    60 IN A 192.0.2.1
worse.test.      60 IN MX 5 mx2.e2e.test.
worse.test.      60 IN MX 50 self.me.test.
v6.test.         60 IN MX 10 mx6.v6.test.
mx6.v6.test.     60 IN AAAA ::1
`
	srv := dnstest.Start(t, zone)
	srv.ServFail("broken.test.")
	c := newClient(t, route.NewDNS(srv.Addr), port)
	c.LocalAddrs = []netip.Addr{netip.MustParseAddr("192.0.2.1")}
	for _, tc := range []struct {
		domain, want, text string
		host               *peer
	}{
		{"e2e.test", "K", "accepted message", peers[1]},
		{"alias.test", "K", "accepted message", peers[1]},
		{"plain.test", "K", "accepted message", peers[2]},
		{"worse.test", "K", "accepted message", peers[1]},
		{"null.test", "D", "#5.1.10", nil},
		{"nxdomain.test", "D", "couldn't find any host named nxdomain.test", nil},
		{"broken.test", "Z", "#4.4.3", nil},
		{"me.test", "D", "#5.4.6", nil},
	} {
		res := c.Deliver(context.Background(), job(tc.domain, "x\n", "a"))
		if codes(res) != tc.want || !strings.Contains(res[0].Text, tc.text) {
			t.Errorf("%s: %+v", tc.domain, res)
			continue
		}
		if tc.host != nil && res[0].Host != tc.host.addr.String() {
			t.Errorf("%s: delivered by %s, want %s", tc.domain, res[0].Host, tc.host.addr)
		}
	}
	// IPv6, where loopback has it.
	ln, err := net.Listen("tcp", net.JoinHostPort("::1", "0"))
	if err != nil {
		t.Logf("no IPv6 loopback: %v", err)
		return
	}
	ln.Close()
	p6 := startPeer(t, "::1", 0, server{}.serve)
	c6 := newClient(t, route.NewDNS(srv.Addr), p6.addr.Port())
	res := c6.Deliver(context.Background(), job("v6.test", "x\n", "a"))
	if codes(res) != "K" || res[0].Host != p6.addr.String() {
		t.Errorf("IPv6: %+v", res)
	}
	res = c6.Deliver(context.Background(), job("[IPv6:::1]", "x\n", "a@[IPv6:::1]"))
	if codes(res) != "K" || !strings.Contains(p6.received(), "RCPT TO:<a@[IPv6:::1]>") {
		t.Errorf("IPv6 literal: %+v", res)
	}
}
