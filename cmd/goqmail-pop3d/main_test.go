package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"goqmail/internal/logline"
)

// writeCert writes a key and self-signed certificate in one PEM file.
func writeCert(t *testing.T, path, cn string, mtime time.Time) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	var b bytes.Buffer
	pem.Encode(&b, &pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(path, mtime, mtime)
}

func commonName(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	if cfg == nil {
		return ""
	}
	c, err := x509.ParseCertificate(cfg.Certificates[0].Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return c.Subject.CommonName
}

func TestCertFileReloadsOnMtime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "servercert.pem")
	var logs bytes.Buffer
	cf := &certFile{path: path, log: logline.NewTo(&logs, "pop3d")}
	if cf.Config() != nil {
		t.Fatal("TLS offered without a certificate")
	}
	t0 := time.Now().Add(-time.Hour)
	writeCert(t, path, "first", t0)
	cfg := cf.Config()
	if commonName(t, cfg) != "first" || cfg.MinVersion != tls.VersionTLS12 {
		t.Fatalf("first load: %q min %x", commonName(t, cfg), cfg.MinVersion)
	}
	writeCert(t, path, "second", t0.Add(time.Minute))
	if got := commonName(t, cf.Config()); got != "second" {
		t.Fatalf("after renewal: %q", got)
	}
	os.WriteFile(path, []byte("garbage"), 0o600)
	if got := commonName(t, cf.Config()); got != "second" {
		t.Fatalf("a broken file replaced the working certificate: %q", got)
	}
	if !bytes.Contains(logs.Bytes(), []byte("warning")) {
		t.Fatal("broken certificate not logged")
	}
}

// TestSessionRefusesRoot: the mailbox side must run as the owner.
func TestSessionRefusesRoot(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root: the refusal to run a mailbox session as root is only reachable as root")
	}
	bin := filepath.Join(t.TempDir(), "goqmail-pop3d")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "-session", t.TempDir()).CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 100 || !bytes.Contains(out, []byte("refuses to run as root")) {
		t.Fatalf("-session as root: %v %s", err, out)
	}
}
