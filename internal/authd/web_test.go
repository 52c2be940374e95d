package authd

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"goqmail/internal/authclient"
	"goqmail/internal/proto"
	"goqmail/internal/vdir"
)

// webSessionScript is a fake goqmail-webmbox -session: it reports its
// arguments, uid and environment on fd 3.
const webSessionScript = `#!/bin/sh
printf '%s %s uid=%s login=%s addr=%s kind=%s owns=%s root=%s home=%s\n' "$1" "$2" "$(id -u)" \
  "$GOQMAIL_WEB_LOGIN" "$GOQMAIL_WEB_ADDRESS" "$GOQMAIL_WEB_KIND" "$GOQMAIL_WEB_OWNS" "$GOQMAIL_ROOT" "$HOME" >&3
`

// adminScript is a fake goqmail: it reports its arguments and uid.
const adminScript = `#!/bin/sh
printf '%s uid=%s\n' "$*" "$(id -u)" >&3
`

// webFixture is a fixture whose service starts the fake sessions; it
// returns the uid the mailbox sessions run as.
func webFixture(t *testing.T) (*fixture, int) {
	t.Helper()
	return webFixtureWith(t, nil)
}

// webFixtureWith lets a test change the Config before the server starts
// serving: the server reads it from its own goroutines, so a change made
// afterwards would be a data race (the race detector found one in CI).
func webFixtureWith(t *testing.T, change func(*Config)) (*fixture, int) {
	t.Helper()
	uid, gid := os.Getuid(), os.Getgid()
	bin := t.TempDir()
	if os.Geteuid() == 0 {
		uid, gid = 65534, 65534
		for d := bin; d != "/" && d != "/tmp"; d = filepath.Dir(d) {
			os.Chmod(d, 0o755)
		}
	}
	must(t, os.WriteFile(filepath.Join(bin, "webmbox"), []byte(webSessionScript), 0o755))
	must(t, os.WriteFile(filepath.Join(bin, "goqmail"), []byte(adminScript), 0o755))
	f := newFixture(t, func(c *Config) {
		c.WebSessionProgram = filepath.Join(bin, "webmbox")
		c.AdminProgram = filepath.Join(bin, "goqmail")
		c.Root = "/var/goqmail-test"
		c.VirtualUID, c.VirtualGID = uid, gid
		if change != nil {
			change(c)
		}
	})
	dir := vdir.OpenFiles(filepath.Join(f.root, "vdir"), filepath.Join(f.root, "vmail"), os.Getuid(), os.Getgid())
	must(t, dir.AddUserHash(vdir.User{Local: "postmaster", Domain: "example.com", Hash: "{PLAIN}pmpw"}))
	f.srv.SetSettings(Settings{Locals: []string{"example.test"}, WebAdmins: []string{"alice@example.com"}})
	return f, uid
}

func (f *fixture) openWeb(login, password string) authclient.WebLogin {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w, err := f.client.OpenWeb(ctx, login, password, "192.0.2.9")
	if err != nil {
		f.t.Fatalf("OpenWeb(%s): %v", login, err)
	}
	return w
}

func firstLine(t *testing.T, c net.Conn) string {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("session said nothing: %v", err)
	}
	return strings.TrimSuffix(line, "\n")
}

func TestOpenWebRoles(t *testing.T) {
	f, uid := webFixture(t)
	maildir := func(u string) string { return filepath.Join(f.root, "vmail", "example.com", u, "Maildir") }
	home := func(u string) string { return filepath.Join(f.root, "vmail", "example.com", u) }
	tests := []struct {
		login, password   string
		role, domain      string
		wantMbox, wantAdm string
	}{
		{"bob@example.com", "bobpw", "", "",
			fmt.Sprintf("-session %s uid=%d login=bob@example.com addr=bob@example.com kind=virtual owns=bob@example.com,info@example.com,bob@example.net,info@example.net root=/var/goqmail-test home=%s", maildir("bob"), uid, home("bob")), ""},
		// An alias domain's postmaster is its real domain's.
		{"postmaster@example.net", "pmpw", proto.RoleDomain, "example.com", "",
			fmt.Sprintf("admin-session -root /var/goqmail-test -role domain -domain example.com -login postmaster@example.com uid=%d", os.Getuid())},
		{"alice@example.com", "sys secret", proto.RoleSite, "", "",
			fmt.Sprintf("admin-session -root /var/goqmail-test -role site -login alice@example.com uid=%d", os.Getuid())},
	}
	for _, tc := range tests {
		w := f.openWeb(tc.login, tc.password)
		if !w.OK || w.Role != tc.role || w.Domain != tc.domain || w.Mailbox == nil || (w.Admin != nil) != (tc.role != "") {
			t.Fatalf("%s: %+v", tc.login, w)
		}
		if got := firstLine(t, w.Mailbox); tc.wantMbox != "" && got != tc.wantMbox {
			t.Errorf("%s: mailbox session\n got %q\nwant %q", tc.login, got, tc.wantMbox)
		}
		if w.Admin != nil {
			if got := firstLine(t, w.Admin); got != tc.wantAdm {
				t.Errorf("%s: admin session\n got %q\nwant %q", tc.login, got, tc.wantAdm)
			}
			w.Admin.Close()
		}
		w.Mailbox.Close()
	}
	if strings.Contains(f.log.String(), "sys secret") || strings.Contains(f.log.String(), "pmpw") {
		t.Errorf("a password reached the log:\n%s", f.log.String())
	}
}

// A web failure is slowed and counted with SMTP AUTH and POP3 failures of
// the same address and account, opens nothing, and a web login grants no
// relaying.
func TestOpenWebSharesThrottleNoGrant(t *testing.T) {
	f, _ := webFixture(t)
	w := f.openWeb("bob@example.com", "wrong")
	if w.OK || w.Temporary || w.Mailbox != nil || w.Admin != nil {
		t.Fatalf("wrong password: %+v", w)
	}
	f.verify("bob@example.com", "wrong again", "192.0.2.9")
	w = f.openWeb("bob@example.com", "third")
	if got := f.takeSleeps(); len(got) != 3 || got[0] != 100*time.Millisecond || got[1] != 200*time.Millisecond || got[2] != 400*time.Millisecond {
		t.Errorf("failure delays %v, want 100ms 200ms 400ms across web and smtp", got)
	}
	if !strings.Contains(f.log.String(), "web login bob@example.com from 192.0.2.9: failed") {
		t.Errorf("log lacks the web failure:\n%s", f.log.String())
	}
	w = f.openWeb("bob@example.com", "bobpw")
	if !w.OK {
		t.Fatalf("right password: %+v", w)
	}
	w.Mailbox.Close()
	if g, err := f.grants.List(); err != nil || len(g) != 0 {
		t.Errorf("web login granted relaying: %v %v", g, err)
	}
}

// A session that cannot start is a temporary failure; a role's admin
// session that cannot start fails the whole login.
func TestOpenWebSessionFailure(t *testing.T) {
	f, _ := webFixtureWith(t, func(c *Config) { c.AdminProgram = "/nonexistent/goqmail" })
	if w := f.openWeb("alice@example.com", "sys secret"); w.OK || !w.Temporary || w.Mailbox != nil {
		t.Errorf("admin session missing: %+v", w)
	}
	g, _ := webFixtureWith(t, func(c *Config) { c.WebSessionProgram = "/nonexistent/goqmail-webmbox" })
	if w := g.openWeb("bob@example.com", "bobpw"); w.OK || !w.Temporary || w.Mailbox != nil {
		t.Errorf("mailbox session missing: %+v", w)
	}
	if !strings.Contains(f.log.String(), "start web admin session for alice@example.com") {
		t.Errorf("log:\n%s", f.log.String())
	}
}

func TestChangePassword(t *testing.T) {
	f, _ := webFixture(t)
	ctx := context.Background()
	change := func(login, old, new string) authclient.Result {
		t.Helper()
		r, err := f.client.ChangePassword(ctx, login, old, new, "192.0.2.9")
		if err != nil {
			t.Fatalf("ChangePassword: %v", err)
		}
		return r
	}
	if r := change("bob@example.com", "wrong", "newpw"); r.OK || r.Temporary {
		t.Errorf("wrong old password: %+v", r)
	}
	if len(f.takeSleeps()) != 1 {
		t.Error("a wrong old password was not slowed")
	}
	if r := change("bob@example.com", "bobpw", strings.Repeat("x", 73)); r.OK || !strings.Contains(r.Text, "72") {
		t.Errorf("over-long new password: %+v", r)
	}
	if r := change("bob@example.com", "bobpw", "newpw"); !r.OK {
		t.Fatalf("change: %+v", r)
	}
	if r := f.verify("bob@example.com", "newpw", "192.0.2.9"); !r.OK {
		t.Errorf("new password refused: %+v", r)
	}
	if r := f.verify("bob@example.com", "bobpw", "192.0.2.9"); r.OK {
		t.Errorf("old password still accepted")
	}
	if r := change("sys", "sys secret", "newpw"); r.OK || r.Temporary || !strings.Contains(r.Text, "use passwd on the server") {
		t.Errorf("system user: %+v", r)
	}
	if strings.Contains(f.log.String(), "newpw") {
		t.Errorf("a password reached the log:\n%s", f.log.String())
	}
}
