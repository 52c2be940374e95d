package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"goqmail/internal/route/dnstest"
)

// Content authentication end to end (docs/antispam.md): the real goqmaild
// with control/spfcheck, dkimcheck, dmarccheck and dmarcreject on, its DNS
// a loopback server (GOQMAIL_DNS), swaks as the client. A DMARC p=reject
// failure is refused at the end of the data; a p=quarantine one lands in
// Maildir/.Junk (read back with mblaze); a message signed by dkimsign
// passes DKIM and DMARC into the inbox; Authentication-Results a client
// forged in this host's name never reach a mailbox.
func TestDMARCRejectJunkAndForgedResults(t *testing.T) {
	t.Parallel()
	requireTool(t, "swaks", "mlist", "mhdr")
	if _, err := exec.LookPath("dkimsign"); err != nil {
		t.Fatalf("dkimsign not found (%v): install the Debian package python3-dkim; .ci/run must install it before the tests", err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pub := "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der)
	dns := dnstest.Start(t, `
reject.test. 60 IN TXT "v=spf1 -all"
_dmarc.reject.test. 60 IN TXT "v=DMARC1; p=reject"
quar.test. 60 IN TXT "v=spf1 -all"
_dmarc.quar.test. 60 IN TXT "v=DMARC1; p=quarantine"
signed.test. 60 IN TXT "v=spf1 -all"
_dmarc.signed.test. 60 IN TXT "v=DMARC1; p=reject"
client.example.org. 60 IN TXT "v=spf1 ip4:127.0.0.1 -all"
sel._domainkey.signed.test. 60 IN TXT "`+pub[:200]+`" "`+pub[200:]+`"
`)
	s := NewServer(t, Options{
		Env: []string{"GOQMAIL_DNS=" + dns.Addr},
		Control: map[string]string{"spfcheck": "1\n", "dkimcheck": "1\n", "dmarccheck": "1\n", "dmarcreject": "1\n",
			"smtproutes": fmt.Sprintf(":127.0.0.1:%d\n", freePort(t))},
	})
	const forged = "Authentication-Results: mail.example.test; dkim=pass header.d=quar.test; dmarc=pass header.from=quar.test"

	// p=reject, unauthenticated: refused after the data, nothing queued.
	r := swaks(t, s, "--from", "a@reject.test", "--to", "demo@example.test", "--header", "From: a@reject.test", "--header", "Subject: reject me")
	if r.Code == 0 || !strings.Contains(r.Out, "550 5.7.1 message refused: the DMARC policy of reject.test rejects mail it has not authenticated") {
		t.Fatalf("swaks exited %d; want the 550 5.7.1 DMARC refusal at the end of the data:\n%s", r.Code, r.Out)
	}
	s.WaitLog(`smtpd: 127\.0\.0\.1:\d+: dmarc fail from <a@reject\.test> for header\.from reject\.test \(policy reject\): refused$`, 1, deliverTimeout)

	// p=quarantine: accepted, delivered into Maildir/.Junk, not the inbox.
	r = swaks(t, s, "--from", "a@quar.test", "--to", "demo@example.test", "--header", "From: a@quar.test",
		"--header", "Subject: quarantine me", "--add-header", forged, "--add-header", "X-Goqmail-Junk: forged too")
	if r.Code != 0 || !acceptedAfterData.MatchString(r.Out) {
		t.Fatalf("swaks exited %d, want 0 and a 250 after DATA:\n%s", r.Code, r.Out)
	}
	junk := filepath.Join(s.Maildir(), ".Junk")
	waitFor(t, deliverTimeout, "the message in Maildir/.Junk/new", func() bool {
		ents, _ := os.ReadDir(filepath.Join(junk, "new"))
		return len(ents) == 1
	})
	s.WaitLog(`send: end msg`, 1, deliverTimeout)
	list := strings.TrimSpace(mblaze(t, nil, "mlist", junk))
	if files := listFiles(t, filepath.Join(junk, "new")); list != files[0] {
		t.Errorf("mlist %s = %q, want %q", junk, list, files[0])
	}
	if inbox := s.MaildirNew(); len(inbox) != 0 {
		t.Errorf("the quarantined message reached the inbox too: %v", inbox)
	}
	if got := strings.TrimSpace(mblaze(t, []byte(list), "mhdr", "-h", "subject")); got != "quarantine me" {
		t.Errorf("mhdr -h subject = %q", got)
	}
	ar := mblaze(t, []byte(list), "mhdr", "-M", "-h", "authentication-results")
	if strings.Count(ar, "mail.example.test") != 1 || !strings.Contains(ar, "dmarc=fail") || strings.Contains(ar, "dmarc=pass") {
		t.Errorf("Authentication-Results in the Junk copy: want only ours, with dmarc=fail:\n%s", ar)
	}
	if got := strings.TrimSpace(mblaze(t, []byte(list), "mhdr", "-M", "-h", "x-goqmail-junk")); got != "DMARC policy of quar.test (p=quarantine)" {
		t.Errorf("X-Goqmail-Junk = %q, want only smtpd's", got)
	}
	if fi, err := os.Stat(filepath.Join(junk, "maildirfolder")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("Maildir/.Junk/maildirfolder: %v", err)
	}

	// Signed by dkimsign: DKIM passes and aligns, so DMARC passes though
	// SPF fails; the forged field is gone here too.
	keyFile := filepath.Join(t.TempDir(), "sel.key")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		t.Fatal(err)
	}
	msg := "From: Ann <ann@signed.test>\nTo: demo@example.test\nSubject: signed\nDate: Thu, 01 Jan 2026 00:00:00 +0000\n" +
		"Message-ID: <e2e@signed.test>\n\nsigned body\n.dot line\n"
	sign := exec.Command("dkimsign", "sel", "signed.test", keyFile)
	sign.Stdin = strings.NewReader(msg)
	signed, err := sign.Output()
	if err != nil {
		t.Fatalf("dkimsign: %v", err)
	}
	data := filepath.Join(t.TempDir(), "signed.eml")
	if err := os.WriteFile(data, append([]byte(forged+"\r\n"), signed...), 0o644); err != nil {
		t.Fatal(err)
	}
	r = swaks(t, s, "--from", "ann@signed.test", "--to", "demo@example.test", "--data", data)
	if r.Code != 0 || !acceptedAfterData.MatchString(r.Out) {
		t.Fatalf("swaks exited %d, want 0 and a 250 after DATA:\n%s", r.Code, r.Out)
	}
	files := s.WaitMaildir(1, deliverTimeout)
	ar = mblaze(t, []byte(files[0]+"\n"), "mhdr", "-M", "-h", "authentication-results")
	for _, want := range []string{"spf=fail smtp.mailfrom=signed.test", "spf=pass smtp.helo=client.example.org", "dkim=pass header.d=signed.test", "header.s=sel", "dmarc=pass header.from=signed.test"} {
		if !strings.Contains(ar, want) {
			t.Errorf("the signed message's Authentication-Results lack %q:\n%s", want, ar)
		}
	}
	if strings.Contains(ar, "quar.test") {
		t.Errorf("the forged field reached the inbox:\n%s", ar)
	}
	if got := strings.TrimSpace(mblaze(t, []byte(files[0]+"\n"), "mhdr", "-h", "received-spf")); !strings.HasPrefix(got, "fail (mail.example.test: domain of ann@signed.test does not designate 127.0.0.1") {
		t.Errorf("Received-SPF = %q", got)
	}
}
