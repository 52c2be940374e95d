package acmecert

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"goqmail/internal/acmecert/pebbletest"
	"goqmail/internal/logline"
	"goqmail/internal/route/dnstest"
)

type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestObtainRenewAndCADown runs the manager against pebble: the first
// certificate, no renewal while it is fresh, a renewal when acmerenewdays
// says so, and a CA that is down at renewal time, which must leave the
// installed certificate as it was and say so.
func TestObtainRenewAndCADown(t *testing.T) {
	dns := dnstest.Start(t, "mx.acme.test. 300 IN A 127.0.0.1\nmta-sts.acme.test. 300 IN A 127.0.0.1\n")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := pebbletest.Start(t, dns.Addr, ln.Addr().(*net.TCPAddr).Port)
	m := &Manager{Dir: t.TempDir(), HTTPClient: &http.Client{Transport: &http.Transport{TLSClientConfig: tlsRoots(p.Roots)}},
		Log: logline.NewTo(testLog{t}, "acme")}
	srv := &http.Server{Handler: m.ChallengeHandler()}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	cfg := Config{Names: []string{"mx.acme.test", "mta-sts.acme.test"}, Directory: p.Directory, RenewDays: 30}
	ctx := context.Background()

	wrote, err := m.Check(ctx, cfg)
	if err != nil || !wrote {
		t.Fatalf("first certificate: wrote=%v err=%v", wrote, err)
	}
	first := leafOf(t, m.CertPath())
	issuers := x509.NewCertPool()
	issuers.AppendCertsFromPEM(p.IssuerPEM)
	if first.VerifyHostname("mta-sts.acme.test") != nil {
		t.Errorf("certificate names %v", first.DNSNames)
	}
	if fi, _ := os.Stat(m.CertPath()); fi.Mode().Perm() != 0o640 {
		t.Errorf("certificate file mode %v, want 0640", fi.Mode().Perm())
	}
	if fi, _ := os.Stat(filepath.Join(m.Dir, "account.key")); fi.Mode().Perm() != 0o600 {
		t.Errorf("account key mode %v, want 0600", fi.Mode().Perm())
	}

	if wrote, err := m.Check(ctx, cfg); wrote || err != nil {
		t.Fatalf("a fresh certificate was renewed: wrote=%v err=%v", wrote, err)
	}

	// Renew as if the certificate were about to expire: Now moves to
	// just inside the renewal window.
	m.Now = func() time.Time { return first.NotAfter.Add(-29 * 24 * time.Hour) }
	if wrote, err := m.Check(ctx, cfg); !wrote || err != nil {
		t.Fatalf("renewal: wrote=%v err=%v", wrote, err)
	}
	second := leafOf(t, m.CertPath())
	if second.SerialNumber.Cmp(first.SerialNumber) == 0 {
		t.Fatal("renewal kept the old certificate")
	}

	// The CA goes down: the renewal fails with a clear error and the
	// file is untouched.
	before, _ := os.ReadFile(m.CertPath())
	p.Stop()
	m.Now = func() time.Time { return second.NotAfter.Add(-29 * 24 * time.Hour) }
	wrote, err = m.Check(ctx, cfg)
	if wrote || err == nil || !strings.Contains(err.Error(), "keeping the current certificate, valid until") {
		t.Fatalf("CA down: wrote=%v err=%v", wrote, err)
	}
	if after, _ := os.ReadFile(m.CertPath()); string(after) != string(before) {
		t.Fatal("a failed renewal changed the certificate file")
	}
}

// A name that does not resolve to us fails its challenge: the error names
// the name and the certificate file is never created.
func TestChallengeFailureWritesNothing(t *testing.T) {
	dns := dnstest.Start(t, "elsewhere.acme.test. 300 IN A 127.0.0.1\n")
	p := pebbletest.Start(t, dns.Addr, 1) // port 1: nothing answers the challenge
	m := &Manager{Dir: t.TempDir(), HTTPClient: &http.Client{Transport: &http.Transport{TLSClientConfig: tlsRoots(p.Roots)}},
		Log: logline.NewTo(testLog{t}, "acme")}
	_, err := m.Check(context.Background(), Config{Names: []string{"elsewhere.acme.test"}, Directory: p.Directory, RenewDays: 30})
	if err == nil || !strings.Contains(err.Error(), "elsewhere.acme.test") || !strings.Contains(err.Error(), "there is no certificate yet") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(m.CertPath()); !os.IsNotExist(err) {
		t.Fatalf("certificate file after a failed order: %v", err)
	}
}

func leafOf(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	c, err := readLeaf(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func tlsRoots(pool *x509.CertPool) *tls.Config { return &tls.Config{RootCAs: pool} }
