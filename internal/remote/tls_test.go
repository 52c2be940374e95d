package remote

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"

	"goqmail/internal/route"
)

// tlsDNS names the MX of domain mx1.<domain>; the test certificate is
// valid for mx1.tls.test only.
func tlsClient(t *testing.T, domain string, peers ...*peer) *Client {
	c := newClient(t, mxDNS(domain, peers...), peers[0].addr.Port())
	c.TLSConfig = &tls.Config{RootCAs: getPKI(t).roots}
	return c
}

func TestDeliverOpportunisticTLS(t *testing.T) {
	p := startPeer(t, "127.0.0.2", 0, server{tls: getPKI(t).server}.serve)
	c := newClient(t, mxDNS("other.test", p), p.addr.Port()) // no roots: the certificate is not trusted, and need not be
	res := c.Deliver(context.Background(), job("other.test", "secret\n", "a"))
	if codes(res) != "K" {
		t.Fatalf("%+v", res)
	}
	m := p.messages()
	if len(m) != 1 || !m[0].tls {
		t.Fatalf("not sent over TLS: %+v", m)
	}
	raw := p.received()
	if strings.Count(raw, "EHLO client.test\r\n") != 2 || !strings.Contains(raw, "STARTTLS\r\nEHLO") {
		t.Errorf("EHLO not repeated after STARTTLS:\n%s", raw)
	}
}

func TestDeliverRequireTLS(t *testing.T) {
	pk := getPKI(t)
	for _, tc := range []struct {
		name, domain string
		sv           server
		want, text   string
	}{
		{"verified", "tls.test", server{tls: pk.server}, "K", "accepted message"},
		{"wrong name", "other.test", server{tls: pk.server}, "Z", "#4.7.5"},
		{"no STARTTLS", "tls.test", server{}, "Z", "TLS is required"},
		{"STARTTLS refused", "tls.test", server{tls: pk.server, ext: []string{"PIPELINING"}}, "Z", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sv := tc.sv
			if tc.name == "STARTTLS refused" {
				// Offers STARTTLS but answers it with 454.
				p := startPeer(t, "127.0.0.2", 0, func(s *session) {
					s.send("220 hi")
					for {
						l, err := s.line()
						if err != nil {
							return
						}
						switch {
						case strings.HasPrefix(l, "EHLO"):
							s.send("250-hi", "250 STARTTLS")
						case l == "STARTTLS":
							s.send("454 4.7.0 TLS not available")
						default:
							s.send("250 ok")
						}
					}
				})
				c := tlsClient(t, tc.domain, p)
				j := job(tc.domain, "x\n", "a")
				j.RequireTLS = true
				res := c.Deliver(context.Background(), j)
				if codes(res) != "Z" || !strings.Contains(res[0].Text, "refused STARTTLS") || strings.Contains(p.received(), "MAIL") {
					t.Fatalf("%+v", res)
				}
				return
			}
			p := startPeer(t, "127.0.0.2", 0, sv.serve)
			c := tlsClient(t, tc.domain, p)
			j := job(tc.domain, "x\n", "a")
			j.RequireTLS = true
			res := c.Deliver(context.Background(), j)
			if codes(res) != tc.want || !strings.Contains(res[0].Text, tc.text) {
				t.Fatalf("%+v", res)
			}
			if tc.want != "K" {
				if strings.Contains(p.received(), "MAIL") {
					t.Error("MAIL sent although TLS could not be verified")
				}
				if p.conns() != 1 {
					t.Errorf("%d connections: a required-TLS failure must not fall back to plaintext", p.conns())
				}
			}
		})
	}
}

// A peer whose STARTTLS is broken: the client tries the next MX first and
// this host again in plaintext last.
func TestDeliverTLSFailureFallback(t *testing.T) {
	brokenTLS := func(inject string) func(*session) {
		return func(s *session) {
			s.send("220 hi")
			for {
				l, err := s.line()
				if err != nil {
					return
				}
				switch {
				case strings.HasPrefix(l, "EHLO"):
					s.send("250-hi", "250-PIPELINING", "250 STARTTLS")
				case l == "STARTTLS":
					s.nc.Write([]byte("220 ready\r\n" + inject))
					if inject == "" {
						s.nc.Write([]byte("this is not TLS\r\n"))
					}
					s.line()
					return
				default:
					s.send("250 ok")
				}
			}
		}
	}
	// plainOK serves normally when the client does not ask for STARTTLS.
	plainOK := func(inject string) func(*session) {
		return func(s *session) {
			if s.n == 0 {
				brokenTLS(inject)(s)
				return
			}
			server{}.serve(s)
		}
	}
	for _, inject := range []string{"", "250-injected\r\n250 PIPELINING\r\n"} {
		name := map[bool]string{true: "handshake garbage", false: "injection after 220"}[inject == ""]
		t.Run(name, func(t *testing.T) {
			peers := startPeers(t, []string{"127.0.0.2", "127.0.0.3"}, plainOK(inject), server{}.serve)
			c := newClient(t, mxDNS("dest.test", peers...), peers[0].addr.Port())
			res := c.Deliver(context.Background(), job("dest.test", "x\n", "a"))
			if codes(res) != "K" || res[0].Host != peers[1].addr.String() {
				t.Fatalf("next MX not used after a TLS failure: %+v", res)
			}
			// Only MX: plaintext retry on the same host.
			p := startPeer(t, "127.0.0.4", 0, plainOK(inject))
			c = newClient(t, mxDNS("dest.test", p), p.addr.Port())
			res = c.Deliver(context.Background(), job("dest.test", "x\n", "a"))
			if codes(res) != "K" || p.conns() != 2 {
				t.Fatalf("no plaintext retry: %+v, %d connections", res, p.conns())
			}
			p.settle()
			p.mu.Lock()
			first := p.sessions[0].raw.String()
			p.mu.Unlock()
			if !strings.HasSuffix(first, "STARTTLS\r\n") {
				t.Errorf("client kept talking after a failed STARTTLS:\n%q", first)
			}
			if m := p.messages(); len(m) != 1 || m[0].tls {
				t.Errorf("%+v", m)
			}
		})
	}
}

func TestDeliverAuthOverTLS(t *testing.T) {
	pk := getPKI(t)
	good := func(u, p string) bool { return u == "alice" && p == "pass word" }
	withTLS := startPeer(t, "127.0.0.2", 0, server{tls: pk.server, auth: good}.serve)
	noTLS := startPeer(t, "127.0.0.3", 0, server{auth: good}.serve)
	routes, errs := route.ParseRoutes([]string{
		fmt.Sprintf("ok.test:relay.test:%d alice pass word", withTLS.addr.Port()),
		fmt.Sprintf("badpw.test:relay.test:%d alice wrong", withTLS.addr.Port()),
		fmt.Sprintf("clear.test:127.0.0.3:%d alice pass word", noTLS.addr.Port()),
	})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	dns := staticDNS{ip: map[string][]netip.Addr{"relay.test": {netip.MustParseAddr("127.0.0.2")}}}
	c := newClient(t, dns, 0)
	c.Routes = routes
	c.TLSConfig = &tls.Config{RootCAs: pk.roots}
	res := c.Deliver(context.Background(), job("ok.test", "x\n", "a"))
	if codes(res) != "K" || len(withTLS.messages()) != 1 {
		t.Fatalf("%+v", res)
	}
	res = c.Deliver(context.Background(), job("badpw.test", "x\n", "a"))
	if codes(res) != "Z" || !strings.Contains(res[0].Text, "authentication as alice failed") || !strings.Contains(res[0].Text, "535") {
		t.Fatalf("%+v", res)
	}
	res = c.Deliver(context.Background(), job("clear.test", "x\n", "a"))
	if codes(res) != "Z" || !strings.Contains(res[0].Text, "only over TLS") {
		t.Fatalf("%+v", res)
	}
	noTLS.settle()
	if raw := noTLS.received(); strings.Contains(raw, "AUTH") {
		t.Errorf("credentials sent without TLS:\n%s", raw)
	}
}

func TestDeliverImplicitTLS(t *testing.T) {
	pk := getPKI(t)
	ln, err := net.Listen("tcp", "127.0.0.2:465")
	if errors.Is(err, os.ErrPermission) {
		t.Skip("needs root: the client picks implicit TLS by the port, 465, which only root may bind")
	}
	if err != nil {
		t.Skipf("cannot listen on port 465: %v", err)
	}
	ln.Close()
	p := startPeer(t, "127.0.0.2", 465, func(s *session) {
		if s.startTLS(pk.server) != nil {
			return
		}
		server{}.serve(s)
	})
	routes, _ := route.ParseRoutes([]string{":127.0.0.2:465"})
	c := newClient(t, staticDNS{}, 0)
	c.Routes = routes
	res := c.Deliver(context.Background(), job("any.test", "x\n", "a"))
	if codes(res) != "K" || !p.messages()[0].tls {
		t.Fatalf("%+v", res)
	}
}
