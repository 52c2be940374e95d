package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"goqmail/internal/route/dnstest"
)

// e2eCA is a test CA whose certificate goqmail-remote trusts through
// GOQMAIL_TLS_ROOTS.
type e2eCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newE2ECA(t *testing.T) *e2eCA {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "e2e MTA-STS CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &e2eCA{cert: cert, key: key}
}

// issue writes a certificate for names and its key into dir.
func (ca *e2eCA) issue(t *testing.T, dir, base string, names ...string) (certFile, keyFile string) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: names[0]},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), DNSNames: names,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, base+".crt"), filepath.Join(dir, base+".key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o644)
	return certFile, keyFile
}

// startAiosmtpd runs Python's aiosmtpd on addr writing into maildir, with
// STARTTLS when certFile is given.
func startAiosmtpd(t *testing.T, addr, maildir, certFile, keyFile string) {
	args := []string{"-m", "aiosmtpd", "-n", "-l", addr}
	if certFile != "" {
		args = append(args, "--tlscert", certFile, "--tlskey", keyFile)
	}
	args = append(args, "-c", "aiosmtpd.handlers.Mailbox", maildir)
	cmd := exec.Command("/usr/bin/python3", args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitFor(t, 10*time.Second, "aiosmtpd listening on "+addr, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

// TestMTASTSEnforcedEndToEnd: goqmaild delivers to three domains whose
// MTA-STS policies (served over HTTPS by a test server, found through the
// test DNS) are in mode enforce. aiosmtpd peers: good.example with a
// certificate for its MX name delivers; bad.example with a certificate
// for another name and plain.example without STARTTLS (the downgrade an
// attacker on the path would cause) stay queued, and `goqmail queue
// show` and the log say why.
func TestMTASTSEnforcedEndToEnd(t *testing.T) {
	if out, err := exec.Command("/usr/bin/python3", "-c", "import aiosmtpd").CombinedOutput(); err != nil {
		t.Fatalf("aiosmtpd missing (apt-get install python3-aiosmtpd): %v\n%s", err, out)
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	ca := newE2ECA(t)
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}), 0o644)
	port := freePortOn(t, "127.0.0.2", "127.0.0.3", "127.0.0.4")
	goodCrt, goodKey := ca.issue(t, dir, "good", "mx.good.example")
	badCrt, badKey := ca.issue(t, dir, "bad", "mx.someone-else.example")
	startAiosmtpd(t, fmt.Sprintf("127.0.0.2:%d", port), filepath.Join(dir, "good"), goodCrt, goodKey)
	startAiosmtpd(t, fmt.Sprintf("127.0.0.3:%d", port), filepath.Join(dir, "bad"), badCrt, badKey)
	startAiosmtpd(t, fmt.Sprintf("127.0.0.4:%d", port), filepath.Join(dir, "plain"), "", "")

	webCrt, webKey := ca.issue(t, dir, "web", "mta-sts.good.example", "mta-sts.bad.example", "mta-sts.plain.example")
	pair, err := tls.LoadX509KeyPair(webCrt, webKey)
	if err != nil {
		t.Fatal(err)
	}
	web := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := strings.Cut(r.Host, ":")
		d := strings.TrimPrefix(host, "mta-sts.")
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "version: STSv1\r\nmode: enforce\r\nmx: mx.%s\r\nmax_age: 86400\r\n", d)
	}))
	web.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	web.StartTLS()
	t.Cleanup(web.Close)
	_, webPort, _ := net.SplitHostPort(web.Listener.Addr().String())

	var zone strings.Builder
	for i, d := range []string{"good.example", "bad.example", "plain.example"} {
		fmt.Fprintf(&zone, "%s. 300 IN MX 10 mx.%s.\nmx.%s. 300 IN A 127.0.0.%d\n", d, d, d, i+2)
		fmt.Fprintf(&zone, "_mta-sts.%s. 300 IN TXT \"v=STSv1; id=e2e1;\"\nmta-sts.%s. 300 IN A 127.0.0.1\n", d, d)
	}
	dns := dnstest.Start(t, zone.String())
	s := NewServer(t, Options{Env: []string{"GOQMAIL_DNS=" + dns.Addr, "GOQMAIL_REMOTEPORT=" + strconv.Itoa(port),
		"GOQMAIL_TLS_ROOTS=" + caFile, "GOQMAIL_MTASTS_PORT=" + webPort},
		Control: map[string]string{"timeoutconnect": "2\n"}})

	for _, d := range []string{"good.example", "bad.example", "plain.example"} {
		sendmailAs(t, s, "demo@example.test", []string{"rcpt@" + d}, "Subject: to "+d+"\n\nhello\n")
	}
	var got []string
	waitFor(t, deliverTimeout, "the message in good.example's Maildir", func() bool {
		got = listFiles(t, filepath.Join(dir, "good", "new"))
		return len(got) == 1
	})
	s.WaitLog(`remote: delivery \d+: msg \S+ to good\.example: 1 accepted.*via 127\.0\.0\.2:\d+ \[TLS.*certificate verified \(WebPKI\)\]`, 1, deliverTimeout)
	s.WaitLog(`send: delivery \d+: success: rcpt@good\.example.*TLS: TLS.*certificate verified \(WebPKI\)`, 1, deliverTimeout)
	s.WaitLog(`remote: delivery \d+: msg \S+ to bad\.example: 0 accepted, 0 failed, 1 deferred`, 1, deliverTimeout)
	s.WaitLog(`remote: delivery \d+: msg \S+ to plain\.example: 0 accepted, 0 failed, 1 deferred`, 1, deliverTimeout)
	for _, d := range []string{"bad", "plain"} {
		if f := listFiles(t, filepath.Join(dir, d, "new")); len(f) != 0 {
			t.Errorf("%s.example got mail despite its enforcing policy: %v", d, f)
		}
	}
	list := goqmailCmd(t, s, "", false, "queue", "list")
	for _, want := range []string{
		"rcpt@bad.example  next try",
		"the TLS handshake failed (MTA-STS enforce): x509: certificate is valid for mx.someone-else.example, not mx.bad.example. (#4.7.5)",
		"rcpt@plain.example  next try",
		"it does not offer STARTTLS, and TLS is required for this domain (MTA-STS enforce). (#4.4.2)",
	} {
		if !strings.Contains(list, want) {
			t.Errorf("goqmail queue list lacks %q:\n%s", want, list)
		}
	}
	if strings.Contains(list, "good.example") {
		t.Errorf("good.example's message is still queued:\n%s", list)
	}
}

// TestDANEEndToEnd: with control/dane, goqmaild trusts the AD bit of its
// DNS server (the test server plays the validating resolver). dane.example
// publishes a DANE-EE record matching its MX's certificate, issued by a CA
// nobody trusts and for another name: it delivers, verified by DANE.
// wrongtlsa.example's record matches nothing: the mail stays queued.
func TestDANEEndToEnd(t *testing.T) {
	if out, err := exec.Command("/usr/bin/python3", "-c", "import aiosmtpd").CombinedOutput(); err != nil {
		t.Fatalf("aiosmtpd missing (apt-get install python3-aiosmtpd): %v\n%s", err, out)
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	ca := newE2ECA(t) // not in GOQMAIL_TLS_ROOTS: only DANE can vouch for it
	port := freePortOn(t, "127.0.0.5", "127.0.0.6")
	crt, key := ca.issue(t, dir, "mx", "not-the-mx-name.example")
	startAiosmtpd(t, fmt.Sprintf("127.0.0.5:%d", port), filepath.Join(dir, "dane"), crt, key)
	startAiosmtpd(t, fmt.Sprintf("127.0.0.6:%d", port), filepath.Join(dir, "wrong"), crt, key)
	pemData, _ := os.ReadFile(crt)
	blk, _ := pem.Decode(pemData)
	leaf, _ := x509.ParseCertificate(blk.Bytes)
	spki := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	dns := dnstest.Start(t, fmt.Sprintf(`
dane.example. 300 IN MX 10 mx.dane.example.
mx.dane.example. 300 IN A 127.0.0.5
_25._tcp.mx.dane.example. 300 IN TLSA 3 1 1 %x
wrongtlsa.example. 300 IN MX 10 mx.wrongtlsa.example.
mx.wrongtlsa.example. 300 IN A 127.0.0.6
_25._tcp.mx.wrongtlsa.example. 300 IN TLSA 3 1 1 %s
`, spki, strings.Repeat("ab", 32)))
	dns.Secure("*")
	s := NewServer(t, Options{Env: []string{"GOQMAIL_DNS=" + dns.Addr, "GOQMAIL_REMOTEPORT=" + strconv.Itoa(port)},
		Control: map[string]string{"timeoutconnect": "2\n", "dane": "1\n"}})
	sendmailAs(t, s, "demo@example.test", []string{"rcpt@dane.example"}, "Subject: DANE\n\nhello\n")
	sendmailAs(t, s, "demo@example.test", []string{"rcpt@wrongtlsa.example"}, "Subject: DANE\n\nhello\n")
	waitFor(t, deliverTimeout, "the message in dane.example's Maildir", func() bool {
		return len(listFiles(t, filepath.Join(dir, "dane", "new"))) == 1
	})
	s.WaitLog(`send: delivery \d+: success: rcpt@dane\.example.*TLS: TLS.*certificate verified \(DANE-EE\)`, 1, deliverTimeout)
	s.WaitLog(`send: delivery \d+: deferral: rcpt@wrongtlsa\.example: .*TLS handshake failed \(DANE\): DANE: no TLSA record matches`, 1, deliverTimeout)
	if f := listFiles(t, filepath.Join(dir, "wrong", "new")); len(f) != 0 {
		t.Errorf("wrongtlsa.example got mail although no TLSA record matched: %v", f)
	}
}
