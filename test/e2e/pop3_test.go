package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
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
