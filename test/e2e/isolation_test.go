package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// asAccount runs a command as a goqmail account, as a local user would run
// it, and returns its combined output and error.
func asAccount(t *testing.T, account string, name string, args ...string) (string, error) {
	t.Helper()
	uid, gid := lookupIDs(t, account)
	cmd := exec.Command(name, args...)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{uint32(gid)}}}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// popLogin logs in over POP3 with STLS (Python's poplib) and quits.
func popLogin(t *testing.T, port int, user, password string) {
	t.Helper()
	script := fmt.Sprintf(`
import poplib, ssl
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
p = poplib.POP3("127.0.0.1", %d, timeout=20); p.stls(context=ctx)
p.user(%q); p.pass_(%q); p.quit()
`, port, user, password)
	if out, err := exec.Command("/usr/bin/python3", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("poplib: %v\n%s", err, out)
	}
}

// TestRelayGrantsReadableBySMTPDOnly: relay/grants says which addresses
// relay and who logged in from where. It belongs to smtpd's account, mode
// 0400, so smtpd reads it and no local user does (issue 11, item 6: it was
// 0644); an admin's revoke keeps it that way.
func TestRelayGrantsReadableBySMTPDOnly(t *testing.T) {
	if !asRoot {
		t.Skip("accounts need root")
	}
	pop := freePort(t)
	s := NewServer(t, Options{Control: map[string]string{"pop3listen": fmt.Sprintf("127.0.0.1:%d\n", pop)}})
	goqmailCmd(t, s, "", false, "domain", "add", "virt.example")
	goqmailCmd(t, s, "grant secret\n", false, "user", "add", "gail@virt.example")
	popLogin(t, pop, "gail@virt.example", "grant secret")

	grants := filepath.Join(s.Root, "relay", "grants")
	smtpdUID, _ := lookupIDs(t, "goqmaild")
	check := func(when string) {
		t.Helper()
		fi, err := os.Stat(grants)
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if fi.Mode().Perm() != 0o400 || fileOwner(t, grants) != smtpdUID {
			t.Errorf("%s: relay/grants has mode %v and owner uid %d, want 0400 and smtpd's uid %d",
				when, fi.Mode().Perm(), fileOwner(t, grants), smtpdUID)
		}
		out, err := asAccount(t, "goqmaildemo", "cat", grants)
		var exit *exec.ExitError
		if !errors.As(err, &exit) || !strings.Contains(out, "Permission denied") {
			t.Errorf("%s: a local user read relay/grants (err %v):\n%s", when, err, out)
		}
	}
	check("after a POP3 login")
	// smtpd can still read it: the grant lets this address relay.
	if out := swaks(t, s, "--from", "gail@virt.example", "--to", "far@remote.example").Out; !acceptedAfterData.MatchString(out) {
		t.Errorf("relay refused after a POP3 login (smtpd cannot read its grants?):\n%s", out)
	}
	goqmailCmd(t, s, "", false, "relay", "revoke", "127.0.0.1")
	check("after goqmail relay revoke")
}
