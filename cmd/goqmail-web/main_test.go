package main

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testDir holds the binary and every test's ROOT; it is readable by
// nobody, whom the program runs as when the tests run as root.
var testDir string

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "goqmail-web-test")
	if err != nil {
		panic(err)
	}
	os.Chmod(d, 0o755)
	testDir = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

// build compiles the program once per test binary.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(testDir, "goqmail-web")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// certPEM writes a self-signed key and certificate for cn to path.
func certPEM(t *testing.T, path, cn string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		DNSNames: []string{cn}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	var buf bytes.Buffer
	pem.Encode(&buf, &pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
	pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// unprivileged runs cmd as nobody when the test runs as root: the program
// refuses root.
func unprivileged(cmd *exec.Cmd) {
	if os.Getuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
}

func newRoot(t *testing.T) string {
	root, err := os.MkdirTemp(testDir, "root")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(root, 0o755)
	os.MkdirAll(filepath.Join(root, "control"), 0o755)
	return root
}

// start runs goqmail-web over root with one https listener on fd 3 and
// returns its address and the running command.
func start(t *testing.T, bin, root string) (string, *exec.Cmd, *bufio.Scanner) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, _ := ln.(*net.TCPListener).File()
	ln.Close()
	cmd := exec.Command(bin, root)
	cmd.ExtraFiles = []*os.File{f}
	cmd.Env = []string{"GOQMAIL_FDS=1", "GOQMAIL_FD_KINDS=https", "PATH=/usr/bin:/bin"}
	unprivileged(cmd)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "serving https") {
			return ln.Addr().String(), cmd, sc
		}
	}
	t.Fatalf("goqmail-web did not start")
	return "", nil, nil
}

func servedName(t *testing.T, addr string) (string, *http.Response) {
	t.Helper()
	var cn string
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error { cn = cs.PeerCertificates[0].Subject.CommonName; return nil }}}
	c := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get("https://" + addr + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	tr.CloseIdleConnections()
	return cn, resp
}

func TestServesHTTPSAndSwitchesToTheACMECertificate(t *testing.T) {
	bin := build(t)
	root := newRoot(t)
	certPEM(t, filepath.Join(root, "control", "servercert.pem"), "control.test")
	addr, cmd, _ := start(t, bin, root)
	cn, resp := servedName(t, addr)
	if cn != "control.test" || resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("served %q, %d, CSP %q", cn, resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
	certPEM(t, filepath.Join(root, "acme", "servercert.pem"), "acme.test")
	cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if cn, _ := servedName(t, addr); cn == "acme.test" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("SIGHUP did not switch to acme/servercert.pem")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestWithoutACertificateItDoesNotStart(t *testing.T) {
	bin := build(t)
	root := newRoot(t)
	cmd := exec.Command(bin, root)
	cmd.Env = []string{"GOQMAIL_FDS=1", "GOQMAIL_FD_KINDS=https"}
	unprivileged(cmd)
	out, err := cmd.CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 78 || !bytes.Contains(out, []byte("needs a TLS certificate")) {
		t.Fatalf("no certificate: %v\n%s", err, out)
	}
	os.WriteFile(filepath.Join(root, "control", "servercert.pem"), []byte("not a pem"), 0o644)
	cmd = exec.Command(bin, root)
	cmd.Env = []string{"GOQMAIL_FDS=1", "GOQMAIL_FD_KINDS=https"}
	unprivileged(cmd)
	out, err = cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 78 || !bytes.Contains(out, []byte("servercert.pem")) {
		t.Fatalf("broken certificate: %v\n%s", err, out)
	}
}

func TestRefusesRoot(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root: the refusal to run as root is only reachable as root")
	}
	bin := build(t)
	out, err := exec.Command(bin, newRoot(t)).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 111 || !bytes.Contains(out, []byte("refusing to run as root")) {
		t.Fatalf("as root: %v\n%s", err, out)
	}
}

func TestHelp(t *testing.T) {
	out, err := exec.Command(build(t), "--help").CombinedOutput()
	if err != nil || !bytes.HasPrefix(out, []byte("usage: goqmail-web ROOT")) {
		t.Fatalf("--help: %v\n%s", err, out)
	}
}
