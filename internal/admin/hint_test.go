package admin

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"goqmail/internal/proto"
)

// hintRoot is an installation with control/me and run/, and nothing
// listening.
func hintRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"control", "run", "queue/msg"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "control", "me"), []byte("mail.example.test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

// TestQueueCommandHints: "is goqmail running?" only when it is not, and
// never after a permission error (issue 10, item 7).
func TestQueueCommandHints(t *testing.T) {
	root := hintRoot(t)
	sock := filepath.Join(root, "run", "sendctl.sock")

	// Nothing there: the server is not running.
	_, err := QueueCommand(root, proto.Admin{Verb: "retry"})
	if err == nil || !strings.Contains(err.Error(), "goqmail is not running: start it with goqmaild "+root) || !strings.Contains(err.Error(), sock) {
		t.Errorf("no socket: %v", err)
	}

	// A socket left behind refuses connections; with a live goqmaild
	// (a program of that name) the hint says it runs.
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	_, err = QueueCommand(root, proto.Admin{Verb: "retry"})
	if err == nil || !strings.Contains(err.Error(), "goqmail is not running") {
		t.Errorf("stale socket, no server: %v", err)
	}
	pid := fakeProcess(t, "goqmaild")
	os.WriteFile(filepath.Join(root, "run", "goqmaild.pid"), []byte(strconv.Itoa(pid)+"\n"), 0o644)
	_, err = QueueCommand(root, proto.Admin{Verb: "retry"})
	want := fmt.Sprintf("the server is running (pid %d) but goqmail-send is not answering", pid)
	if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "not running") {
		t.Errorf("stale socket, server running: %v; want %q", err, want)
	}

	// A pid file whose number now belongs to another program is no
	// running server.
	os.WriteFile(filepath.Join(root, "run", "goqmaild.pid"), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
	if _, err = QueueCommand(root, proto.Admin{Verb: "retry"}); err == nil || !strings.Contains(err.Error(), "goqmail is not running") {
		t.Errorf("pid of another program: %v", err)
	}

	// Permission denied says how to get permission (root cannot be
	// denied, so the error is made here).
	denied := &net.OpError{Op: "dial", Net: "unix", Err: os.NewSyscallError("connect", syscall.EACCES)}
	if h := dialHint(denied, root); !strings.Contains(h, "permission denied: run this as root") || strings.Contains(h, "running") {
		t.Errorf("dialHint(EACCES) = %q", h)
	}
}

// TestReadQueueHints: a missing queue is not a permission problem.
func TestReadQueueHints(t *testing.T) {
	root := hintRoot(t)
	os.RemoveAll(filepath.Join(root, "queue"))
	_, err := ReadQueue(root)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(root, "queue", "msg")) ||
		!strings.Contains(err.Error(), "is missing") || strings.Contains(err.Error(), "run as root") {
		t.Errorf("missing queue: %v", err)
	}
	_, err = ReadQueue(filepath.Join(root, "nosuch"))
	if err == nil || !strings.Contains(err.Error(), "is not a goqmail installation") {
		t.Errorf("not an installation: %v", err)
	}
	if h := fileHint(os.ErrPermission, root, "/q"); !strings.Contains(h, "run this as root, or as the user who owns /q") {
		t.Errorf("fileHint(EACCES) = %q", h)
	}
}

// fakeProcess starts a copy of sleep(1) under the given name and returns
// its pid; the test's cleanup ends it.
func fakeProcess(t *testing.T, name string) int {
	t.Helper()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep(1)")
	}
	b, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd.Process.Pid
}
