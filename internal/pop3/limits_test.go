package pop3

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"goqmail/internal/connlimit"
)

// dialFrom connects from the loopback address ip and returns the
// connection and its first line ("" when closed without a word).
func dialFrom(t *testing.T, addr, ip string) (net.Conn, string) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", ip, err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	l, err := bufio.NewReader(c).ReadString('\n')
	if err != nil && err != io.EOF {
		t.Fatalf("first line from %s: %v", addr, err)
	}
	return c, l
}

func withLimits(l connlimit.Limits) func(*Server) {
	return func(s *Server) { s.SetSettings(Settings{Hostname: "pop.test", Limits: l}) }
}

func TestPOP3PerAddressLimit(t *testing.T) {
	ts := startServer(t, nil, false, withLimits(connlimit.Limits{Total: 10, PerClient: 2}))
	var held []net.Conn
	for i := range 2 {
		c, l := dialFrom(t, ts.addr, "127.0.0.2")
		if !strings.HasPrefix(l, "+OK ") {
			t.Fatalf("session %d: %q", i+1, l)
		}
		held = append(held, c)
	}
	if _, l := dialFrom(t, ts.addr, "127.0.0.2"); l != "-ERR [SYS/TEMP] too many connections from your address; try again later\r\n" {
		t.Fatalf("third session from 127.0.0.2: %q", l)
	}
	if _, l := dialFrom(t, ts.addr, "127.0.0.3"); !strings.HasPrefix(l, "+OK ") {
		t.Fatalf("another address: %q", l)
	}
	held[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for ts.srv.sessions.Sessions() != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions counted after one ended", ts.srv.sessions.Sessions())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, l := dialFrom(t, ts.addr, "127.0.0.2"); !strings.HasPrefix(l, "+OK ") {
		t.Fatalf("after a session ended: %q", l)
	}
}

func TestPOP3RateAndTotal(t *testing.T) {
	ts := startServer(t, nil, false, withLimits(connlimit.Limits{Total: 3, Rate: 2}))
	for i := range 2 {
		if _, l := dialFrom(t, ts.addr, "127.0.0.2"); !strings.HasPrefix(l, "+OK ") {
			t.Fatalf("connection %d: %q", i+1, l)
		}
	}
	if _, l := dialFrom(t, ts.addr, "127.0.0.2"); l != "-ERR [SYS/TEMP] too many connections from your address in the last minute; try again later\r\n" {
		t.Fatalf("past the rate: %q", l)
	}
	if _, l := dialFrom(t, ts.addr, "127.0.0.3"); !strings.HasPrefix(l, "+OK ") {
		t.Fatalf("third session: %q", l)
	}
	if _, l := dialFrom(t, ts.addr, "127.0.0.4"); l != "-ERR [SYS/TEMP] too many connections; try again later\r\n" {
		t.Fatalf("past the budget: %q", l)
	}
}

// On 995 a refused connection is closed before TLS, without a word.
func TestPOP3SRefusedBeforeTLS(t *testing.T) {
	ts := startServer(t, selfSigned(t), true, withLimits(connlimit.Limits{Total: 10, PerClient: 1}))
	first, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	for ts.srv.sessions.Sessions() != 1 {
		time.Sleep(5 * time.Millisecond)
	}
	if _, l := dialFrom(t, ts.addr, "127.0.0.1"); l != "" {
		t.Fatalf("a refused pop3s connection got %q", l)
	}
}

// The third failed login ends the connection: a guessing loop must
// reconnect, and connections are what the limits count.
func TestPOP3LoginFailuresEndConnection(t *testing.T) {
	ts := startServer(t, nil, false)
	p, _ := ts.dial(t)
	for i := range 3 {
		p.send("USER demo@example.test")
		p.expect("+OK")
		p.send("PASS wrong")
		if i < 2 {
			if l := p.line(); l != "-ERR [AUTH] authentication failed" {
				t.Fatalf("failure %d: %q", i+1, l)
			}
		} else if l := p.line(); l != "-ERR [AUTH] authentication failed; too many failed logins, closing" {
			t.Fatalf("third failure: %q", l)
		}
	}
	p.closed()
}
