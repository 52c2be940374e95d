package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Real clients against goqmail's POP3, submission and TLS listeners:
// fetchmail, Dovecot's POP3 server as a reference, msmtp over implicit TLS,
// openssl s_client, and POP-before-SMTP's refusal to grant on a failed
// login.

// c6Run runs a client with a timeout and optional credentials and
// environment; it returns the combined output and the exit code.
func c6Run(t *testing.T, cred *syscall.Credential, env []string, stdin []byte, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	if env != nil {
		cmd.Env = env
	}
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %q did not finish within %v:\n%s", name, args, clientTimeout, out.String())
	}
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%s: %v", name, err)
		}
		code = ee.ExitCode()
	}
	return result{Out: out.String(), Code: code}
}

// c6VirtualUser adds domain virt.example and user LOCAL with password pw.
func c6VirtualUser(t *testing.T, s *Server, local, pw string) string {
	t.Helper()
	goqmailCmd(t, s, "", false, "domain", "add", "virt.example")
	goqmailCmd(t, s, pw+"\n", false, "user", "add", local+"@virt.example")
	return local + "@virt.example"
}

// c6Deliver sends one message per body to addr and waits until all are in
// the virtual Maildir's new/.
func c6Deliver(t *testing.T, s *Server, local string, bodies ...string) {
	t.Helper()
	for i, body := range bodies {
		r := swaks(t, s, "--to", local+"@virt.example", "--header", fmt.Sprintf("Subject: c6 message %d", i+1), "--body", body)
		if !acceptedAfterData.MatchString(r.Out) {
			t.Fatalf("swaks:\n%s", r.Out)
		}
	}
	waitFor(t, deliverTimeout, fmt.Sprintf("%d messages for %s", len(bodies), local), func() bool {
		return len(listFiles(t, virtualMaildir(s, "virt.example", local))) == len(bodies)
	})
}

// TestFetchmailRetrievesAsUnprivilegedUser: fetchmail, run as nobody with
// its own rc file, upgrades goqmail's POP3 with STLS (TLS 1.2 or newer),
// fetches both messages into an MDA and deletes them (--nokeep), so the
// mailbox is empty afterwards.
func TestFetchmailRetrievesAsUnprivilegedUser(t *testing.T) {
	needRoot(t, "it runs fetchmail as nobody (CI runs as root)")
	if _, err := exec.LookPath("fetchmail"); err != nil {
		t.Fatalf("fetchmail not installed (apt-get install fetchmail): %v", err)
	}
	pop := freePort(t)
	s := NewServer(t, Options{Control: map[string]string{"pop3listen": fmt.Sprintf("127.0.0.1:%d\n", pop)}})
	user := c6VirtualUser(t, s, "fred", "fetch secret")
	c6Deliver(t, s, "fred", "first body for fetchmail", ".a dotted line\nsecond body for fetchmail")

	uid, gid := lookupIDs(t, "nobody")
	home := t.TempDir()
	for _, d := range []string{filepath.Dir(home), home} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(home, uid, gid); err != nil {
		t.Fatal(err)
	}
	fetched := filepath.Join(home, "fetched")
	// sslproto without ssl means STLS, required (fetchmail(1), --sslproto,
	// "semantic changes since v6.4.0"); the certificate is goqmail init's
	// self-signed one, hence no sslcertck.
	rc := fmt.Sprintf(`set no syslog
poll 127.0.0.1 service %d protocol pop3 timeout 15:
  user "%s" there with password "fetch secret" is nobody here
  sslproto "TLS1.2+" no sslcertck
  mda "cat >> %s"
  nokeep
`, pop, user, fetched)
	rcPath := filepath.Join(home, ".fetchmailrc")
	if err := os.WriteFile(rcPath, []byte(rc), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(rcPath, uid, gid); err != nil {
		t.Fatal(err)
	}
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
	env := []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + home, "LC_ALL=C"}
	r := c6Run(t, cred, env, nil, "fetchmail", "-v", "-f", rcPath)
	if r.Code != 0 {
		t.Fatalf("fetchmail exited %d (0 = mail retrieved):\n%s", r.Code, r.Out)
	}
	if !regexp.MustCompile(`(?i)TLSv1\.[23]`).MatchString(r.Out) {
		t.Errorf("fetchmail -v does not report a TLS 1.2+ session:\n%s", r.Out)
	}
	got, err := os.ReadFile(fetched)
	if err != nil {
		t.Fatalf("the MDA wrote nothing: %v\nfetchmail:\n%s", err, r.Out)
	}
	for _, want := range []string{"first body for fetchmail", "\n.a dotted line\n", "second body for fetchmail", "Delivered-To: " + user} {
		if !strings.Contains(string(got), want) {
			t.Errorf("fetched mail lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(string(got), "Delivered-To: "+user); n != 2 {
		t.Errorf("fetched %d messages, want 2:\n%s", n, got)
	}
	md := filepath.Dir(virtualMaildir(s, "virt.example", "fred"))
	for _, sub := range []string{"new", "cur"} {
		if left := listFiles(t, filepath.Join(md, sub)); len(left) != 0 {
			t.Errorf("%s/ not empty after fetchmail --nokeep: %v", sub, left)
		}
	}
}

// c6POPSnapshot is what one read-only POP3 session saw (see c6PoplibScript).
type c6POPSnapshot struct {
	Count  int      `json:"count"`
	Size   int      `json:"size"`
	Sizes  []int    `json:"sizes"`
	UIDLs  []string `json:"uidl"`
	Bodies []string `json:"bodies"` // RETR, unstuffed, lines joined by CRLF
	Tops   []string `json:"tops"`   // TOP n 0
}

// c6PoplibScript runs one read-only session (no DELE) and prints it as
// JSON. poplib undoes the dot-stuffing of multi-line answers.
const c6PoplibScript = `
import json, poplib, ssl, sys
port, user, pw, stls = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4] == "stls"
p = poplib.POP3("127.0.0.1", port, timeout=10)
if stls:
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    p.stls(context=ctx)
p.user(user); p.pass_(pw)
count, size = p.stat()
sizes = [int(l.split()[1]) for l in p.list()[1]]
uidl = [l.split()[1].decode() for l in p.uidl()[1]]
bodies, tops = [], []
for i in range(1, count + 1):
    bodies.append(b"\r\n".join(p.retr(i)[1]).decode())
    tops.append(b"\r\n".join(p.top(i, 0)[1]).decode())
p.quit()
print(json.dumps(dict(count=count, size=size, sizes=sizes, uidl=uidl, bodies=bodies, tops=tops)))
`

func c6POPSession(t *testing.T, port int, user, pw string, stls bool) c6POPSnapshot {
	t.Helper()
	mode := "plain"
	if stls {
		mode = "stls"
	}
	r := c6Run(t, nil, nil, nil, "/usr/bin/python3", "-c", c6PoplibScript, strconv.Itoa(port), user, pw, mode)
	if r.Code != 0 {
		t.Fatalf("poplib session on port %d exited %d:\n%s", port, r.Code, r.Out)
	}
	var snap c6POPSnapshot
	if err := json.Unmarshal([]byte(r.Out), &snap); err != nil {
		t.Fatalf("poplib output: %v\n%s", err, r.Out)
	}
	return snap
}

// c6Dovecot starts Dovecot's POP3 server on a free port over the virtual
// users of s.
func c6Dovecot(t *testing.T, s *Server) int {
	t.Helper()
	return startDovecot(t, s, "pop3")
}

// c6ByBody indexes a snapshot's messages by their RETR body: the two
// servers may number the messages differently (each picks its own order)
// and RFC 1939 does not fix it.
func c6ByBody(s c6POPSnapshot) map[string]int {
	m := map[string]int{}
	for i, b := range s.Bodies {
		m[b] = i
	}
	return m
}

// TestPOP3BehavesLikeDovecot serves one Maildir with goqmail's POP3 and
// with Dovecot's and compares what Python's poplib sees: STAT, LIST sizes,
// RETR bodies after unstuffing, TOP n 0 headers; each server's UIDLs must
// be stable across sessions (their values differ by design).
func TestPOP3BehavesLikeDovecot(t *testing.T) {
	needRoot(t, "Dovecot switches to the mailbox owner (CI runs as root)")
	pop := freePort(t)
	s := NewServer(t, Options{Control: map[string]string{"pop3listen": fmt.Sprintf("127.0.0.1:%d\n", pop)}})
	user := c6VirtualUser(t, s, "dora", "dove secret")
	c6Deliver(t, s, "dora", "plain body", ".starts with a dot\n..two dots\n.\nend")
	// SMTP cannot carry a message without a final newline (DATA always
	// ends in CRLF), so the third is written into new/ as the owner would.
	newDir := virtualMaildir(s, "virt.example", "dora")
	st, err := os.Stat(newDir)
	if err != nil {
		t.Fatal(err)
	}
	owner := st.Sys().(*syscall.Stat_t)
	third := filepath.Join(newDir, fmt.Sprintf("%d.M1P1.c6test", time.Now().Unix()+1))
	if err := os.WriteFile(third, []byte("Subject: no final newline\nFrom: x@virt.example\n\nline one\nlast line without newline"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(third, int(owner.Uid), int(owner.Gid)); err != nil {
		t.Fatal(err)
	}

	// goqmail first, twice (the first session's RETR moves new/ to cur/:S,
	// which must not change the UIDLs), then Dovecot twice, then goqmail
	// once more after Dovecot has indexed and renamed the files.
	g1 := c6POPSession(t, pop, user, "dove secret", true)
	g2 := c6POPSession(t, pop, user, "dove secret", true)
	dport := c6Dovecot(t, s)
	d1 := c6POPSession(t, dport, user, "dove secret", false)
	d2 := c6POPSession(t, dport, user, "dove secret", false)
	g3 := c6POPSession(t, pop, user, "dove secret", true)

	for name, snap := range map[string]c6POPSnapshot{"goqmail 1": g1, "goqmail 2": g2, "goqmail 3": g3, "dovecot 1": d1, "dovecot 2": d2} {
		if snap.Count != 3 || len(snap.Sizes) != 3 || len(snap.UIDLs) != 3 {
			t.Fatalf("%s: STAT %d messages, LIST %d, UIDL %d; want 3", name, snap.Count, len(snap.Sizes), len(snap.UIDLs))
		}
		sum := 0
		for _, n := range snap.Sizes {
			sum += n
		}
		if sum != snap.Size {
			t.Errorf("%s: STAT says %d octets, LIST sizes add to %d", name, snap.Size, sum)
		}
	}
	for _, pair := range [][2]c6POPSnapshot{{g1, g2}, {g2, g3}} {
		if strings.Join(pair[0].UIDLs, " ") != strings.Join(pair[1].UIDLs, " ") {
			t.Errorf("goqmail UIDLs changed between sessions (RFC 1939 section 7: a unique-id persists): %v then %v", pair[0].UIDLs, pair[1].UIDLs)
		}
	}
	if strings.Join(d1.UIDLs, " ") != strings.Join(d2.UIDLs, " ") {
		t.Errorf("dovecot UIDLs changed between sessions: %v then %v", d1.UIDLs, d2.UIDLs)
	}
	// RFC 1939 section 3 ends every line of a multi-line answer with CRLF,
	// so a message stored without a final newline goes out with one added.
	// Section 5 asks LIST for "the exact size of the message in octets":
	// goqmail counts what RETR sends (that added CRLF included), Dovecot
	// counts the stored text only, 2 octets fewer. Both readings are in
	// use; the test pins each server to its own and everything else to
	// equality.
	const unterminated = "last line without newline"
	dIdx := c6ByBody(d1)
	for gi, body := range g1.Bodies {
		di, ok := dIdx[body]
		if !ok {
			t.Errorf("goqmail served a message Dovecot did not (or with another body):\n%q\nDovecot's: %q", body, d1.Bodies)
			continue
		}
		if g1.Tops[gi] != d1.Tops[di] {
			t.Errorf("TOP n 0 differs:\ngoqmail %q\ndovecot %q", g1.Tops[gi], d1.Tops[di])
		}
		sent := len(body) + 2 // the lines poplib got, each with its CRLF
		if g1.Sizes[gi] != sent {
			t.Errorf("goqmail LIST %d says %d octets, RETR sent %d", gi+1, g1.Sizes[gi], sent)
		}
		wantD := sent
		if strings.HasSuffix(body, unterminated) {
			wantD = sent - 2
		}
		if d1.Sizes[di] != wantD {
			t.Errorf("dovecot LIST %d says %d octets, want %d (goqmail: %d)", di+1, d1.Sizes[di], wantD, g1.Sizes[gi])
		}
	}
	if g1.Size != d1.Size+2 {
		t.Errorf("STAT octets: goqmail %d, dovecot %d; want goqmail = dovecot + 2 (the unterminated message's CRLF)", g1.Size, d1.Size)
	}
	var dotted bool
	for _, b := range g1.Bodies {
		dotted = dotted || strings.Contains(b, "\r\n.starts with a dot\r\n..two dots\r\n.\r\nend")
	}
	if !dotted {
		t.Errorf("the dot lines did not survive the round trip: %q", g1.Bodies)
	}
}

// TestSubmissionOverImplicitTLSWithMsmtp: msmtp speaks SMTP inside TLS
// from the first byte (RFC 8314 section 3) on control/smtpslisten,
// authenticates with AUTH PLAIN as a virtual user and gets a remote
// recipient accepted; a wrong password makes msmtp fail.
func TestSubmissionOverImplicitTLSWithMsmtp(t *testing.T) {
	smtps := freePort(t)
	s := NewServer(t, Options{Control: map[string]string{"smtpslisten": fmt.Sprintf("127.0.0.1:%d\n", smtps)}})
	user := c6VirtualUser(t, s, "mia", "tls secret")
	send := func(pw string) result {
		msg := []byte("From: " + user + "\nTo: far@remote.example\nSubject: over smtps\n\nsent by msmtp\n")
		return runClient(t, msg, "msmtp", "-C", "/dev/null", "-v", "--host=127.0.0.1", "--port="+strconv.Itoa(smtps),
			"--tls=on", "--tls-starttls=off", "--tls-certcheck=off", "--auth=plain", "--user="+user,
			"--passwordeval=echo '"+pw+"'", "--domain=client.example.org", "--from="+user, "--", "far@remote.example")
	}
	r := send("tls secret")
	if r.Code != 0 {
		t.Fatalf("msmtp over implicit TLS exited %d, want 0:\n%s", r.Code, r.Out)
	}
	if !regexp.MustCompile(`(?m)^<-- 250 2\.0\.0 ok \d+ qp [0-9a-f]{16}`).MatchString(r.Out) {
		t.Errorf("msmtp -v shows no 250 after DATA:\n%s", r.Out)
	}
	s.WaitLog(`smtpd: .*accepted msg [0-9a-f]{16} from <`+regexp.QuoteMeta(user)+`>`, 1, deliverTimeout)
	r = send("wrong")
	if r.Code == 0 {
		t.Errorf("msmtp with a wrong password exited 0:\n%s", r.Out)
	}
	if !strings.Contains(r.Out, "535") {
		t.Errorf("a wrong password was not refused with 535:\n%s", r.Out)
	}
}

// c6Step is one line typed into s_client and the answer waited for.
type c6Step struct {
	send string
	want *regexp.Regexp
}

// c6Output is s_client's output, written by exec's copier goroutine and
// read by the test while the client runs.
type c6Output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *c6Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *c6Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// c6SClient runs openssl s_client against addr (with -starttls PROTO if
// proto is set) and types each step's line only once the previous answer
// arrived: goqmail's smtpd enforces RFC 2920 section 3.1 (EHLO and QUIT
// end a pipelined group), and s_client would send everything typed ahead
// in one write. Answers are matched after the handshake report ("Verify
// return code"), each from where the previous one ended; the matched
// answers are returned beside the full output. -ign_eof keeps s_client
// reading after stdin ends, until the server closes; -nocommands stops it
// taking a line that starts with Q for its own quit command.
func c6SClient(t *testing.T, addr, proto string, steps []c6Step, extra ...string) (result, []string) {
	t.Helper()
	args := []string{"s_client", "-connect", addr, "-servername", "mail.example.test", "-crlf", "-ign_eof", "-nocommands"}
	if proto != "" {
		args = append(args, "-starttls", proto)
	}
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "openssl", append(args, extra...)...)
	var out c6Output
	cmd.Stdout, cmd.Stderr = &out, &out
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("openssl: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var answers []string
	pos := -1
	var exitErr error
	done := false
	finish := func() (result, []string) {
		stdin.Close()
		if !done {
			exitErr = <-exited
		}
		if ctx.Err() != nil {
			t.Fatalf("openssl %q did not finish within %v:\n%s", args, clientTimeout, out.String())
		}
		code := 0
		if ee, ok := exitErr.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return result{Out: out.String(), Code: code}, answers
	}
	for _, st := range steps {
		if st.send != "" && !done {
			fmt.Fprintf(stdin, "%s\n", st.send)
		}
		var got string
		for got == "" {
			o := out.String()
			if pos < 0 {
				if i := strings.Index(o, "Verify return code"); i >= 0 {
					pos = i
				}
			}
			if pos >= 0 {
				if loc := st.want.FindStringIndex(o[pos:]); loc != nil {
					got = o[pos+loc[0] : pos+loc[1]]
					pos += loc[1]
					break
				}
			}
			if done { // the output is complete and holds no answer
				return finish()
			}
			select {
			case exitErr = <-exited:
				done = true // look once more: the answer may have come last
			case <-time.After(20 * time.Millisecond):
			}
		}
		answers = append(answers, got)
	}
	return finish()
}

// TestTLSHandshakesWithOpenSSL: openssl s_client completes a TLS 1.2+
// handshake with STARTTLS on the submission port (RFC 3207), STLS on POP3
// (RFC 2595) and implicit TLS on smtps and pop3s (RFC 8314), and the
// protocol works inside; TLS 1.1 is refused on each.
func TestTLSHandshakesWithOpenSSL(t *testing.T) {
	sub, smtps, pop, pops := freePort(t), freePort(t), freePort(t), freePort(t)
	NewServer(t, Options{Control: map[string]string{
		"submissionlisten": fmt.Sprintf("127.0.0.1:%d\n", sub),
		"smtpslisten":      fmt.Sprintf("127.0.0.1:%d\n", smtps),
		"pop3listen":       fmt.Sprintf("127.0.0.1:%d\n", pop),
		"pop3slisten":      fmt.Sprintf("127.0.0.1:%d\n", pops),
	}})
	rx := regexp.MustCompile
	// An EHLO answer: "250-" lines, then one "250 " line.
	ehlo := c6Step{"EHLO client.example.org", rx(`250-[^\n]*\n(?:250-[^\n]*\n)*250 [^\n]*\n`)}
	smtpQuit := c6Step{"QUIT", rx(`221 [^\n]*\n`)}
	capa := c6Step{"CAPA", rx(`\+OK[^\n]*\n(?:[^\n]*\n)*?\.\r?\n`)}
	popQuit := c6Step{"QUIT", rx(`\+OK[^\n]*\n`)}
	cases := []struct {
		name, proto string
		port        int
		steps       []c6Step
	}{
		// With -starttls, s_client itself reads the greeting.
		{"submission STARTTLS", "smtp", sub, []c6Step{ehlo, smtpQuit}},
		{"smtps", "", smtps, []c6Step{{"", rx(`220 [^\n]*\n`)}, ehlo, smtpQuit}},
		{"pop3 STLS", "pop3", pop, []c6Step{capa, popQuit}},
		{"pop3s", "", pops, []c6Step{{"", rx(`\+OK[^\n]*\n`)}, capa, popQuit}},
	}
	protocol := rx(`(?m)^\s*Protocol\s*: (TLSv1\.[23])\r?$`)
	for _, c := range cases {
		addr := fmt.Sprintf("127.0.0.1:%d", c.port)
		r, answers := c6SClient(t, addr, c.proto, c.steps)
		if !protocol.MatchString(r.Out) || !strings.Contains(r.Out, "Verify return code") {
			t.Errorf("%s: no TLS 1.2+ handshake (exit %d):\n%s", c.name, r.Code, r.Out)
			continue
		}
		if len(answers) != len(c.steps) {
			t.Errorf("%s: only %d of %d answers inside TLS:\n%s", c.name, len(answers), len(c.steps), r.Out)
			continue
		}
		for _, a := range answers {
			if strings.HasPrefix(a, "250-") {
				// Inside TLS the submission ports offer AUTH, and RFC 3207
				// section 4.2 forbids offering STARTTLS again.
				if !strings.Contains(a, "AUTH") || strings.Contains(a, "STARTTLS") {
					t.Errorf("%s: EHLO answer inside TLS:\n%s", c.name, a)
				}
			}
			if strings.HasPrefix(a, "+OK") && strings.Contains(a, "\n.") && !strings.Contains(a, "USER") {
				t.Errorf("%s: CAPA inside TLS lacks USER:\n%s", c.name, a)
			}
		}
		// RFC 8446 section 6.1: each party MUST send close_notify before
		// closing its write side. OpenSSL 3 reports a bare TCP close after
		// QUIT as "unexpected eof" and exits 1.
		if r.Code != 0 || strings.Contains(r.Out, "unexpected eof") {
			t.Errorf("%s: the server closed the TLS connection after QUIT without close_notify (RFC 8446 section 6.1); s_client exit %d", c.name, r.Code)
		}
		// The client must really offer TLS 1.1 (Debian's OpenSSL refuses
		// it at the default security level), so a failure is the server's
		// "protocol version" alert, not a client-side refusal.
		r, _ = c6SClient(t, addr, c.proto, nil, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
		if r.Code == 0 || protocol.MatchString(r.Out) {
			t.Errorf("%s: TLS 1.1 was accepted:\n%s", c.name, r.Out)
		} else if !strings.Contains(r.Out, "alert protocol version") {
			t.Errorf("%s: TLS 1.1 failed, but not with the server's protocol_version alert:\n%s", c.name, r.Out)
		}
	}
}

// TestPOPBeforeSMTPFailedLoginGrantsNothing: POP-before-SMTP grants relay
// to an IP only for a successful mailbox login. A wrong password, and a
// USER never followed by PASS, leave port 25 refusing to relay (553); the
// good login that follows opens it.
func TestPOPBeforeSMTPFailedLoginGrantsNothing(t *testing.T) {
	pop := freePort(t)
	s := NewServer(t, Options{Control: map[string]string{"pop3listen": fmt.Sprintf("127.0.0.1:%d\n", pop)}})
	user := c6VirtualUser(t, s, "gus", "grant secret")
	relay := func() string { return swaks(t, s, "--from", user, "--to", "far@remote.example").Out }
	// A fresh server has no grant (revoke then exits 1, "no live grant");
	// revoke one left by an earlier step should there be one.
	if grants := goqmailCmd(t, s, "", false, "relay", "list"); strings.Contains(grants, "127.0.0.1") {
		goqmailCmd(t, s, "", false, "relay", "revoke", "127.0.0.1")
	}
	if out := relay(); !strings.Contains(out, "553 ") {
		t.Fatalf("relay allowed before any login:\n%s", out)
	}
	pop3 := func(step string) string {
		t.Helper()
		script := fmt.Sprintf(`
import poplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
p = poplib.POP3("127.0.0.1", %d, timeout=10); p.stls(context=ctx)
step = sys.argv[1]
p.user(%q)
if step == "wrong":
    try:
        p.pass_("not the password"); print("LOGIN WORKED")
    except poplib.error_proto as e:
        print("refused", e)
elif step == "good":
    p.pass_("grant secret"); print("logged in")
p.quit()
`, pop, user)
		r := c6Run(t, nil, nil, nil, "/usr/bin/python3", "-c", script, step)
		if r.Code != 0 {
			t.Fatalf("poplib (%s): exit %d\n%s", step, r.Code, r.Out)
		}
		return r.Out
	}
	if out := pop3("wrong"); !strings.Contains(out, "refused") {
		t.Fatalf("wrong password accepted:\n%s", out)
	}
	if out := relay(); !strings.Contains(out, "553 ") {
		t.Errorf("relay allowed after a failed POP3 login:\n%s", out)
	}
	pop3("user-only")
	if out := relay(); !strings.Contains(out, "553 ") {
		t.Errorf("relay allowed after a bare USER:\n%s", out)
	}
	if grants := goqmailCmd(t, s, "", false, "relay", "list"); strings.Contains(grants, "127.0.0.1") {
		t.Errorf("a grant exists without a successful login:\n%s", grants)
	}
	if out := pop3("good"); !strings.Contains(out, "logged in") {
		t.Fatalf("good login failed:\n%s", out)
	}
	if out := relay(); !acceptedAfterData.MatchString(out) {
		t.Errorf("relay refused right after a successful POP3 login:\n%s", out)
	}
}
