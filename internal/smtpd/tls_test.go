package smtpd

// TLS and AUTH driven by crypto/tls clients (the dialog harness speaks
// plain text only), against the dialog harness's server and queue.

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// tlsTestEnv starts a server for one test; directives are dialog
// directives ("certificate", "listener smtps", "authuser ...").
func tlsTestEnv(t *testing.T, directives ...string) (*dialogEnv, string) {
	t.Helper()
	var steps []dialogStep
	for i, d := range directives {
		st, err := parseDialogLine(i+1, d)
		if err != nil {
			t.Fatal(err)
		}
		steps = append(steps, st)
	}
	env := dialogSetup(t, steps)
	return env, env.start(t)
}

// smtpClient is a minimal SMTP client that can switch to TLS.
type smtpClient struct {
	t    *testing.T
	env  *dialogEnv
	conn net.Conn
	br   *bufio.Reader
}

func dialSMTP(t *testing.T, env *dialogEnv, addr string, implicitTLS bool) *smtpClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &smtpClient{t: t, env: env, conn: conn, br: bufio.NewReader(conn)}
	if implicitTLS {
		c.handshake(nil)
	}
	return c
}

// handshake starts TLS as a client trusting the test certificate.
func (c *smtpClient) handshake(cfg *tls.Config) {
	c.t.Helper()
	if cfg == nil {
		cfg = &tls.Config{RootCAs: c.env.roots, ServerName: "mail.example.org"}
	}
	tc := tls.Client(c.conn, cfg)
	tc.SetDeadline(time.Now().Add(dialogReplyWait))
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("TLS handshake: %v\n--- log\n%s", err, c.env.logs)
	}
	tc.SetDeadline(time.Time{})
	c.conn, c.br = tc, bufio.NewReader(tc)
}

// reply reads one reply and returns its lines joined by "\n".
func (c *smtpClient) reply() string {
	c.t.Helper()
	var lines []string
	c.conn.SetReadDeadline(time.Now().Add(dialogReplyWait))
	for {
		line, err := c.br.ReadString('\n')
		if err != nil {
			c.t.Fatalf("reading reply after %q: %v\n--- log\n%s", lines, err, c.env.logs)
		}
		line = strings.TrimSuffix(line, "\r\n")
		lines = append(lines, line)
		if len(line) < 4 || line[3] != '-' {
			return strings.Join(lines, "\n")
		}
	}
}

func (c *smtpClient) send(text string) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(dialogReplyWait))
	if _, err := io.WriteString(c.conn, text); err != nil {
		c.t.Fatal(err)
	}
}

// expect sends a command line and checks the reply starts with want.
func (c *smtpClient) expect(cmd, want string) string {
	c.t.Helper()
	if cmd != "" {
		c.send(cmd + "\r\n")
	}
	got := c.reply()
	if !strings.HasPrefix(got, want) {
		c.t.Fatalf("%q: got %q, want %q...\n--- log\n%s", cmd, got, want, c.env.logs)
	}
	return got
}

// expectClosed checks the server closed the connection without a word.
func (c *smtpClient) expectClosed() {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(dialogReplyWait))
	if b, _ := io.ReadAll(c.br); len(b) > 0 {
		c.t.Fatalf("want the connection closed, got %q", b)
	}
}

func plain(login, password string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + login + "\x00" + password))
}

// newestReceived returns the first two lines of the newest queued message.
func newestReceived(t *testing.T, env *dialogEnv) string {
	t.Helper()
	_, lines, err := env.content()
	if err != nil || len(lines) < 2 {
		t.Fatalf("queued message: %v %q", err, lines)
	}
	return lines[0] + "\n" + lines[1]
}

func TestSTARTTLSSubmission(t *testing.T) {
	env, addr := tlsTestEnv(t, "listener submission", "certificate",
		"authuser demo@example.org secret demo demo@example.org")
	c := dialSMTP(t, env, addr, false)
	c.expect("", "220 ")
	ehlo := c.expect("EHLO client.example", "250-mail.example.org")
	if !strings.Contains(ehlo, "250 STARTTLS") || strings.Contains(ehlo, "AUTH") {
		t.Fatalf("plain-text EHLO: want STARTTLS and no AUTH:\n%s", ehlo)
	}
	c.expect("AUTH PLAIN "+plain("demo@example.org", "secret"), "538 5.7.11 ")
	c.expect("MAIL FROM:<demo@example.org>", "530 5.7.0 ")
	if len(env.auth.verified()) != 0 {
		t.Fatalf("a password sent in plain text was verified: %q", env.auth.verified())
	}
	c.expect("STARTTLS", "220 2.0.0 ")
	c.handshake(nil)
	ehlo = c.expect("EHLO client.example", "250-mail.example.org")
	if strings.Contains(ehlo, "STARTTLS") || !strings.Contains(ehlo, "250 AUTH PLAIN LOGIN") {
		t.Fatalf("EHLO over TLS: want AUTH and no STARTTLS:\n%s", ehlo)
	}
	c.expect("STARTTLS", "503 5.5.1 ")
	c.expect("MAIL FROM:<demo@example.org>", "530 5.7.0 ")
	c.expect("AUTH PLAIN "+plain("demo@example.org", "secret"), "235 2.7.0 ")
	c.expect("MAIL FROM:<other@example.org>", "553 5.7.1 ")
	c.expect("MAIL FROM:<demo@example.org>", "250 ")
	c.expect("RCPT TO:<friend@example.com>", "250 ")
	c.expect("DATA", "354 ")
	c.expect("Subject: tls\r\n\r\nbody\r\n.", "250 2.0.0 ok ")
	c.expect("QUIT", "221 ")
	got := newestReceived(t, env)
	if !strings.HasPrefix(got, "Received: from unknown (HELO client.example) (127.0.0.1) (authenticated user demo)\n  by mail.example.org with ESMTPSA; ") {
		t.Errorf("Received line:\n%s", got)
	}
	if strings.Join(env.auth.verified(), ";") != "smtp demo@example.org 127.0.0.1" {
		t.Errorf("Verify calls: %q", env.auth.verified())
	}
}

// RFC 3207 section 4.2: after STARTTLS the server forgets what the client
// said before it, a login included.
func TestSTARTTLSForgetsState(t *testing.T) {
	env, addr := tlsTestEnv(t, "certificate", "control authplaintext 1",
		"authuser demo@example.org secret demo demo@example.org")
	c := dialSMTP(t, env, addr, false)
	c.expect("", "220 ")
	ehlo := c.expect("EHLO client.example", "250-")
	if !strings.Contains(ehlo, "STARTTLS") || !strings.Contains(ehlo, "AUTH PLAIN LOGIN") {
		t.Fatalf("authplaintext EHLO: want STARTTLS and AUTH:\n%s", ehlo)
	}
	c.expect("AUTH PLAIN "+plain("demo@example.org", "secret"), "235 ")
	c.expect("MAIL FROM:<demo@example.org>", "250 ")
	c.expect("STARTTLS", "220 ")
	c.handshake(nil)
	c.expect("RCPT TO:<user@example.org>", "503 5.5.1 MAIL first")
	c.expect("MAIL FROM:<demo@example.org>", "250 ")
	c.expect("RCPT TO:<friend@example.com>", "553 5.7.1 ")
	c.expect("RCPT TO:<user@example.org>", "250 ")
	c.expect("DATA", "354 ")
	c.expect(".", "250 ")
	if got := newestReceived(t, env); !strings.HasPrefix(got, "Received: from unknown (127.0.0.1)\n  by mail.example.org with ESMTPS; ") {
		t.Errorf("Received line:\n%s", got)
	}
}

// CVE-2011-0411: the command pipelined after STARTTLS is never executed.
func TestSTARTTLSInjection(t *testing.T) {
	env, addr := tlsTestEnv(t, "certificate", "control authplaintext 1",
		"authuser demo@example.org secret demo demo@example.org")
	c := dialSMTP(t, env, addr, false)
	c.expect("", "220 ")
	c.expect("EHLO client.example", "250-")
	c.send("STARTTLS\r\nAUTH PLAIN " + plain("demo@example.org", "secret") + "\r\n")
	c.expect("", "554 5.5.1 ")
	c.expectClosed()
	env.waitSessions()
	if len(env.auth.verified()) != 0 {
		t.Errorf("the injected AUTH was run: %q", env.auth.verified())
	}
	if !strings.Contains(env.logs.String(), "CVE-2011-0411") {
		t.Errorf("no log line for the injection:\n%s", env.logs)
	}
}

func TestSMTPS(t *testing.T) {
	env, addr := tlsTestEnv(t, "listener smtps", "certificate",
		"authuser demo@example.org secret demo demo@example.org Alias@Example.org")
	c := dialSMTP(t, env, addr, true)
	c.expect("", "220 mail.example.org ESMTP")
	ehlo := c.expect("EHLO client.example", "250-")
	if strings.Contains(ehlo, "STARTTLS") || !strings.Contains(ehlo, "AUTH PLAIN LOGIN") {
		t.Fatalf("smtps EHLO: want AUTH and no STARTTLS:\n%s", ehlo)
	}
	c.expect("STARTTLS", "503 5.5.1 ")
	c.expect("MAIL FROM:<demo@example.org>", "530 5.7.0 ")
	c.expect("AUTH LOGIN", "334 VXNlcm5hbWU6")
	c.expect(base64.StdEncoding.EncodeToString([]byte("demo@example.org")), "334 UGFzc3dvcmQ6")
	c.expect(base64.StdEncoding.EncodeToString([]byte("secret")), "235 2.7.0 ")
	c.expect("MAIL FROM:<boss@example.org>", "553 5.7.1 ")
	c.expect("MAIL FROM:<alias@example.org>", "250 ")
	c.expect("RCPT TO:<friend@example.com>", "250 ")
	c.expect("DATA", "354 ")
	c.expect(".", "250 ")
	if got := newestReceived(t, env); !strings.Contains(got, "(authenticated user demo)\n  by mail.example.org with ESMTPSA; ") {
		t.Errorf("Received line:\n%s", got)
	}

	// A plain-text client on the smtps port gets no greeting.
	p := dialSMTP(t, env, addr, false)
	p.send("EHLO client.example\r\n")
	p.expectClosed()

	// Nor does a TLS 1.1 client (TLS 1.2 or newer where passwords travel).
	old, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	tc := tls.Client(old, &tls.Config{RootCAs: env.roots, ServerName: "mail.example.org", MaxVersion: tls.VersionTLS11})
	tc.SetDeadline(time.Now().Add(dialogReplyWait))
	if err := tc.Handshake(); err == nil {
		t.Error("a TLS 1.1 handshake succeeded")
	}
}

// TestSwaks submits with swaks over STARTTLS and over implicit TLS, with
// AUTH PLAIN and LOGIN.
func TestSwaks(t *testing.T) {
	swaks, err := exec.LookPath("swaks")
	if err != nil {
		t.Skip("swaks not installed")
	}
	for _, tc := range []struct {
		kind string
		args []string
	}{
		{"submission", []string{"--tls", "--auth", "PLAIN"}},
		{"submission", []string{"--tls", "--auth", "LOGIN"}},
		{"smtps", []string{"--tlsc", "--auth", "PLAIN"}},
	} {
		env, addr := tlsTestEnv(t, "listener "+tc.kind, "certificate",
			"authuser demo@example.org secret demo demo@example.org")
		host, port, _ := net.SplitHostPort(addr)
		args := append([]string{"--server", host, "--port", port, "--from", "demo@example.org", "--to", "friend@example.com",
			"--auth-user", "demo@example.org", "--auth-password", "secret", "--ehlo", "client.example"}, tc.args...)
		out, err := exec.Command(swaks, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("swaks %v: %v\n%s\n--- log\n%s", tc.args, err, out, env.logs)
		}
		if got := newestReceived(t, env); !strings.Contains(got, "with ESMTPSA; ") {
			t.Errorf("swaks %v: Received line:\n%s", tc.args, got)
		}
	}
}
