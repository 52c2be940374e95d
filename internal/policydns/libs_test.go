package policydns

import (
	"context"
	"errors"
	"net"
	"testing"

	"blitiri.com.ar/go/spf"
	"github.com/emersion/go-msgauth/dmarc"
)

// The resolver is what the SPF library's WithResolver takes, and its
// errors lead that library to the RFC 7208 results: none for NXDOMAIN,
// temperror for a SERVFAIL.
var _ spf.DNSResolver = (*Resolver)(nil)

func TestSPFLibraryThroughTheResolver(t *testing.T) {
	srv, r, _ := start(t, `
pass.test.  300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
viamx.test. 300 IN MX 10 a.test.
a.test.     300 IN A 192.0.2.1
viamx.test. 300 IN TXT "v=spf1 mx -all"
temp.test.  300 IN TXT "v=spf1 -all"
`)
	srv.ServFail("temp.test.")
	for _, tc := range []struct {
		ip, domain string
		want       spf.Result
	}{
		{"192.0.2.7", "pass.test", spf.Pass},
		{"198.51.100.1", "pass.test", spf.Fail},
		{"192.0.2.1", "viamx.test", spf.Pass},
		{"192.0.2.2", "viamx.test", spf.Fail},
		{"192.0.2.7", "none.test", spf.None},
		{"192.0.2.7", "temp.test", spf.TempError},
	} {
		got, err := spf.CheckHostWithSender(net.ParseIP(tc.ip), "helo.test", "x@"+tc.domain,
			spf.WithResolver(r), spf.WithContext(context.Background()))
		if got != tc.want {
			t.Errorf("%s from %s: %v (%v), want %v", tc.domain, tc.ip, got, err, tc.want)
		}
	}
}

// go-msgauth takes a LookupTXT function without a context: TXTFunc gives
// it one, and its errors lead to "no policy" and "temporary failure".
func TestDMARCLookupThroughTheResolver(t *testing.T) {
	srv, r, _ := start(t, `
_dmarc.dm.test.   300 IN TXT "v=DMARC1; p=reject"
_dmarc.temp.test. 300 IN TXT "v=DMARC1; p=none"
`)
	srv.ServFail("_dmarc.temp.test.")
	opts := &dmarc.LookupOptions{LookupTXT: TXTFunc(context.Background(), r)}
	rec, err := dmarc.LookupWithOptions("dm.test", opts)
	if err != nil || rec.Policy != dmarc.PolicyReject {
		t.Errorf("dm.test: %+v, %v", rec, err)
	}
	if _, err := dmarc.LookupWithOptions("none.test", opts); !errors.Is(err, dmarc.ErrNoPolicy) {
		t.Errorf("no record: %v, want ErrNoPolicy", err)
	}
	if _, err := dmarc.LookupWithOptions("temp.test", opts); !dmarc.IsTempFail(err) {
		t.Errorf("SERVFAIL: %v, want a temporary failure", err)
	}
}
