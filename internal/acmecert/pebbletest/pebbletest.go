// Package pebbletest runs Let's Encrypt's ACME test server, pebble (the
// Debian package), on loopback for tests: its own TLS certificate, its
// DNS queries sent to a test DNS server, its HTTP-01 checks to a port
// the test chooses.
package pebbletest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Pebble is a running pebble.
type Pebble struct {
	Directory string // the ACME directory URL
	// RootsPEM is the certificate of pebble's own HTTPS listener, for the
	// client's trust (GOQMAIL_TLS_ROOTS); IssuerPEM is the root that
	// issues the certificates, fetched from the management port.
	RootsPEM  []byte
	Roots     *x509.CertPool
	IssuerPEM []byte

	cmd  *exec.Cmd
	done chan struct{}
	mgmt string
	t    testing.TB
}

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Start runs pebble; dnsAddr is the DNS server it resolves names with,
// httpPort the port its HTTP-01 checks connect to. It stops when the
// test ends. A missing pebble fails the test: .ci/run installs it.
func Start(t testing.TB, dnsAddr string, httpPort int) *Pebble {
	t.Helper()
	bin, err := exec.LookPath("pebble")
	if err != nil {
		t.Fatalf("pebble not found (%v): install the Debian package pebble (apt-get install pebble); .ci/run must install it before the tests", err)
	}
	dir := t.TempDir()
	certPEM, keyPEM := selfSigned(t)
	os.WriteFile(filepath.Join(dir, "cert.pem"), certPEM, 0o644)
	os.WriteFile(filepath.Join(dir, "key.pem"), keyPEM, 0o600)
	listen := "127.0.0.1:" + strconv.Itoa(freePort(t))
	p := &Pebble{Directory: "https://" + listen + "/dir", RootsPEM: certPEM, mgmt: "127.0.0.1:" + strconv.Itoa(freePort(t)), t: t}
	p.Roots = x509.NewCertPool()
	p.Roots.AppendCertsFromPEM(certPEM)
	cfg, _ := json.Marshal(map[string]any{"pebble": map[string]any{
		"listenAddress": listen, "managementListenAddress": p.mgmt,
		"certificate": filepath.Join(dir, "cert.pem"), "privateKey": filepath.Join(dir, "key.pem"),
		"httpPort": httpPort, "tlsPort": freePort(t), "ocspResponderURL": "", "externalAccountBindingRequired": false,
	}})
	os.WriteFile(filepath.Join(dir, "pebble.json"), cfg, 0o644)
	p.cmd = exec.Command(bin, "-config", filepath.Join(dir, "pebble.json"), "-dnsserver", dnsAddr)
	// No random sleeps before validation, no rejected nonces, no reused
	// authorizations: every order validates afresh.
	p.cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0")
	log, _ := os.Create(filepath.Join(dir, "pebble.log"))
	p.cmd.Stdout, p.cmd.Stderr = log, log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start pebble: %v", err)
	}
	p.done = make(chan struct{})
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			out, _ := os.ReadFile(filepath.Join(dir, "pebble.log"))
			t.Logf("pebble log:\n%s", out)
		}
	})
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.Roots}}, Timeout: 2 * time.Second}
	for deadline := time.Now().Add(20 * time.Second); ; {
		resp, err := hc.Get(p.Directory)
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case <-p.done:
			t.Fatalf("pebble exited: %v", p.cmd.ProcessState)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("pebble did not answer at %s: %v", p.Directory, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}).Get("https://" + p.mgmt + "/roots/0")
	if err != nil {
		t.Fatalf("pebble's issuing root: %v", err)
	}
	defer resp.Body.Close()
	p.IssuerPEM, err = io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		t.Fatalf("pebble's issuing root: %v", err)
	}
	return p
}

// Stop ends pebble (the CA going down); it is safe to call twice.
func (p *Pebble) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Kill()
	<-p.done
}

// selfSigned makes the certificate of pebble's own HTTPS listener.
func selfSigned(t testing.TB) (certPEM, keyPEM []byte) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pebble test listener"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}
