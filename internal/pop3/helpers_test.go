package pop3

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// newMaildir makes an empty Maildir in a test directory.
func newMaildir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "Maildir")
	for _, sub := range []string{"tmp", "new", "cur"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// put writes a message file with a given age so the listing order is known.
func put(t *testing.T, maildir, sub, name, content string, age time.Duration) string {
	t.Helper()
	p := filepath.Join(maildir, sub, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	mt := time.Now().Add(-age)
	if err := os.Chtimes(p, mt, mt); err != nil {
		t.Fatal(err)
	}
	return p
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// socketPair returns two connected Unix stream sockets (half-close capable,
// unlike net.Pipe), as the auth service hands goqmail-pop3d.
func socketPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	conns := make([]net.Conn, 2)
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "socketpair")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	return conns[0], conns[1]
}

// peer is the client end of a POP3 conversation.
type peer struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
}

func newPeer(t *testing.T, c net.Conn) *peer {
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return &peer{t: t, conn: c, br: bufio.NewReader(c)}
}

func (p *peer) send(s string) {
	p.t.Helper()
	if _, err := p.conn.Write([]byte(s + "\r\n")); err != nil {
		p.t.Fatalf("send %q: %v", s, err)
	}
}

func (p *peer) line() string {
	p.t.Helper()
	l, err := p.br.ReadString('\n')
	if err != nil {
		p.t.Fatalf("read: %v (got %q)", err, l)
	}
	if !strings.HasSuffix(l, "\r\n") {
		p.t.Fatalf("line %q does not end in CRLF", l)
	}
	return strings.TrimSuffix(l, "\r\n")
}

// expect reads one line and checks its prefix.
func (p *peer) expect(prefix string) string {
	p.t.Helper()
	l := p.line()
	if !strings.HasPrefix(l, prefix) {
		p.t.Fatalf("got %q, want prefix %q", l, prefix)
	}
	return l
}

// multi reads a multi-line body up to the "." terminator, byte-stuffing
// still in place.
func (p *peer) multi() []string {
	p.t.Helper()
	var lines []string
	for {
		l := p.line()
		if l == "." {
			return lines
		}
		lines = append(lines, l)
	}
}

// closed checks the server closed the connection.
func (p *peer) closed() {
	p.t.Helper()
	if l, err := p.br.ReadString('\n'); err == nil {
		p.t.Fatalf("connection still open, got %q", l)
	}
}

// startSession runs Session over a socketpair and returns the client end
// and a channel with Session's result.
func startSession(t *testing.T, maildir string) (*peer, chan error) {
	t.Helper()
	a, b := socketPair(t)
	done := make(chan error, 1)
	go func() { done <- Session(b, maildir, nil) }()
	t.Cleanup(func() { a.Close() })
	return newPeer(t, a), done
}
