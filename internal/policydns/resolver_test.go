package policydns

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"goqmail/internal/route/dnstest"
)

// clock is a controllable time for the cache's TTLs.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const zone = `
test.                   3600 IN SOA ns.test. admin.test. 1 3600 600 86400 30
a.test.                  300 IN A 192.0.2.1
a.test.                  300 IN AAAA 2001:db8::1
txt.test.                300 IN TXT "v=spf1 " "-all"
txt.test.                300 IN TXT "second"
mx.test.                 300 IN MX 20 b.test.
mx.test.                 300 IN MX 10 a.test.
alias.test.              100 IN CNAME a.test.
1.2.0.192.in-addr.arpa.  300 IN PTR a.test.
`

func start(t *testing.T, z string) (*dnstest.Server, *Resolver, *clock) {
	t.Helper()
	srv := dnstest.Start(t, z)
	r := New([]string{srv.Addr}, 2*time.Second, 0)
	c := newClock()
	r.Now = c.now
	return srv, r, c
}

func TestLookupsAgainstALoopbackServer(t *testing.T) {
	_, r, _ := start(t, zone)
	ctx := context.Background()
	ips, err := r.LookupNetIP(ctx, "ip", "a.test")
	if err != nil || !slices.Equal(sortAddrs(ips), []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")}) {
		t.Errorf("LookupNetIP ip: %v, %v", ips, err)
	}
	if ips, err := r.LookupNetIP(ctx, "ip4", "A.Test."); err != nil || len(ips) != 1 || ips[0] != netip.MustParseAddr("192.0.2.1") {
		t.Errorf("LookupNetIP ip4: %v, %v", ips, err)
	}
	if ips, err := r.LookupIPAddr(ctx, "alias.test"); err != nil || len(ips) != 2 {
		t.Errorf("LookupIPAddr through a CNAME: %v, %v", ips, err)
	}
	txt, err := r.LookupTXT(ctx, "txt.test")
	slices.Sort(txt)
	if err != nil || !slices.Equal(txt, []string{"second", "v=spf1 -all"}) {
		t.Errorf("LookupTXT: %q, %v (want each record's strings joined, as net does)", txt, err)
	}
	mx, err := r.LookupMX(ctx, "mx.test")
	if err != nil || len(mx) != 2 || mx[0].Host != "a.test." || mx[0].Pref != 10 || mx[1].Host != "b.test." {
		t.Errorf("LookupMX: %v, %v", mx, err)
	}
	names, err := r.LookupAddr(ctx, "192.0.2.1")
	if err != nil || !slices.Equal(names, []string{"a.test."}) {
		t.Errorf("LookupAddr: %v, %v", names, err)
	}
}

func sortAddrs(a []netip.Addr) []netip.Addr {
	slices.SortFunc(a, func(x, y netip.Addr) int { return x.Compare(y) })
	return a
}

func dnsError(t *testing.T, err error) *net.DNSError {
	t.Helper()
	// Unwrapped, as the SPF and DKIM libraries type-assert it.
	de, ok := err.(*net.DNSError)
	if !ok {
		t.Fatalf("error %v (%T) is not a *net.DNSError", err, err)
	}
	return de
}

func TestNotFoundIsDefiniteAndFailuresAreTemporary(t *testing.T) {
	srv, r, _ := start(t, zone+"broken.test. 300 IN A 192.0.2.9\n")
	srv.ServFail("broken.test.")
	ctx := context.Background()
	for _, name := range []string{"nx.test", "a.test"} { // NXDOMAIN; NODATA (a.test has no TXT)
		_, err := r.LookupTXT(ctx, name)
		if de := dnsError(t, err); !de.IsNotFound || de.Temporary() {
			t.Errorf("%s: %+v, want not found and not temporary", name, de)
		}
	}
	_, err := r.LookupNetIP(ctx, "ip4", "broken.test")
	if de := dnsError(t, err); de.IsNotFound || !de.Temporary() {
		t.Errorf("SERVFAIL: %+v, want temporary", de)
	}
	if _, err := r.LookupTXT(ctx, "bad..name"); err == nil {
		t.Error("a malformed name was looked up")
	}
}

// A server that never answers costs the configured timeout, not more,
// and the error says timeout; a shorter context ends the wait sooner.
func TestSilentServerTimesOut(t *testing.T) {
	srv := dnstest.Start(t, zone)
	srv.Drop("a.test.")
	r := New([]string{srv.Addr}, time.Second, 0)
	_, err := r.LookupNetIP(context.Background(), "ip4", "a.test")
	if de := dnsError(t, err); !de.IsTimeout || !de.Temporary() || de.IsNotFound {
		t.Errorf("no answer: %+v, want a timeout", de)
	}
	srv.Drop("mx.test.")
	r = New([]string{srv.Addr}, time.Hour, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = r.LookupMX(ctx, "mx.test")
	if de := dnsError(t, err); !de.IsTimeout {
		t.Errorf("context ended: %+v, want a timeout", de)
	}
	// The other names still answer: one dead name holds nothing else up.
	if _, err := r.LookupTXT(context.Background(), "txt.test"); err != nil {
		t.Errorf("TXT after a timeout elsewhere: %v", err)
	}
}

// The second server answers when the first is dead.
func TestNextServerAfterAFailure(t *testing.T) {
	dead, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close() // bound but never read: a silent server
	srv := dnstest.Start(t, zone)
	r := New([]string{dead.LocalAddr().String(), srv.Addr}, 3*time.Second, 0)
	if _, err := r.LookupTXT(context.Background(), "txt.test"); err != nil {
		t.Errorf("with the first server silent: %v", err)
	}
}

func TestCacheRespectsTTL(t *testing.T) {
	srv, r, clk := start(t, zone)
	ctx := context.Background()
	first, err := r.LookupNetIP(ctx, "ip4", "a.test")
	if err != nil {
		t.Fatal(err)
	}
	n := srv.Queries()
	srv.Set(t, "a.test. 300 IN A 192.0.2.77")
	clk.add(299 * time.Second)
	if got, err := r.LookupNetIP(ctx, "ip4", "a.test"); err != nil || !slices.Equal(got, first) || srv.Queries() != n {
		t.Errorf("within the TTL: %v, %v after %d more queries; want the cached answer", got, err, srv.Queries()-n)
	}
	clk.add(time.Second)
	if got, err := r.LookupNetIP(ctx, "ip4", "a.test"); err != nil || len(got) != 1 || got[0] != netip.MustParseAddr("192.0.2.77") {
		t.Errorf("after the TTL: %v, %v; want the new answer", got, err)
	}
	// A CNAME's smaller TTL bounds the answer's.
	if _, err := r.LookupNetIP(ctx, "ip4", "alias.test"); err != nil {
		t.Fatal(err)
	}
	n = srv.Queries()
	clk.add(101 * time.Second)
	r.LookupNetIP(ctx, "ip4", "alias.test")
	if srv.Queries() != n+1 {
		t.Errorf("the answer through a CNAME of TTL 100 was still cached after 101 s")
	}
}

// NXDOMAIN is cached for the SOA's negative TTL (RFC 2308: the smaller
// of its TTL and its MINIMUM, 30 s here), and not at all without an SOA.
func TestNegativeCaching(t *testing.T) {
	srv, r, clk := start(t, zone+"other. 3600 IN TXT x\n")
	ctx := context.Background()
	r.LookupTXT(ctx, "new.test")
	srv.Set(t, `new.test. 300 IN TXT "now"`)
	clk.add(29 * time.Second)
	if _, err := r.LookupTXT(ctx, "new.test"); err == nil {
		t.Error("NXDOMAIN was forgotten before its negative TTL")
	}
	clk.add(time.Second)
	if txt, err := r.LookupTXT(ctx, "new.test"); err != nil || len(txt) != 1 {
		t.Errorf("after the negative TTL: %v, %v", txt, err)
	}
	r.LookupTXT(ctx, "nosoa.other")
	n := srv.Queries()
	r.LookupTXT(ctx, "nosoa.other")
	if srv.Queries() != n+1 {
		t.Error("a negative answer without SOA was cached")
	}
}

func TestFailuresAreRememberedBriefly(t *testing.T) {
	srv, r, clk := start(t, zone)
	srv.ServFail("a.test.")
	ctx := context.Background()
	r.LookupNetIP(ctx, "ip4", "a.test")
	n := srv.Queries()
	r.LookupNetIP(ctx, "ip4", "a.test")
	if srv.Queries() != n {
		t.Error("a SERVFAIL was asked again at once")
	}
	clk.add(failTTL)
	r.LookupNetIP(ctx, "ip4", "a.test")
	if srv.Queries() == n {
		t.Errorf("a SERVFAIL was still remembered after %v", failTTL)
	}
}

func TestCacheIsBounded(t *testing.T) {
	srv := dnstest.Start(t, zone)
	r := New([]string{srv.Addr}, time.Second, 3)
	ctx := context.Background()
	for _, name := range []string{"a.test", "txt.test", "mx.test", "nx1.test", "a.test"} {
		r.LookupTXT(ctx, name)
	}
	if n := r.cache.len(); n != 3 {
		t.Errorf("cache holds %d answers, want its size 3", n)
	}
	n := srv.Queries()
	r.LookupTXT(ctx, "txt.test") // pushed out by the later ones
	if srv.Queries() != n+1 {
		t.Error("the least recently used answer was not the one dropped")
	}
}

// A TXT answer over 1232 bytes comes truncated over UDP and whole over TCP.
func TestTruncatedAnswerOverTCP(t *testing.T) {
	var z strings.Builder
	z.WriteString(zone)
	for i := range 12 {
		z.WriteString("big.test. 300 IN TXT \"" + strings.Repeat(string(rune('a'+i)), 200) + "\"\n")
	}
	_, r, _ := start(t, z.String())
	txt, err := r.LookupTXT(context.Background(), "big.test")
	if err != nil || len(txt) != 12 {
		t.Errorf("big TXT: %d records, %v", len(txt), err)
	}
}

func TestConfigure(t *testing.T) {
	r := New([]string{"192.0.2.53", "[2001:db8::53]", "127.0.0.1:5353"}, 0, 0)
	if got := r.Servers(); !slices.Equal(got, []string{"192.0.2.53:53", "[2001:db8::53]:53", "127.0.0.1:5353"}) {
		t.Errorf("servers %v", got)
	}
	if r.timeout != DefaultTimeout {
		t.Errorf("timeout %v", r.timeout)
	}
	if got := New(nil, 0, 0).Servers(); len(got) == 0 {
		t.Error("no servers from resolv.conf, and no 127.0.0.1 default")
	}
}

func TestFake(t *testing.T) {
	f := NewFake(zone)
	ctx := context.Background()
	if ips, err := f.LookupNetIP(ctx, "ip4", "alias.test"); err != nil || len(ips) != 1 {
		t.Errorf("fake through a CNAME: %v, %v", ips, err)
	}
	_, err := f.LookupTXT(ctx, "nx.test")
	if de := dnsError(t, err); !de.IsNotFound {
		t.Errorf("fake NXDOMAIN: %+v", de)
	}
	f.Fail("mx.test.")
	_, err = f.LookupMX(ctx, "mx.test")
	if de := dnsError(t, err); !de.Temporary() {
		t.Errorf("fake failure: %+v", de)
	}
	n := f.Queries()
	f.LookupTXT(ctx, "nx.test")
	if f.Queries() != n {
		t.Error("the fake's NXDOMAIN under an SOA was not cached")
	}
	var _ DNS = f
	var _ DNS = net.DefaultResolver
}
