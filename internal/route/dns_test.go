package route

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"goqmail/internal/route/dnstest"
)

const testZone = `
mx.test.          300 IN MX 10 a.mx.test.
mx.test.          300 IN MX 20 b.mx.test.
a.mx.test.        300 IN A 127.0.0.2
b.mx.test.        300 IN A 127.0.0.3
b.mx.test.        300 IN AAAA ::1
aonly.test.       300 IN A 127.0.0.4
v6only.test.      300 IN AAAA 2001:db8::4
null.test.        300 IN MX 0 .
alias.test.       300 IN CNAME mx.test.
mxalias.test.     300 IN MX 10 hostalias.test.
hostalias.test.   300 IN CNAME a.mx.test.
nodata.test.      300 IN TXT "nothing here"
broken.test.      300 IN MX 10 a.mx.test.
mxfail.test.      300 IN MX 10 sfhost.test.
sfhost.test.      300 IN A 127.0.0.9
`

func startDNS(t *testing.T) (*dnstest.Server, *DNS) {
	srv := dnstest.Start(t, testZone+bigZone())
	srv.ServFail("broken.test.")
	srv.ServFail("sfhost.test.")
	return srv, NewDNS(srv.Addr)
}

// bigZone gives big.test 40 MX records: more than fits in 1232 bytes, so
// the resolver must retry over TCP.
func bigZone() string {
	var b strings.Builder
	for i := range 40 {
		fmt.Fprintf(&b, "big.test. 300 IN MX %d host-with-a-rather-long-name-%02d.big.test.\n", i, i)
	}
	return b.String()
}

func TestDNSResolver(t *testing.T) {
	_, r := startDNS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tc := range []struct {
		name, kind, want string
	}{
		{"mx.test", "mx", "a.mx.test/10 b.mx.test/20"},
		{"MX.test.", "mx", "a.mx.test/10 b.mx.test/20"},
		{"alias.test", "mx", "a.mx.test/10 b.mx.test/20"},
		{"null.test", "mx", "./0"},
		{"aonly.test", "mx", "notfound"},
		{"nxdomain.test", "mx", "notfound"},
		{"broken.test", "mx", "temporary"},
		{"a.mx.test", "ip", "127.0.0.2"},
		{"b.mx.test", "ip", "127.0.0.3 ::1"},
		{"v6only.test", "ip", "2001:db8::4"},
		{"hostalias.test", "ip", "127.0.0.2"},
		{"nodata.test", "ip", "notfound"},
		{"nxdomain.test", "ip", "notfound"},
		{"sfhost.test", "ip", "temporary"},
	} {
		var parts []string
		var err error
		if tc.kind == "mx" {
			var mxs []MX
			mxs, err = r.LookupMX(ctx, tc.name)
			for _, m := range mxs {
				parts = append(parts, fmt.Sprintf("%s/%d", m.Host, m.Pref))
			}
		} else {
			ips, e := r.LookupIP(ctx, tc.name)
			err = e
			for _, ip := range ips {
				parts = append(parts, ip.String())
			}
		}
		got := strings.Join(parts, " ")
		switch {
		case errors.Is(err, ErrNotFound):
			got = "notfound"
		case err != nil:
			got = "temporary"
		}
		if tc.kind == "ip" && strings.Contains(tc.want, " ") {
			// Address order is the resolver's (RFC 6724 sorting).
			if !sameWords(got, tc.want) {
				t.Errorf("%s %s: got %q, want %q", tc.kind, tc.name, got, tc.want)
			}
			continue
		}
		if tc.kind == "mx" && got != tc.want && !sameWords(got, tc.want) {
			t.Errorf("%s %s: got %q, want %q", tc.kind, tc.name, got, tc.want)
		} else if tc.kind == "ip" && got != tc.want {
			t.Errorf("%s %s: got %q, want %q", tc.kind, tc.name, got, tc.want)
		}
	}
}

func sameWords(a, b string) bool {
	wa, wb := strings.Fields(a), strings.Fields(b)
	if len(wa) != len(wb) {
		return false
	}
	seen := map[string]int{}
	for _, w := range wa {
		seen[w]++
	}
	for _, w := range wb {
		seen[w]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}

func TestDNSResolverTruncatedAnswerUsesTCP(t *testing.T) {
	_, r := startDNS(t)
	mxs, err := r.LookupMX(context.Background(), "big.test")
	if err != nil || len(mxs) != 40 {
		t.Fatalf("got %d MX records, %v; want all 40 (TCP retry after truncation)", len(mxs), err)
	}
}

// TestFindOverRealDNS runs the Finder against the test server: the whole
// path from MX to addresses, the null MX, SERVFAIL and NXDOMAIN.
func TestFindOverRealDNS(t *testing.T) {
	_, r := startDNS(t)
	f := &Finder{Resolver: r, Port: 2525, Shuffle: func(int, func(i, j int)) {}}
	ctx := context.Background()
	for _, tc := range []struct{ domain, want string }{
		{"mx.test", "a.mx.test/127.0.0.2:2525 b.mx.test/127.0.0.3:2525 b.mx.test/::1:2525"},
		{"alias.test", "a.mx.test/127.0.0.2:2525 b.mx.test/127.0.0.3:2525 b.mx.test/::1:2525"},
		{"mxalias.test", "hostalias.test/127.0.0.2:2525"},
		{"aonly.test", "aonly.test/127.0.0.4:2525"},
		{"null.test", "perm"},
		{"nxdomain.test", "perm"},
		{"nodata.test", "perm"},
		{"broken.test", "temp"},
		{"mxfail.test", "temp"},
	} {
		plan, err := f.Find(ctx, tc.domain)
		got := targetsString(plan.Targets)
		var rerr *Error
		if errors.As(err, &rerr) {
			got = map[bool]string{true: "perm", false: "temp"}[rerr.Permanent]
		}
		if !sameWords(got, tc.want) {
			t.Errorf("%s: got %q, want %q (err %v)", tc.domain, got, tc.want, err)
		}
	}
}
