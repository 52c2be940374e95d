package mtasts

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"goqmail/internal/route"
	"goqmail/internal/route/dnstest"
)

// testCA makes a CA and a server certificate for names.
func testCA(t *testing.T, names ...string) (*x509.CertPool, tls.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mtasts test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: names[0]},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: names,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return pool, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// policyServer serves body for every mta-sts.* name it has a certificate
// for, and counts the fetches.
func policyServer(t *testing.T, cert tls.Certificate, body *atomic.Pointer[string]) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		switch r.URL.Path {
		case "/.well-known/mta-sts.txt":
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Write([]byte(*body.Load()))
		case "/redirect":
		default:
			http.Redirect(w, r, "/.well-known/mta-sts.txt", http.StatusFound)
		}
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestCache(t *testing.T) {
	roots, cert := testCA(t, "mta-sts.sts.test", "mta-sts.gone.test")
	var body atomic.Pointer[string]
	pol := "version: STSv1\nmode: enforce\nmx: *.sts.test\nmax_age: 3600\n"
	body.Store(&pol)
	srv, fetches := policyServer(t, cert, &body)
	_, portS, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ := strconv.Atoi(portS)
	dns := dnstest.Start(t, `
_mta-sts.sts.test.   300 IN TXT "v=STSv1; id=one;"
mta-sts.sts.test.    300 IN A 127.0.0.1
mta-sts.gone.test.   300 IN A 127.0.0.1
_mta-sts.badcert.test. 300 IN TXT "v=STSv1; id=one;"
mta-sts.badcert.test.  300 IN A 127.0.0.1
_mta-sts.two.test.   300 IN TXT "v=STSv1; id=one;"
_mta-sts.two.test.   300 IN TXT "v=STSv1; id=two;"
`)
	r := route.NewDNS(dns.Addr)
	now := time.Now()
	c := &Cache{Resolver: r, Client: NewHTTPClient(r, roots, uint16(port)), Now: func() time.Time { return now }}
	ctx := context.Background()

	l := c.Lookup(ctx, "STS.test.")
	if l.Policy == nil || l.Policy.Mode != Enforce || l.ID != "one" || l.Cached || fetches.Load() != 1 {
		t.Fatalf("first lookup: %+v (fetches %d)", l, fetches.Load())
	}
	if l := c.Lookup(ctx, "sts.test"); l.Policy == nil || !l.Cached || fetches.Load() != 1 {
		t.Fatalf("same id fetched again: %+v (fetches %d)", l, fetches.Load())
	}
	// A new id: fetched again, the new policy replaces the old.
	pol2 := "version: STSv1\nmode: testing\nmx: *.sts.test\nmax_age: 3600\n"
	body.Store(&pol2)
	dns.RemoveType("_mta-sts.sts.test.", 16)
	dns.Add(t, `_mta-sts.sts.test. 300 IN TXT "v=STSv1; id=two;"`)
	if l := c.Lookup(ctx, "sts.test"); l.Policy == nil || l.Policy.Mode != Testing || l.ID != "two" || fetches.Load() != 2 {
		t.Fatalf("new id: %+v (fetches %d)", l, fetches.Load())
	}
	// The record disappears (an attacker blocks it): the cached policy
	// stays in force until it expires.
	dns.RemoveType("_mta-sts.sts.test.", 16)
	if l := c.Lookup(ctx, "sts.test"); l.Policy == nil || l.Policy.Mode != Testing || !l.Cached {
		t.Fatalf("record gone, cached policy not used: %+v", l)
	}
	now = now.Add(3601 * time.Second)
	if l := c.Lookup(ctx, "sts.test"); l.Policy != nil {
		t.Fatalf("expired policy still used: %+v", l)
	}
	// A new id whose fetch fails keeps an unexpired cached policy and
	// says why.
	dns.Add(t, `_mta-sts.sts.test. 300 IN TXT "v=STSv1; id=three;"`)
	body.Store(&pol)
	if l := c.Lookup(ctx, "sts.test"); l.Policy == nil || l.ID != "three" {
		t.Fatalf("refetch: %+v", l)
	}
	dns.RemoveType("_mta-sts.sts.test.", 16)
	dns.Add(t, `_mta-sts.sts.test. 300 IN TXT "v=STSv1; id=four;"`)
	broken := "version: STSv1\nmode: enforce\n"
	body.Store(&broken)
	if l := c.Lookup(ctx, "sts.test"); l.Policy == nil || l.ID != "three" || l.Failure != FailInvalid {
		t.Fatalf("an invalid new policy must keep the cached one and report sts-policy-invalid: %+v", l)
	}
	// The failed fetch is not repeated for a while, and then it is.
	before := fetches.Load()
	if l := c.Lookup(ctx, "sts.test"); l.Policy == nil || l.Failure != FailInvalid || fetches.Load() != before {
		t.Fatalf("failed fetch repeated at once: %+v (fetches %d, before %d)", l, fetches.Load(), before)
	}
	now = now.Add(RetryFetch)
	body.Store(&pol)
	if l := c.Lookup(ctx, "sts.test"); l.ID != "four" || l.Failure != "" || fetches.Load() != before+1 {
		t.Fatalf("fetch after RetryFetch: %+v (fetches %d)", l, fetches.Load())
	}
	// A certificate for another name: sts-webpki-invalid, no policy.
	if l := c.Lookup(ctx, "badcert.test"); l.Policy != nil || l.Failure != FailWebPKI {
		t.Fatalf("bad certificate: %+v", l)
	}
	// Two records: none is used (RFC 8461 3.1).
	if l := c.Lookup(ctx, "two.test"); l.Policy != nil || l.Failure != FailInvalid {
		t.Fatalf("two records: %+v", l)
	}
	// No record and nothing cached: no policy, no failure, no fetch.
	before = fetches.Load()
	if l := c.Lookup(ctx, "gone.test"); l.Policy != nil || l.Failure != "" || fetches.Load() != before {
		t.Fatalf("no record: %+v", l)
	}
}

func TestFetchRefusesRedirects(t *testing.T) {
	roots, cert := testCA(t, "mta-sts.redir.test")
	srv := httptest.NewUnstartedServer(http.RedirectHandler("https://elsewhere.test/", http.StatusFound))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	defer srv.Close()
	_, portS, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ := strconv.Atoi(portS)
	dns := dnstest.Start(t, "_mta-sts.redir.test. 300 IN TXT \"v=STSv1; id=1;\"\nmta-sts.redir.test. 300 IN A 127.0.0.1\n")
	r := route.NewDNS(dns.Addr)
	c := &Cache{Resolver: r, Client: NewHTTPClient(r, roots, uint16(port))}
	if l := c.Lookup(context.Background(), "redir.test"); l.Policy != nil || l.Failure != FailFetch {
		t.Fatalf("redirect: %+v", l)
	}
}
