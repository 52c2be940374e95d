package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// goqmailCmd runs `goqmail ARGS -root ROOT` with stdin and returns its
// output; a non-zero exit fails the test unless wantFail.
func goqmailCmd(t *testing.T, s *Server, stdin string, wantFail bool, args ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "goqmail"), append(args, "-root", s.Root)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if (err != nil) != wantFail {
		t.Fatalf("goqmail %v: err %v (want failure %v)\n%s", args, err, wantFail, out)
	}
	return string(out)
}

// virtualMaildir is a virtual user's Maildir/new.
func virtualMaildir(s *Server, domain, local string) string {
	return filepath.Join(s.Root, "vmail", domain, local, "Maildir", "new")
}

// Virtual domains end to end: made with the commands while the server
// runs, mail to a user lands in its Maildir as the virtual account, an
// alias forwards, an alias domain answers for the domain, unknown
// recipients are refused at RCPT time, and the catch-all takes what is
// left once set.
func TestVirtualDomainsAndUsers(t *testing.T) {
	s := NewServer(t, Options{})
	goqmailCmd(t, s, "", false, "domain", "add", "virt.example")
	goqmailCmd(t, s, "secret one\n", false, "user", "add", "joe@virt.example")
	goqmailCmd(t, s, "", false, "alias", "add", "sales@virt.example", "joe@virt.example")
	goqmailCmd(t, s, "", false, "domain", "add", "alias.example", "--alias-of", "virt.example")
	if out := goqmailCmd(t, s, "", true, "domain", "add", "bad..example"); !strings.Contains(strings.ToLower(out), "domain") {
		t.Errorf("bad domain name: unclear error:\n%s", out)
	}
	for _, to := range []string{"joe@virt.example", "Sales@virt.example", "joe@alias.example"} {
		r := swaks(t, s, "--to", to, "--header", "Subject: to "+to)
		if !acceptedAfterData.MatchString(r.Out) {
			t.Fatalf("swaks to %s:\n%s", to, r.Out)
		}
	}
	var files []string
	waitFor(t, deliverTimeout, "three messages for joe", func() bool {
		files = listFiles(t, virtualMaildir(s, "virt.example", "joe"))
		return len(files) >= 3
	})
	if asRoot {
		uid, _ := lookupIDs(t, "goqmailv")
		for _, f := range files {
			if owner := fileOwner(t, f); owner != uid {
				t.Errorf("%s owned by uid %d, want goqmailv %d", f, owner, uid)
			}
		}
	}
	r := swaks(t, s, "--to", "nobody@virt.example")
	if !strings.Contains(r.Out, "550 5.1.1") {
		t.Errorf("unknown virtual user not refused at RCPT:\n%s", r.Out)
	}
	goqmailCmd(t, s, "", false, "domain", "set", "virt.example", "--catchall", "mailbox:joe")
	if r := swaks(t, s, "--to", "anything@virt.example", "--header", "Subject: caught"); !acceptedAfterData.MatchString(r.Out) {
		t.Fatalf("catch-all not accepted:\n%s", r.Out)
	}
	waitFor(t, deliverTimeout, "the caught message", func() bool {
		return len(listFiles(t, virtualMaildir(s, "virt.example", "joe"))) >= 4
	})
}

// Dovecot from Debian authenticates a goqmail virtual user against the
// directory's passwd file and serves its Maildir over IMAP.
func TestDovecotServesVirtualMailbox(t *testing.T) {
	needRoot(t, "Dovecot switches to the mailbox owner (CI runs as root)")
	if _, err := exec.LookPath("dovecot"); err != nil {
		t.Fatalf("dovecot not installed (apt-get install dovecot-imapd): %v", err)
	}
	s := NewServer(t, Options{})
	goqmailCmd(t, s, "", false, "domain", "add", "virt.example")
	goqmailCmd(t, s, "dove pass\n", false, "user", "add", "ann@virt.example")
	r := swaks(t, s, "--to", "ann@virt.example", "--header", "Subject: for imap", "--body", "read me over IMAP")
	if !acceptedAfterData.MatchString(r.Out) {
		t.Fatalf("swaks:\n%s", r.Out)
	}
	waitFor(t, deliverTimeout, "ann's message", func() bool { return len(listFiles(t, virtualMaildir(s, "virt.example", "ann"))) == 1 })

	port := startDovecot(t, s, "imap")
	script := fmt.Sprintf(`
import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", %d)
try:
    m.login("ann@virt.example", "wrong")
    print("LOGIN WITH A WRONG PASSWORD WORKED"); sys.exit(1)
except imaplib.IMAP4.error:
    pass
m = imaplib.IMAP4("127.0.0.1", %d)
m.login("ann@virt.example", "dove pass")
typ, data = m.select("INBOX")
print("messages", data[0].decode())
typ, data = m.fetch("1", "(RFC822)")
sys.stdout.write(data[0][1].decode())
m.logout()
`, port, port)
	out, err := exec.Command("/usr/bin/python3", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("IMAP session: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "messages 1") || !strings.Contains(string(out), "read me over IMAP") || !strings.Contains(string(out), "Delivered-To: ann@virt.example") {
		t.Errorf("IMAP did not serve the delivered message:\n%s", out)
	}
}

// startDovecot runs Debian's Dovecot on a free loopback port for one
// protocol ("imap" or "pop3") over the virtual users of s: passwd-file
// passdb and userdb on ROOT/vdir/%d/passwd, Maildirs in the users' homes,
// as docs/virtual.md tells an administrator to set it up. It returns the
// port; Dovecot stops (and its log is printed on failure) when the test
// ends.
func startDovecot(t *testing.T, s *Server, protocol string) int {
	t.Helper()
	if _, err := exec.LookPath("dovecot"); err != nil {
		t.Fatalf("dovecot not installed (apt-get install dovecot-imapd dovecot-pop3d): %v", err)
	}
	port := freePort(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	conf := filepath.Join(dir, "dovecot.conf")
	passwd := filepath.Join(s.Root, "vdir", "%d", "passwd")
	err := os.WriteFile(conf, []byte(fmt.Sprintf(`protocols = %[4]s
listen = 127.0.0.1
base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
first_valid_uid = 1
pop3_uidl_format = %%08Xu%%08Xv
# The directory's passwd files are 0640 root:goqmailv: let the auth
# process read them as root (or add dovecot to the goqmailv group).
service auth {
  user = root
}
passdb {
  driver = passwd-file
  args = username_format=%%n %[2]s
}
userdb {
  driver = passwd-file
  args = username_format=%%n %[2]s
}
service %[4]s-login {
  inet_listener %[4]s {
    address = 127.0.0.1
    port = %[3]d
  }
  inet_listener %[4]ss {
    port = 0
  }
}
`, dir, passwd, port, protocol)), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("dovecot", "-F", "-c", conf)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
			t.Logf("dovecot log:\n%s", b)
		}
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	waitFor(t, 10*time.Second, "dovecot listening", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return port
}
