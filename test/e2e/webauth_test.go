package e2e

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"goqmail/internal/authclient"
	"goqmail/internal/webrpc"
)

// TestWebLoginSessions: a web login through the real goqmail-auth starts
// the real mailbox session (goqmail-webmbox, as goqmailv when root) and,
// for an admin, the real admin session (goqmail admin-session); a domain
// postmaster's session refuses another domain; ChangePassword works for a
// virtual user. goqmail-web is not involved: the test is the front.
func TestWebLoginSessions(t *testing.T) {
	s := NewServer(t, Options{NoStart: true})
	goq := func(stdin string, args ...string) {
		t.Helper()
		cmd := exec.Command(filepath.Join(binDir, "goqmail"), append(args, "-root", s.Root)...)
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("goqmail %v: %v\n%s", args, err, out)
		}
	}
	goq("", "domain", "add", "web.test")
	goq("", "domain", "add", "other.test")
	goq("sitepw\n", "user", "add", "boss@web.test")
	goq("pmpw\n", "user", "add", "postmaster@web.test")
	goq("userpw\n", "user", "add", "ann@web.test")
	goq("x\n", "user", "add", "zed@other.test")
	s.SetControl("webadmins", "boss@web.test\n")

	sock := filepath.Join(s.Root, "run", "auth.sock")
	ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: sock, Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	lf, err := ln.File()
	ln.Close()
	if err != nil {
		t.Fatal(err)
	}
	auth := exec.Command(filepath.Join(binDir, "goqmail-auth"), s.Root)
	auth.Env = []string{"PATH=/usr/bin:/bin", "GOQMAIL_AUTH_CLIENTS=-1"}
	auth.ExtraFiles = []*os.File{lf}
	var log strings.Builder
	auth.Stderr = &syncWriter{w: &log}
	if err := auth.Start(); err != nil {
		t.Fatal(err)
	}
	lf.Close()
	t.Cleanup(func() {
		auth.Process.Kill()
		auth.Wait()
		if t.Failed() {
			t.Logf("goqmail-auth log:\n%s", auth.Stderr.(*syncWriter).String())
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := authclient.Dial(sock)
	login := func(user, pw string) authclient.WebLogin {
		t.Helper()
		w, err := c.OpenWeb(ctx, user, pw, "127.0.0.1")
		if err != nil {
			t.Fatalf("OpenWeb %s: %v", user, err)
		}
		return w
	}
	ask := func(conn net.Conn, op string, args ...string) *webrpc.Response {
		t.Helper()
		r, err := webrpc.NewClient(conn).Call(ctx, &webrpc.Request{Op: op, Args: args})
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		return r
	}

	// A plain user: a mailbox session that speaks webrpc, no admin session.
	w := login("ann@web.test", "userpw")
	if !w.OK || w.Role != "" || w.Mailbox == nil || w.Admin != nil {
		t.Fatalf("ann: %+v", w)
	}
	if r := ask(w.Mailbox, "no.such.op"); r.Status != webrpc.Invalid {
		t.Errorf("mailbox session answered %v %q", r.Status, r.Text)
	}
	w.Mailbox.Close()

	// The site admin.
	w = login("boss@web.test", "sitepw")
	if !w.OK || w.Role != "site" || w.Admin == nil {
		t.Fatalf("boss: %+v", w)
	}
	if r := ask(w.Admin, "domains"); r.Status != webrpc.OK || len(r.Rows) != 2 {
		t.Errorf("site domains: %v %q %v", r.Status, r.Text, r.Rows)
	}
	if r := ask(w.Admin, "user.add", "new@other.test", "newpw"); r.Status != webrpc.OK {
		t.Errorf("site user.add: %v %q", r.Status, r.Text)
	}
	w.Admin.Close()
	w.Mailbox.Close()
	// The user the admin added logs in.
	if w = login("new@other.test", "newpw"); !w.OK {
		t.Errorf("added user cannot log in: %+v", w)
	} else {
		w.Mailbox.Close()
	}

	// The domain postmaster: its domain only.
	w = login("postmaster@web.test", "pmpw")
	if !w.OK || w.Role != "domain" || w.Domain != "web.test" || w.Admin == nil {
		t.Fatalf("postmaster: %+v", w)
	}
	if r := ask(w.Admin, "users", "other.test"); r.Status != webrpc.Forbidden {
		t.Errorf("postmaster sees other.test: %v %q %v", r.Status, r.Text, r.Rows)
	}
	if r := ask(w.Admin, "queue"); r.Status != webrpc.Forbidden {
		t.Errorf("postmaster sees the queue: %v %q", r.Status, r.Text)
	}
	if r := ask(w.Admin, "users", "web.test"); r.Status != webrpc.OK || len(r.Rows) != 3 {
		t.Errorf("postmaster's users: %v %q %v", r.Status, r.Text, r.Rows)
	}
	w.Admin.Close()
	w.Mailbox.Close()

	// Self-service password change; the old one stops working.
	if r, err := c.ChangePassword(ctx, "ann@web.test", "userpw", "annpw2", "127.0.0.1"); err != nil || !r.OK {
		t.Fatalf("ChangePassword: %+v %v", r, err)
	}
	if w = login("ann@web.test", "userpw"); w.OK {
		t.Error("the old password still logs in")
	}
	if w = login("ann@web.test", "annpw2"); !w.OK {
		t.Errorf("the new password does not log in: %+v", w)
	} else {
		w.Mailbox.Close()
	}
}

// syncWriter serializes writes from the child's stderr copier and reads.
type syncWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.String()
}
