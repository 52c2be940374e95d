package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"goqmail/internal/webrpc"
)

// The admin session answers on descriptor 3 with the role it was given,
// and refuses a site operation to a domain admin.
func TestAdminSessionServesFD3(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "control"), 0o755); err != nil {
		t.Fatal(err)
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "front"), os.NewFile(uintptr(fds[1]), "session")
	cmd := exec.Command(os.Args[0], "admin-session", "-root", root, "-role", "domain", "-domain", "Example.COM", "-login", "postmaster@example.com")
	cmd.Env = []string{"GOQMAIL_TEST_MAIN=1", "PATH=" + os.Getenv("PATH")}
	cmd.ExtraFiles = []*os.File{theirs}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	theirs.Close()
	conn, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		t.Fatal(err)
	}
	c := webrpc.NewClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := c.Call(ctx, &webrpc.Request{Op: "whoami"})
	if err != nil || r.Status != webrpc.OK || len(r.Rows) != 1 || r.Rows[0][0] != "domain" || r.Rows[0][1] != "example.com" {
		t.Fatalf("whoami: %+v %v", r, err)
	}
	if r, err = c.Call(ctx, &webrpc.Request{Op: "queue"}); err != nil || r.Status != webrpc.Forbidden {
		t.Errorf("queue as a domain admin: %+v %v", r, err)
	}
	c.Close()
	if err := cmd.Wait(); err != nil {
		t.Errorf("the session did not end cleanly when the front closed: %v", err)
	}
}
