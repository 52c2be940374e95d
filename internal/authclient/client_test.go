package authclient

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"goqmail/internal/ipc"
	"goqmail/internal/proto"
)

// fakeService answers every request on a unixpacket socket with answer(),
// attaching the files it returns.
func fakeService(t *testing.T, answer func() ([]byte, []*os.File)) *Client {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "auth.sock")
	ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: sock, Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	// The cleanup waits for the service to stop: the files answer()
	// returns belong to the test, which closes them after its subtests,
	// and the race detector cannot see the socket ordering that would
	// make that safe.
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := ln.AcceptUnix()
			if err != nil {
				return
			}
			buf := make([]byte, proto.MaxAuthPkt)
			if _, _, _, _, err := c.ReadMsgUnix(buf, nil); err == nil {
				body, files := answer()
				var oob []byte
				if len(files) > 0 {
					fds := make([]int, len(files))
					for i, f := range files {
						fds[i] = int(f.Fd())
					}
					oob = unix.UnixRights(fds...)
				}
				if body != nil {
					c.WriteMsgUnix(body, oob, nil)
				}
			}
			c.Close()
		}
	}()
	return Dial(sock)
}

func TestAnswers(t *testing.T) {
	okAnswer := proto.Verified{OK: true, User: "bob@example.com", Kind: proto.KindVirtual, Owns: []string{"bob@example.com"}}.Packet(nil)
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	tests := []struct {
		name    string
		body    []byte
		files   []*os.File
		wantErr string
	}{
		{"ok", okAnswer, nil, ""},
		{"wrong frame type", proto.Verify{Service: "smtp", Login: "x", RemoteIP: "1"}.Packet(nil), nil, "unexpected frame type"},
		{"garbage", []byte{9, 9, 9}, nil, "version"},
		{"no answer", nil, nil, "closed the connection"},
		{"descriptor on Verify", okAnswer, []*os.File{devnull}, "unexpected descriptor"},
		{"two descriptors", okAnswer, []*os.File{devnull, devnull}, "2 descriptors"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := fakeService(t, func() ([]byte, []*os.File) { return tc.body, tc.files })
			r, err := c.Verify(context.Background(), proto.ServiceSMTP, "bob@example.com", "pw", "192.0.2.1")
			if tc.wantErr == "" {
				if err != nil || !r.OK || r.User != "bob@example.com" {
					t.Fatalf("Verify = %+v, %v", r, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Verify error %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestOpenMailboxPassesConnection(t *testing.T) {
	a, b, err := ipc.SeqpacketPair() // any socket will do as the session end
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ok := proto.Verified{OK: true, User: "bob", Kind: proto.KindSystem}.Packet(nil)
	// The fake service sends its own copy of b, so closing b below does
	// not race with the service goroutine reading its descriptor.
	fd, err := unix.Dup(int(b.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	sent := os.NewFile(uintptr(fd), "session")
	c := fakeService(t, func() ([]byte, []*os.File) { return ok, []*os.File{sent} })
	conn, r, err := c.OpenMailbox(context.Background(), proto.OpenMailbox{Login: "bob", Password: "pw", RemoteIP: "192.0.2.1"})
	if err != nil || !r.OK || conn == nil {
		t.Fatalf("OpenMailbox = %v %+v %v", conn, r, err)
	}
	defer conn.Close()
	b.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte("hi")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	n, err := a.Read(buf)
	if err != nil || string(buf[:n]) != "hi" {
		t.Fatalf("session end read %q, %v", buf[:n], err)
	}

	// A success without a descriptor is an error, not a silent nil conn.
	c = fakeService(t, func() ([]byte, []*os.File) { return ok, nil })
	if conn, _, err := c.OpenMailbox(context.Background(), proto.OpenMailbox{Login: "bob", Password: "pw"}); err == nil || conn != nil {
		t.Fatalf("success without descriptor: %v %v", conn, err)
	}
}

func TestContextBoundsTheWait(t *testing.T) {
	c := fakeService(t, func() ([]byte, []*os.File) { time.Sleep(2 * time.Second); return nil, nil })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.Verify(ctx, proto.ServiceSMTP, "bob", "pw", "192.0.2.1"); err == nil {
		t.Fatal("no error after the deadline")
	}
	if time.Since(start) > time.Second {
		t.Fatalf("waited %v past a 100ms deadline", time.Since(start))
	}
}

func TestMissingSocket(t *testing.T) {
	c := Dial(filepath.Join(t.TempDir(), "none.sock"))
	if _, err := c.Verify(context.Background(), proto.ServiceSMTP, "bob", "pw", "192.0.2.1"); err == nil {
		t.Fatal("no error without a service")
	}
}
