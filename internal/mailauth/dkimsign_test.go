package mailauth

import (
	"bytes"
	"context"
	"goqmail/internal/policydns"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"goqmail/internal/route/dnstest"
)

// Messages signed by Debian's dkimsign command (RSA and Ed25519, both
// canonicalizations) verify; every tampered copy fails.
func TestDkimsignSignedVerifies(t *testing.T) {
	if _, err := exec.LookPath("dkimsign"); err != nil {
		t.Fatalf("dkimsign not found (%v): install the Debian package python3-dkim; .ci/run must install it before the tests", err)
	}
	requirePython(t) // Ed25519 signing needs python3-nacl
	k := newKeys(t)
	srv := dnstest.Start(t, txtRR("rsa._domainkey.signer.test.", k.record("rsa2048"))+"\n"+txtRR("ed._domainkey.signer.test.", k.record("ed25519")))
	r := policydns.New([]string{srv.Addr}, 5*time.Second, 0)
	dir := t.TempDir()
	msg := "From: Ann <ann@signer.test>\nTo: bob@mx.example.test\nSubject: signed by dkimsign\n" +
		"Date: Thu, 01 Jan 2026 00:00:00 +0000\n\nHello Bob,\n\n.a line with a dot\nthe end.\n"
	tampers := map[string]func(string) string{
		"body changed":       body("Hello Bob", "Hello Eve"),
		"subject changed":    body("Subject: signed", "Subject: SIGNED"),
		"from changed":       body("From: Ann <ann@", "From: Eve <ann@"),
		"line appended":      func(m string) string { return m + "PS: pay now\n" },
		"second From added":  func(m string) string { return strings.Replace(m, "To:", "From: eve@signer.test\nTo:", 1) },
		"body hash flipped":  flipAfter("bh="),
		"signature flipped":  flipAfter(" b="),
		"empty line removed": body("Hello Bob,\n\n", "Hello Bob,\n"),
	}
	for _, c := range []struct{ key, selector, alg, hcanon, bcanon string }{
		{"rsa2048", "rsa", "rsa-sha256", "relaxed", "simple"},
		{"rsa2048", "rsa", "rsa-sha256", "simple", "relaxed"},
		{"ed25519", "ed", "ed25519-sha256", "relaxed", "relaxed"},
		{"ed25519", "ed", "ed25519-sha256", "simple", "simple"},
	} {
		keyFile := filepath.Join(dir, c.key+".key")
		if err := os.WriteFile(keyFile, []byte(k.private(c.key)), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("dkimsign", "--signalg", c.alg, "--hcanon", c.hcanon, "--bcanon", c.bcanon, c.selector, "signer.test", keyFile)
		cmd.Stdin = strings.NewReader(msg)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("dkimsign %s: %v\n%s", c.alg, err, stderr.String())
		}
		// dkimsign writes CRLF line ends when given LF; smtpd hands the
		// checks the stored form, LF.
		signed := strings.ReplaceAll(string(out), "\r\n", "\n")
		name := c.alg + " " + c.hcanon + "/" + c.bcanon
		if got := verifyOne(t, r, signed); got != "pass" {
			t.Errorf("%s: %s, want pass\n%s", name, got, signed)
		}
		for what, tamper := range tampers {
			bad := tamper(signed)
			if bad == signed {
				t.Fatalf("%s: tampering %q changed nothing", name, what)
			}
			if got := verifyOne(t, r, bad); got != "fail" {
				t.Errorf("%s, %s: %s, want fail", name, what, got)
			}
		}
	}
}

// flipAfter changes the first base64 character after tag, keeping the
// length: a well-formed value that no longer matches.
func flipAfter(tag string) func(string) string {
	return func(m string) string {
		i := strings.Index(m, tag) + len(tag)
		for m[i] == ' ' || m[i] == '\n' || m[i] == '\t' {
			i++
		}
		c := byte('A')
		if m[i] == 'A' {
			c = 'B'
		}
		return m[:i] + string(c) + m[i+1:]
	}
}

func verifyOne(t *testing.T, r Resolver, msg string) string {
	t.Helper()
	v := NewDKIMVerifier(context.Background(), r)
	v.Write([]byte(msg))
	ks, err := v.Results(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return dkimList(ks)
}
