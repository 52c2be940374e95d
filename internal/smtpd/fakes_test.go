package smtpd

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"
)

// fakeAuth is the auth service for tests: a table of logins.
type fakeAuth struct {
	mu    sync.Mutex
	users map[string]fakeUser // by login
	down  bool                // every Verify fails: service unreachable
	calls []string            // "service login remoteIP" per Verify
}

type fakeUser struct {
	password string
	result   AuthResult
}

func (f *fakeAuth) add(login, password, user string, owns ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.users == nil {
		f.users = map[string]fakeUser{}
	}
	f.users[login] = fakeUser{password: password, result: AuthResult{OK: true, User: user, Owns: owns}}
}

// verified returns the Verify calls so far.
func (f *fakeAuth) verified() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeAuth) Verify(ctx context.Context, service, login, password, remoteIP string) (AuthResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, service+" "+login+" "+remoteIP)
	if f.down {
		return AuthResult{}, errors.New("auth service unreachable")
	}
	u, ok := f.users[login]
	if !ok || u.password != password {
		return AuthResult{}, nil
	}
	return u.result, nil
}

// fakeGrants answers POP-before-SMTP for a fixed set of IPs.
type fakeGrants struct {
	ips []netip.Addr
	err error
}

func (g *fakeGrants) Allowed(ip netip.Addr, now time.Time) (bool, error) {
	if g.err != nil {
		return false, g.err
	}
	for _, a := range g.ips {
		if a == ip {
			return true, nil
		}
	}
	return false, nil
}

// writeTestCert writes a self-signed certificate for mail.example.org with
// its key to path, and returns a pool that trusts it.
func writeTestCert(t testing.TB, path string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mail.example.org"},
		DNSNames: []string{"mail.example.org"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	data := append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}
