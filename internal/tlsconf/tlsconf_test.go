package tlsconf

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testPKI is a CA and the PEM blocks of leaf certificates it signs.
type testPKI struct {
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	caPEM  []byte
	serial int64
}

func newPKI(t *testing.T) *testPKI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	return &testPKI{ca: ca, caKey: key, caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), serial: 1}
}

// leaf returns the PEM of a new key and of its certificate for host.
func (p *testPKI) leaf(t *testing.T, host string) (keyPEM, certPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p.serial++
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(p.serial), Subject: pkix.Name{CommonName: host},
		DNSNames: []string{host}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// handshake connects a client trusting the test CA to a server using cfg
// and returns the common name of the certificate the server showed.
func handshake(t *testing.T, cfg *tls.Config, p *testPKI, host string, maxVersion uint16) (string, error) {
	t.Helper()
	c, s := net.Pipe()
	defer c.Close()
	defer s.Close()
	done := make(chan error, 1)
	go func() {
		srv := tls.Server(s, cfg)
		done <- srv.Handshake()
		srv.Close()
	}()
	roots := x509.NewCertPool()
	roots.AddCert(p.ca)
	cl := tls.Client(c, &tls.Config{RootCAs: roots, ServerName: host, MaxVersion: maxVersion})
	c.SetDeadline(time.Now().Add(5 * time.Second))
	err := cl.Handshake()
	if err != nil {
		c.Close()
		<-done
		return "", err
	}
	<-done
	return cl.ConnectionState().PeerCertificates[0].Subject.CommonName, nil
}

func writeFile(t *testing.T, path string, parts ...[]byte) {
	t.Helper()
	var all []byte
	for _, p := range parts {
		all = append(all, p...)
	}
	if err := os.WriteFile(path, all, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLoad(t *testing.T) {
	p := newPKI(t)
	key, cert := p.leaf(t, "mail.example.test")
	otherKey, _ := p.leaf(t, "other.example.test")
	tests := []struct {
		name    string
		content [][]byte // nil: no file
		wantErr bool
		wantNil bool
	}{
		{name: "missing file: no TLS", wantNil: true},
		{name: "key then chain", content: [][]byte{key, cert, p.caPEM}},
		{name: "chain then key", content: [][]byte{cert, p.caPEM, key}},
		{name: "no key", content: [][]byte{cert}, wantErr: true},
		{name: "no certificate", content: [][]byte{key}, wantErr: true},
		{name: "key of another certificate", content: [][]byte{otherKey, cert}, wantErr: true},
		{name: "garbage", content: [][]byte{[]byte("not pem\n")}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "servercert.pem")
			if tt.content != nil {
				writeFile(t, path, tt.content...)
			}
			st, err := Load(path)
			if tt.wantErr {
				if err == nil {
					t.Fatal("Load succeeded, want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantNil {
				if st != nil {
					t.Fatal("Load of a missing file returned a store")
				}
				return
			}
			cn, err := handshake(t, st.Config(), p, "mail.example.test", 0)
			if err != nil || cn != "mail.example.test" {
				t.Fatalf("handshake: %q, %v", cn, err)
			}
			if len(st.cert.Certificate) != 2 {
				t.Errorf("chain has %d certificates, want leaf and CA", len(st.cert.Certificate))
			}
		})
	}
}

func TestUnreadableFileIsAnError(t *testing.T) {
	dir := t.TempDir()
	// A directory in the file's place: stat works, reading does not.
	path := filepath.Join(dir, "servercert.pem")
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	if st, err := Load(path); err == nil || st != nil {
		t.Fatalf("Load = %v, %v; want an error", st, err)
	}
}

func TestMinVersionTLS12(t *testing.T) {
	p := newPKI(t)
	key, cert := p.leaf(t, "mail.example.test")
	path := filepath.Join(t.TempDir(), "servercert.pem")
	writeFile(t, path, key, cert)
	st, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Config().MinVersion != tls.VersionTLS12 {
		t.Fatal("MinVersion is not TLS 1.2")
	}
	if _, err := handshake(t, st.Config(), p, "mail.example.test", tls.VersionTLS11); err == nil {
		t.Fatal("a TLS 1.1 client completed the handshake")
	}
	if _, err := handshake(t, st.Config(), p, "mail.example.test", tls.VersionTLS12); err != nil {
		t.Fatalf("TLS 1.2 client: %v", err)
	}
	if st.Config() != st.Config() {
		t.Error("Config returns a new *tls.Config each time")
	}
}

// bump gives the file a new modification time, as a renewal would even
// within the file system's timestamp granularity.
func bump(t *testing.T, path string, d time.Duration) {
	t.Helper()
	when := time.Now().Add(d)
	if err := os.Chtimes(path, when, when); err != nil {
		t.Fatal(err)
	}
}

func TestRenewalWithoutRestart(t *testing.T) {
	p := newPKI(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "servercert.pem")
	key1, cert1 := p.leaf(t, "old.example.test")
	writeFile(t, path, key1, cert1)
	st, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var warnings []error
	st.Warn = func(err error) { warnings = append(warnings, err) }
	cfg := st.Config()
	if cn, err := handshake(t, cfg, p, "old.example.test", 0); err != nil || cn != "old.example.test" {
		t.Fatalf("first handshake: %q, %v", cn, err)
	}

	// A renewal replaced atomically: the next handshake shows it.
	key2, cert2 := p.leaf(t, "new.example.test")
	tmp := filepath.Join(dir, "new.pem")
	writeFile(t, tmp, key2, cert2)
	bump(t, tmp, time.Minute)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	if cn, err := handshake(t, cfg, p, "new.example.test", 0); err != nil || cn != "new.example.test" {
		t.Fatalf("after renewal: %q, %v", cn, err)
	}

	// A broken edit keeps the last good certificate and warns once.
	writeFile(t, path, []byte("-----BEGIN CERTIFICATE-----\ntruncated"))
	bump(t, path, 2*time.Minute)
	for range 2 {
		if cn, err := handshake(t, cfg, p, "new.example.test", 0); err != nil || cn != "new.example.test" {
			t.Fatalf("after a broken edit: %q, %v", cn, err)
		}
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0].Error(), "keeping the previous certificate") {
		t.Fatalf("warnings = %v, want one", warnings)
	}

	// The file removed: still the last good one.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if cn, err := handshake(t, cfg, p, "new.example.test", 0); err != nil || cn != "new.example.test" {
		t.Fatalf("after removal: %q, %v", cn, err)
	}

	// Fixed again: picked up.
	writeFile(t, path, key1, cert1)
	bump(t, path, 3*time.Minute)
	if cn, err := handshake(t, cfg, p, "old.example.test", 0); err != nil || cn != "old.example.test" {
		t.Fatalf("after the fix: %q, %v", cn, err)
	}
}
