package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"goqmail/internal/accounts"
	"goqmail/internal/acmecert/pebbletest"
	"goqmail/internal/route/dnstest"
)

// servedCert asks smtpd for its certificate the way an administrator
// would: openssl s_client with STARTTLS, then openssl x509 for the serial
// and the issuer.
func servedCert(t *testing.T, addr string) string {
	t.Helper()
	sc := exec.Command("openssl", "s_client", "-connect", addr, "-starttls", "smtp", "-servername", "mx.acme.test")
	sc.Stdin = strings.NewReader("")
	pemOut, err := sc.Output()
	if err != nil && len(pemOut) == 0 {
		t.Fatalf("openssl s_client: %v", err)
	}
	x := exec.Command("openssl", "x509", "-noout", "-serial", "-issuer")
	x.Stdin = strings.NewReader(string(pemOut))
	out, err := x.CombinedOutput()
	if err != nil {
		t.Fatalf("openssl x509: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// waitCert waits until s_client shows a certificate for which ok holds.
func waitCert(t *testing.T, addr, what string, ok func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c := servedCert(t, addr)
		if ok(c) {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited 30s for %s; smtpd serves %q", what, c)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestACMECertificateIssuedRenewedAndKept runs goqmaild with goqmail-acme
// against pebble on loopback: HTTP-01 through the port the supervisor
// binds, the first certificate replacing init's self-signed one in smtpd
// without a restart, a renewal (acmerenewdays above the certificate's
// life, then SIGHUP) seen by openssl s_client as a new serial, the hook
// run, the MTA-STS policy served over HTTPS with the new certificate, and
// the CA down at the next renewal: an alert, and the same certificate
// still served.
func TestACMECertificateIssuedRenewedAndKept(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatalf("openssl not found (%v): install the Debian package openssl", err)
	}
	dns := dnstest.Start(t, "mx.acme.test. 300 IN A 127.0.0.1\nmta-sts.acme.test. 300 IN A 127.0.0.1\n")
	httpPort, stsPort := freePort(t), freePort(t)
	pb := pebbletest.Start(t, dns.Addr, httpPort)
	shared := t.TempDir()
	os.Chmod(shared, 0o777) // the hook runs as goqmaila
	roots := filepath.Join(shared, "pebble-listener.pem")
	os.WriteFile(roots, pb.RootsPEM, 0o644)
	hookFile := filepath.Join(shared, "hook-ran")
	s := NewServer(t, Options{NoStart: true,
		Env: []string{"GOQMAIL_DNS=" + dns.Addr, "GOQMAIL_TLS_ROOTS=" + roots, "GOQMAIL_ACME_CHECK=1h"},
		Control: map[string]string{
			"acmedomains":   "mx.acme.test\nmta-sts.acme.test\n",
			"acmedirectory": pb.Directory + "\n",
			"acmelisten":    "127.0.0.1:" + strconv.Itoa(httpPort) + "\n",
			"mtastslisten":  "127.0.0.1:" + strconv.Itoa(stsPort) + "\n",
			"mtastsmx":      "mx.acme.test\n",
			"acmehook":      "/usr/bin/touch " + hookFile + "\n",
		}})
	// control/servercert.pem becomes the link goqmail-acme's file is
	// read through; init's self-signed certificate starts there.
	ctl := filepath.Join(s.Root, "control", "servercert.pem")
	acmeCert := filepath.Join(s.Root, "acme", "servercert.pem")
	if err := os.Rename(ctl, acmeCert); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../acme/servercert.pem", ctl); err != nil {
		t.Fatal(err)
	}
	if asRoot {
		ids, err := accounts.Lookup(accounts.ACME)
		if err != nil {
			t.Fatal(err)
		}
		os.Chown(acmeCert, ids.UID, ids.GID)
		os.Chmod(acmeCert, 0o640)
	}
	s.Start()

	// The self-signed certificate does not name mx.acme.test: the first
	// check orders one, and smtpd serves it without a restart.
	first := waitCert(t, s.Addr, "pebble's certificate", func(c string) bool { return strings.Contains(c, "Pebble") })
	s.WaitLog(`acme: status: new certificate for mx.acme.test mta-sts.acme.test installed`, 1, 10*time.Second)
	if _, err := os.Stat(hookFile); err != nil {
		t.Errorf("acmehook did not run: %v", err)
	}
	if asRoot {
		// goqmail-acme holds keys and faces the network: never root.
		ids, _ := accounts.Lookup(accounts.ACME)
		pid, _ := os.ReadFile(filepath.Join(s.Root, "run", "acme.pid"))
		status, err := os.ReadFile("/proc/" + strings.TrimSpace(string(pid)) + "/status")
		want := "Uid:\t" + strconv.Itoa(ids.UID) + "\t" + strconv.Itoa(ids.UID)
		if err != nil || !strings.Contains(string(status), want) || !strings.Contains(string(status), "CapEff:\t0000000000000000") {
			t.Errorf("goqmail-acme (pid %s) should run as goqmaila without capabilities: %v\n%s", pid, err, status)
		}
	}
	if fi, err := os.Stat(acmeCert); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("certificate file: %v %v, want mode 0640", fi.Mode(), err)
	}

	// The MTA-STS policy, over HTTPS with the ACME certificate, checked
	// against pebble's root as a sending MTA would check its WebPKI.
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pb.IssuerPEM)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, "127.0.0.1:"+strconv.Itoa(stsPort))
		}}}
	resp, err := hc.Get("https://mta-sts.acme.test/.well-known/mta-sts.txt")
	if err != nil {
		t.Fatalf("MTA-STS policy: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/plain" ||
		string(body) != "version: STSv1\r\nmode: testing\r\nmx: mx.acme.test\r\nmax_age: 604800\r\n" {
		t.Errorf("MTA-STS policy: %s %q %q", resp.Status, resp.Header.Get("Content-Type"), body)
	}

	// Renewal: the certificate now counts as too close to its end.
	os.Remove(hookFile)
	s.SetControl("acmerenewdays", "3650\n")
	s.Signal(syscall.SIGHUP)
	second := waitCert(t, s.Addr, "a renewed certificate", func(c string) bool { return c != first && strings.Contains(c, "Pebble") })
	s.WaitLog(`acme: status: new certificate for`, 2, 10*time.Second)
	if _, err := os.Stat(hookFile); err != nil {
		t.Errorf("acmehook did not run after the renewal: %v", err)
	}

	// The CA is down at the next renewal: an alert that says the old
	// certificate stays, and smtpd still serves it.
	pb.Stop()
	s.Signal(syscall.SIGHUP)
	lines := s.WaitLog(`acme: alert: ACME: the certificate for mx.acme.test mta-sts.acme.test could not be obtained`, 1, 30*time.Second)
	if !strings.Contains(lines[0], "keeping the current certificate, valid until") {
		t.Errorf("alert does not say the certificate is kept: %s", lines[0])
	}
	if c := servedCert(t, s.Addr); c != second {
		t.Errorf("after a failed renewal smtpd serves %q, want the renewed %q", c, second)
	}
	if regexp.MustCompile(`(?m)^.*goqmail-acme.*(exited|restarting)`).MatchString(s.Log()) || testing.Verbose() {
		t.Errorf("goqmail-acme exited:\n%s", s.Log())
	}
}
