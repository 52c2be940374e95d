package local

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"goqmail/internal/ipc"
	"goqmail/internal/logline"
	"goqmail/internal/maildir"
	"goqmail/internal/proto"
)

func TestExactReader(t *testing.T) {
	r := &exactReader{r: strings.NewReader("hello"), left: 5}
	if b, err := io.ReadAll(r); err != nil || string(b) != "hello" {
		t.Fatalf("exact: %q %v", b, err)
	}
	r = &exactReader{r: strings.NewReader("hel"), left: 5}
	if _, err := io.ReadAll(r); !errors.Is(err, io.ErrUnexpectedEOF) || !r.short {
		t.Fatalf("short input: %v", err)
	}
	r = &exactReader{r: strings.NewReader("hello world"), left: 5}
	if b, _ := io.ReadAll(r); string(b) != "hello" {
		t.Fatalf("long input not cut: %q", b)
	}
}

// deliverOne runs a Worker over a packet socket as the spawner would and
// returns its report for one delivery whose pipe carries body but announces size.
func deliverOne(t *testing.T, home string, body string, size int64) proto.Report {
	t.Helper()
	return deliverReq(t, proto.Local{Seq: 7, User: "u", Home: home, Local: "demo", Domain: "example.test", Sender: "a@example.org", Size: size}, body)
}

func deliverReq(t *testing.T, req proto.Local, body string) proto.Report {
	t.Helper()
	mine, theirs, err := ipc.SeqpacketPair()
	if err != nil {
		t.Fatal(err)
	}
	defer mine.Close()
	// In goqmail-local the socket is inherited from the spawner, so it
	// comes without close-on-exec: the same here.
	if _, err := unix.FcntlInt(theirs.Fd(), unix.F_SETFD, 0); err != nil {
		t.Fatal(err)
	}
	w := &Worker{Sock: theirs, Log: logline.NewTo(io.Discard, "local")}
	done := make(chan error, 1)
	go func() { done <- w.Run() }()
	pr, pw, _ := os.Pipe()
	go func() { pw.Write([]byte(body)); pw.Close() }()
	if err := ipc.SendPacket(int(mine.Fd()), req.Packet(nil), pr); err != nil {
		t.Fatal(err)
	}
	pr.Close()
	buf := make([]byte, 8192)
	pkt, _, err := ipc.RecvPacket(int(mine.Fd()), buf, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, d, _ := ipc.NewDecoder(pkt)
	rep, err := proto.DecodeReport(d)
	if err != nil {
		t.Fatal(err)
	}
	mine.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("worker did not stop when the spawner closed the socket")
	}
	return rep
}

func TestWorkerDeliversWithHeaders(t *testing.T) {
	home := t.TempDir()
	maildir.Make(filepath.Join(home, "Maildir"), 0o700)
	body := "Subject: hi\n\nbody\n"
	rep := deliverOne(t, home, body, int64(len(body)))
	if rep.Result != proto.ResultSuccess || rep.Seq != 7 {
		t.Fatalf("report %+v", rep)
	}
	ents, _ := os.ReadDir(filepath.Join(home, "Maildir", "new"))
	if len(ents) != 1 {
		t.Fatalf("%d files in new/", len(ents))
	}
	got, _ := os.ReadFile(filepath.Join(home, "Maildir", "new", ents[0].Name()))
	want := "Return-Path: <a@example.org>\nDelivered-To: demo@example.test\n" + body
	if !bytes.Equal(got, []byte(want)) {
		t.Fatalf("delivered %q\nwant %q", got, want)
	}
}

func TestWorkerDefersTruncatedContent(t *testing.T) {
	home := t.TempDir()
	maildir.Make(filepath.Join(home, "Maildir"), 0o700)
	rep := deliverOne(t, home, "short", 100)
	if rep.Result != proto.ResultDeferral || !strings.Contains(rep.Text, "ended early") {
		t.Fatalf("report %+v", rep)
	}
	for _, d := range []string{"new", "tmp"} {
		if ents, _ := os.ReadDir(filepath.Join(home, "Maildir", d)); len(ents) != 0 {
			t.Fatalf("a truncated message left %d files in %s/", len(ents), d)
		}
	}
}

func TestWorkerDefersWithoutMaildir(t *testing.T) {
	rep := deliverOne(t, t.TempDir(), "x\n", 2)
	if rep.Result != proto.ResultDeferral || !strings.Contains(rep.Text, "#4.2.1") {
		t.Fatalf("report %+v", rep)
	}
}

// TestProgramsGetNoWorkerDescriptors: a program sees no descriptor of the
// delivery process, in particular not the spawner's socket (which arrives
// without close-on-exec) or other deliveries' message pipes: nothing more
// than a shell this test process starts itself (which may inherit
// descriptors from whatever started the test).
func TestProgramsGetNoWorkerDescriptors(t *testing.T) {
	const list = "ls /proc/self/fd > fds"
	dir := t.TempDir()
	cmd := exec.Command("/bin/sh", "-c", list)
	cmd.Dir = dir
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	baseline, _ := os.ReadFile(filepath.Join(dir, "fds"))
	allowed := map[string]bool{}
	for _, fd := range strings.Fields(string(baseline)) {
		allowed[fd] = true
	}
	home := t.TempDir()
	os.WriteFile(filepath.Join(home, ".qmail"), []byte("|"+list+"\n"), 0o600)
	body := "Subject: x\n\nhi\n"
	rep := deliverReq(t, proto.Local{Seq: 1, User: "u", Home: home, Local: "demo", Domain: "example.test", Size: int64(len(body))}, body)
	if rep.Result != proto.ResultSuccess {
		t.Fatalf("report %+v", rep)
	}
	got, _ := os.ReadFile(filepath.Join(home, "fds"))
	for _, fd := range strings.Fields(string(got)) {
		if !allowed[fd] {
			t.Errorf("program has descriptor %s of the delivery process (allowed: %q)", fd, baseline)
		}
	}
}
