package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// POP3 end to end with Python's poplib: a virtual user fetches and
// deletes its mail over STLS (goqmail-pop3d as goqmailp, the password
// checked by goqmail-auth, the mailbox session as goqmailv); a wrong
// password and an unknown user get the same answer; the successful login
// leaves a POP-before-SMTP grant that `goqmail relay list` shows.
func TestPOP3WithPoplib(t *testing.T) {
	port := freePort(t)
	s := NewServer(t, Options{Control: map[string]string{"pop3listen": fmt.Sprintf("127.0.0.1:%d\n", port)}})
	goqmailCmd(t, s, "", false, "domain", "add", "virt.example")
	goqmailCmd(t, s, "pop secret\n", false, "user", "add", "pat@virt.example")
	for i := 1; i <= 2; i++ {
		r := swaks(t, s, "--to", "pat@virt.example", "--header", fmt.Sprintf("Subject: pop %d", i), "--body", ".dotted line\nbody")
		if !acceptedAfterData.MatchString(r.Out) {
			t.Fatalf("swaks:\n%s", r.Out)
		}
	}
	waitFor(t, deliverTimeout, "two messages for pat", func() bool {
		return len(listFiles(t, virtualMaildir(s, "virt.example", "pat"))) == 2
	})
	script := fmt.Sprintf(`
import poplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
def connect():
    p = poplib.POP3("127.0.0.1", %d, timeout=20)
    p.stls(context=ctx)
    return p
for user, pw in (("pat@virt.example", "wrong"), ("nobody@virt.example", "pop secret")):
    p = connect(); p.user(user)
    try:
        p.pass_(pw); print("LOGIN WORKED FOR", user); sys.exit(1)
    except poplib.error_proto as e:
        print("refused", user, e)
p = connect(); p.user("pat@virt.example"); p.pass_("pop secret")
count, size = p.stat(); print("stat", count, size)
resp, listing, octets = p.list()
total = 0
for i in range(1, count + 1):
    resp, lines, octets = p.retr(i)
    body = b"\r\n".join(lines) + b"\r\n"
    total += len(body)
    if b".dotted line" not in lines: print("BYTE-STUFFING BROKEN", lines); sys.exit(1)
print("retrieved", total)
print("uidl", len(p.uidl()[1]))
p.dele(1)
p.quit()
p = connect(); p.user("pat@virt.example"); p.pass_("pop secret")
print("after", p.stat()[0])
p.quit()
`, port)
	out, err := exec.Command("/usr/bin/python3", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("poplib: %v\n%s", err, out)
	}
	o := string(out)
	if !strings.Contains(o, "stat 2 ") || !strings.Contains(o, "after 1") || !strings.Contains(o, "uidl 2") {
		t.Errorf("POP3 session:\n%s", o)
	}
	var refusals []string
	for _, l := range strings.Split(o, "\n") {
		if strings.HasPrefix(l, "refused ") {
			refusals = append(refusals, l[strings.Index(l, " b'"):])
		}
	}
	if len(refusals) != 2 || refusals[0] != refusals[1] {
		t.Errorf("unknown user and wrong password must get the same answer: %q", refusals)
	}
	// STAT's size must be what RETR sent (CRLF octets).
	var statSize, total int
	fmt.Sscanf(o[strings.Index(o, "stat "):], "stat 2 %d", &statSize)
	fmt.Sscanf(o[strings.Index(o, "retrieved "):], "retrieved %d", &total)
	if statSize != total {
		t.Errorf("STAT says %d octets, RETR sent %d", statSize, total)
	}
	if grants := goqmailCmd(t, s, "", false, "relay", "list"); !strings.Contains(grants, "127.0.0.1") {
		t.Errorf("no POP-before-SMTP grant after the login:\n%s", grants)
	}
	// The read message moved to cur/ with the S flag; the deleted one is gone.
	cur := listFiles(t, filepath.Join(s.Root, "vmail", "virt.example", "pat", "Maildir", "cur"))
	if len(cur) != 1 || !strings.HasSuffix(cur[0], ":2,S") {
		t.Errorf("cur/ after the session: %v", cur)
	}
}

// Authenticated submission: on the submission port AUTH is required, works
// over STARTTLS for a virtual user (swaks), lets the user relay with its
// own address and refuses another sender; on port 25 AUTH over plain text
// is refused; the AUTH sessions grant that IP nothing on port 25.
// POP-before-SMTP: a POP3 login lets that IP relay on port 25 until the
// grant is revoked.
func TestSubmissionAuthAndPOPBeforeSMTP(t *testing.T) {
	sub, pop := freePort(t), freePort(t)
	s := NewServer(t, Options{Control: map[string]string{
		"submissionlisten": fmt.Sprintf("127.0.0.1:%d\n", sub),
		"pop3listen":       fmt.Sprintf("127.0.0.1:%d\n", pop),
	}})
	goqmailCmd(t, s, "", false, "domain", "add", "virt.example")
	goqmailCmd(t, s, "sub secret\n", false, "user", "add", "sam@virt.example")
	subAddr := fmt.Sprintf("127.0.0.1:%d", sub)
	base := []string{"--server", subAddr, "--timeout", "15", "--helo", "client.example.org", "--to", "far@remote.example"}

	r := runClient(t, nil, "swaks", append(base, "--from", "sam@virt.example")...)
	if !strings.Contains(r.Out, "530 5.7.0") {
		t.Errorf("submission without AUTH not refused with 530:\n%s", r.Out)
	}
	r = runClient(t, nil, "swaks", append(base, "--from", "sam@virt.example", "--tls", "--auth", "PLAIN",
		"--auth-user", "sam@virt.example", "--auth-password", "sub secret")...)
	if !acceptedOverTLS.MatchString(r.Out) {
		t.Errorf("authenticated submission refused:\n%s", r.Out)
	}
	r = runClient(t, nil, "swaks", append(base, "--from", "boss@virt.example", "--tls", "--auth", "PLAIN",
		"--auth-user", "sam@virt.example", "--auth-password", "sub secret")...)
	if !strings.Contains(r.Out, "553 5.7.1") {
		t.Errorf("a sender the user does not own was not refused:\n%s", r.Out)
	}
	r = runClient(t, nil, "swaks", append(base, "--from", "sam@virt.example", "--tls", "--auth", "PLAIN",
		"--auth-user", "sam@virt.example", "--auth-password", "wrong")...)
	if !strings.Contains(r.Out, "535 5.7.8") {
		t.Errorf("a wrong password was not refused with 535:\n%s", r.Out)
	}
	r = swaks(t, s, "--to", "far@remote.example", "--auth", "PLAIN", "--auth-user", "sam@virt.example", "--auth-password", "sub secret")
	if strings.Contains(r.Out, "235 ") {
		t.Errorf("AUTH accepted over plain text on port 25:\n%s", r.Out)
	}

	// POP-before-SMTP on port 25.
	relay := func() string { return swaks(t, s, "--from", "sam@virt.example", "--to", "far@remote.example").Out }
	// The AUTH logins above relayed in their own sessions and granted
	// nothing: this address may not relay on port 25 (issue 11, item 5;
	// SMTP AUTH used to write a 15-minute grant for anyone behind the same
	// NAT).
	if grants := goqmailCmd(t, s, "", false, "relay", "list"); strings.Contains(grants, "127.0.0.1") {
		t.Errorf("SMTP AUTH on the submission port left a relay grant:\n%s", grants)
	}
	if out := relay(); !strings.Contains(out, "553 ") {
		t.Fatalf("relay allowed on port 25 after an SMTP AUTH on 587, without a POP3 login:\n%s", out)
	}
	script := fmt.Sprintf(`
import poplib, ssl
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
p = poplib.POP3("127.0.0.1", %d, timeout=20); p.stls(context=ctx)
p.user("sam@virt.example"); p.pass_("sub secret"); p.quit()
`, pop)
	if out, err := exec.Command("/usr/bin/python3", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("poplib: %v\n%s", err, out)
	}
	if out := relay(); !acceptedAfterData.MatchString(out) {
		t.Errorf("relay refused right after a POP3 login:\n%s", out)
	}
	goqmailCmd(t, s, "", false, "relay", "revoke", "127.0.0.1")
	if out := relay(); !strings.Contains(out, "553 ") {
		t.Errorf("relay allowed after the grant was revoked:\n%s", out)
	}
}

// acceptedOverTLS is swaks's 250 after DATA inside TLS ("<~" lines).
var acceptedOverTLS = regexp.MustCompile(`(?m)^<~  250 2\.0\.0 ok \d+ qp [0-9a-f]{16}\r?$`)
