package lspawn

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"goqmail/internal/assign"
	"goqmail/internal/queue"
)

type fakeSystem map[string]assign.PasswdEntry

func (f fakeSystem) LookupUser(name string) (assign.PasswdEntry, bool, error) {
	e, ok := f[name]
	return e, ok, nil
}

func (f fakeSystem) HomeOwner(home string) (int, error) {
	for _, e := range f {
		if e.Home == home {
			return e.UID, nil
		}
	}
	return 0, fs.ErrNotExist
}

func writeAssign(t *testing.T, content string) *assign.File {
	t.Helper()
	p := filepath.Join(t.TempDir(), "assign")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return &assign.File{Path: p}
}

func TestResolve(t *testing.T) {
	sys := fakeSystem{
		"joe":  {Name: "joe", UID: 1001, GID: 100, Home: "/home/joe"},
		"root": {Name: "root", UID: 0, GID: 0, Home: "/root"},
	}
	r := &Resolver{Assign: writeAssign(t, "=demo:demo:1500:1500:/srv/demo:::\n.\n"), System: sys, SingleUID: -1}
	for _, tc := range []struct {
		rcpt    string
		uid     int
		ext     string
		wantErr error
	}{
		{"demo@example.test", 1500, "", nil},
		{"joe@example.test", 1001, "", nil},
		{"joe-list@example.test", 1001, "list", nil},
		{"nobody-here@example.test", 0, "", ErrNoMailbox},
		{"a@b@example.test", 0, "", ErrNoMailbox},
	} {
		got, err := r.Resolve(tc.rcpt)
		if !errors.Is(err, tc.wantErr) {
			t.Errorf("%s: err %v, want %v", tc.rcpt, err, tc.wantErr)
			continue
		}
		if err == nil && (got.UID != tc.uid || got.Ext != tc.ext) {
			t.Errorf("%s: %+v", tc.rcpt, got)
		}
	}
	// A users/assign line for uid 0 makes the file unusable: deliveries
	// defer rather than fall through to passwd.
	bad := &Resolver{Assign: writeAssign(t, "=toor:root:0:0:/root:::\n.\n"), System: sys, SingleUID: -1}
	if _, err := bad.Resolve("joe@example.test"); err == nil || errors.Is(err, ErrNoMailbox) {
		t.Errorf("bad users/assign: %v, want a temporary error", err)
	}
	single := &Resolver{Assign: writeAssign(t, ".\n"), System: sys, SingleUID: 1002}
	if _, err := single.Resolve("joe@example.test"); !errors.Is(err, ErrNoMailbox) {
		t.Errorf("single-user mode delivered to another uid: %v", err)
	}
}

func TestResolveRefusesRoot(t *testing.T) {
	sys := fakeSystem{}
	r := &Resolver{Assign: writeAssign(t, "=x:x:7:7:/h:::\n.\n"), System: sys, SingleUID: -1}
	r.Assign = &assign.File{Path: filepath.Join(t.TempDir(), "missing")}
	sys["admin"] = assign.PasswdEntry{Name: "admin", UID: 0, Home: "/root"}
	if _, err := r.Resolve("admin@x"); !errors.Is(err, ErrNoMailbox) {
		// qmail-getpw never returns uid 0 accounts; with no match it is "no mailbox".
		t.Errorf("uid 0 account: %v", err)
	}
}

func TestOpenMessageChecks(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "m")
	os.WriteFile(p, []byte("x"), 0o600)
	if _, _, err := openMessage(p, os.Getuid()+1); err == nil {
		t.Error("opened a message file owned by another uid")
	}
	f, size, err := openMessage(p, os.Getuid())
	if err != nil || size != 1 {
		t.Fatal(err)
	}
	f.Close()
	link := filepath.Join(dir, "l")
	os.Symlink(p, link)
	if _, _, err := openMessage(link, -1); err == nil {
		t.Error("followed a symbolic link")
	}
	if _, _, err := openMessage(dir, -1); err == nil {
		t.Error("opened a directory")
	}
}

func TestContentPipeCopiesOnlyContent(t *testing.T) {
	env := &queue.Envelope{Sender: "secret-sender@x", Rcpts: []string{"bcc-victim@y"}}
	// Sizes copied before contentPipe returns, sizes near a pipe's capacity
	// (which counts page slots, not bytes: these once blocked the spawner),
	// and sizes finished by the goroutine.
	for _, size := range []int{0, 1, 1000, 61000, 62000, 63000, 64000, 65000, 65500, 65536, 70000, 130000, 300 << 10, 1 << 20, 3 << 20} {
		body := make([]byte, size)
		for i := range body {
			body[i] = byte('a' + i%26)
		}
		// The prefix (header lines added at the end of data) sits after
		// the body in the file and comes first in the pipe.
		var prefix []byte
		if size%2 == 0 {
			prefix = []byte("Authentication-Results: mx.example; none\n")
		}
		content := append(append([]byte(nil), prefix...), body...)
		p := filepath.Join(t.TempDir(), "msg")
		file := env.MarshalFile("0000000000000001", body, prefix)
		os.WriteFile(p, file, 0o600)
		msg, _ := os.Open(p)
		c, err := queue.ReadContent(msg, int64(len(file)))
		if err != nil {
			t.Fatal(err)
		}
		type result struct {
			r    *os.File
			done <-chan error
			err  error
		}
		res := make(chan result, 1)
		go func() {
			r, done, err := contentPipe(msg, c.Ranges())
			res <- result{r, done, err}
		}()
		var rs result
		select {
		case rs = <-res:
		case <-time.After(5 * time.Second):
			t.Fatalf("contentPipe blocked on a %d-byte message", size)
		}
		if rs.err != nil {
			t.Fatal(rs.err)
		}
		r, done := rs.r, rs.done
		got, err := io.ReadAll(r)
		if err != nil || <-done != nil {
			t.Fatal(err)
		}
		if string(got) != string(content) {
			t.Fatalf("pipe delivered %d bytes, want the %d content bytes exactly", len(got), len(content))
		}
	}
}

// A delivery process sees the end of its work when the spawner hangs up,
// even while the spawner's reader is blocked on the same socket.
func TestHangUpEndsWorker(t *testing.T) {
	bin := os.Getenv("GOQMAIL_BIN")
	if bin == "" {
		t.Skip("needs the built goqmail-local (GOQMAIL_BIN, set by make test)")
	}
	s := &Spawner{LocalBinary: filepath.Join(bin, "goqmail-local"), workers: map[workerKey]*worker{}}
	key := workerKey{uid: os.Getuid(), gid: os.Getgid()}
	if os.Geteuid() == 0 {
		s.Root, key = true, workerKey{uid: 65534, gid: 65534} // nobody: never deliver as root
	}
	w, err := s.startWorker(key)
	if err != nil {
		t.Fatal(err)
	}
	s.workers[w.key] = w
	s.Shutdown(5 * time.Second)
	if !w.exited() {
		t.Fatal("delivery process still running after Shutdown")
	}
}

// Addresses nobody owns, and root's, go to the alias user with Dash "-" and
// the lowercased local part as Ext (qmail-getpw, INSTALL.alias).
func TestResolveAliasUser(t *testing.T) {
	sys := fakeSystem{
		"joe":   {Name: "joe", UID: 1001, GID: 100, Home: "/home/joe"},
		"root":  {Name: "root", UID: 0, GID: 0, Home: "/root"},
		"alias": {Name: "alias", UID: 1002, GID: 100, Home: "/var/alias"},
	}
	r := &Resolver{Assign: writeAssign(t, ".\n"), System: sys, SingleUID: -1, AliasUser: "alias"}
	for _, tc := range []struct{ rcpt, ext string }{
		{"Postmaster@example.test", "postmaster"},
		{"root@example.test", "root"},
		{"nobody-here@example.test", "nobody-here"},
	} {
		got, err := r.Resolve(tc.rcpt)
		if err != nil || !got.Alias || got.UID != 1002 || got.Dash != "-" || got.Ext != tc.ext || got.Home != "/var/alias" {
			t.Errorf("%s: %+v, %v", tc.rcpt, got, err)
		}
	}
	if got, err := r.Resolve("joe@example.test"); err != nil || got.Alias || got.UID != 1001 {
		t.Errorf("a user's own address went to alias: %+v %v", got, err)
	}
	// The alias account from users/assign (self-contained servers).
	r.Assign = writeAssign(t, "=alias:demo:1500:1500:/srv/alias:::\n.\n")
	if got, err := r.Resolve("MAILER-DAEMON@x"); err != nil || got.UID != 1500 || got.Ext != "mailer-daemon" {
		t.Errorf("alias via users/assign: %+v %v", got, err)
	}
	r.AliasUser = ""
	if _, err := r.Resolve("nobody@x"); !errors.Is(err, ErrNoMailbox) {
		t.Errorf("no alias user: %v", err)
	}
	r.AliasUser = "missing"
	r.Assign = writeAssign(t, ".\n")
	if _, err := r.Resolve("nobody@x"); !errors.Is(err, ErrNoMailbox) {
		t.Errorf("missing alias account: %v", err)
	}
}
