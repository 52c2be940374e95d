package route

import (
	"context"
	"errors"
	"testing"
	"time"

	"goqmail/internal/route/dnstest"
)

const dnssecZone = `
signed.test.              300 IN MX 10 mx.signed.test.
mx.signed.test.           300 IN A 127.0.0.2
_25._tcp.mx.signed.test.  300 IN TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
_25._tcp.mx.signed.test.  300 IN TLSA 2 0 1 ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100
plain.test.               300 IN MX 10 mx.plain.test.
_25._tcp.mx.plain.test.   300 IN TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
_mta-sts.signed.test.     300 IN TXT "v=STSv1; " "id=20260101;"
`

func TestDNSSECLookups(t *testing.T) {
	srv := dnstest.Start(t, dnssecZone)
	srv.Secure("signed.test.", "_25._tcp.mx.signed.test.", "_25._tcp.nothing.signed.test.")
	srv.ServFail("_25._tcp.broken.signed.test.")
	r := NewDNS(srv.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if sec, err := r.SecureMX(ctx, "signed.test"); err != nil || !sec {
		t.Errorf("SecureMX(signed.test) = %v, %v; want secure", sec, err)
	}
	if sec, err := r.SecureMX(ctx, "plain.test"); err != nil || sec {
		t.Errorf("SecureMX(plain.test) = %v, %v; want insecure", sec, err)
	}
	recs, sec, err := r.LookupTLSA(ctx, "mx.signed.test", 25)
	if err != nil || !sec || len(recs) != 2 {
		t.Fatalf("LookupTLSA(mx.signed.test) = %v, %v, %v", recs, sec, err)
	}
	if got := recs[0].String(); got != "3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" {
		t.Errorf("first record %s", got)
	}
	if _, sec, err := r.LookupTLSA(ctx, "mx.plain.test.", 25); err != nil || sec {
		t.Errorf("LookupTLSA(mx.plain.test) secure=%v err=%v; want insecure records", sec, err)
	}
	if _, sec, err := r.LookupTLSA(ctx, "nothing.signed.test", 25); !errors.Is(err, ErrNotFound) || !sec {
		t.Errorf("LookupTLSA(nothing.signed.test) secure=%v err=%v; want a secure denial", sec, err)
	}
	if _, _, err := r.LookupTLSA(ctx, "broken.signed.test", 25); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("LookupTLSA on SERVFAIL: %v; want a temporary error", err)
	}
	txt, err := r.LookupTXT(ctx, "_mta-sts.signed.test")
	if err != nil || len(txt) != 1 || txt[0] != "v=STSv1; id=20260101;" {
		t.Errorf("LookupTXT = %q, %v", txt, err)
	}
	if _, err := r.LookupTXT(ctx, "_mta-sts.plain.test"); !errors.Is(err, ErrNotFound) {
		t.Errorf("LookupTXT of a missing name: %v; want ErrNotFound", err)
	}
}
