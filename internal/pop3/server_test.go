package pop3

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/md5"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"math/big"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"goqmail/internal/logline"
)

// fakeAuth knows users and passwords and starts Session over a socketpair,
// as the auth service starts goqmail-pop3d -session.
type fakeAuth struct {
	t       *testing.T
	users   map[string]string // user -> password
	maildir string
	mu      sync.Mutex
	calls   []string
}

func (a *fakeAuth) start(user string) (net.Conn, error) {
	a.mu.Lock()
	a.calls = append(a.calls, user)
	a.mu.Unlock()
	mine, theirs := socketPair(a.t)
	go Session(theirs, a.maildir, nil)
	return mine, nil
}

func (a *fakeAuth) Login(ctx context.Context, user, password, ip string) (net.Conn, error) {
	if pw, ok := a.users[user]; !ok || pw != password || ip != "127.0.0.1" {
		return nil, ErrAuthFailed
	}
	return a.start(user)
}

func (a *fakeAuth) APOP(ctx context.Context, user, timestamp, digest, ip string) (net.Conn, error) {
	pw, ok := a.users[user]
	sum := md5.Sum([]byte(timestamp + pw))
	if !ok || hex.EncodeToString(sum[:]) != digest {
		return nil, ErrAuthFailed
	}
	return a.start(user)
}

// selfSigned makes a throwaway certificate for 127.0.0.1.
func selfSigned(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pop.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"pop.test"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

type testServer struct {
	addr string
	auth *fakeAuth
	srv  *Server
}

// startServer runs a Server on a loopback port; tlsCfg nil = no TLS.
func startServer(t *testing.T, tlsCfg *tls.Config, implicit bool, options ...func(*Server)) *testServer {
	t.Helper()
	auth := &fakeAuth{t: t, users: map[string]string{"demo@example.test": "s3cret pw", "other": "x"}, maildir: fixture(t)}
	srv := &Server{Auth: auth, Hostname: "pop.test", Log: logline.NewTo(testWriter{t}, "pop3d"), Timeout: 5 * time.Second}
	if tlsCfg != nil {
		srv.TLS = func() *tls.Config { return tlsCfg }
	}
	for _, o := range options {
		o(srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln, implicit)
	t.Cleanup(func() { ln.Close() })
	return &testServer{addr: ln.Addr().String(), auth: auth, srv: srv}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func (ts *testServer) dial(t *testing.T) (*peer, string) {
	t.Helper()
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	p := newPeer(t, c)
	g := p.expect("+OK ")
	m := regexp.MustCompile(`<\d+\.\d+\.\d+@pop\.test>$`).FindString(g)
	if m == "" {
		t.Fatalf("greeting %q has no APOP timestamp", g)
	}
	return p, m
}

func TestServerUserPass(t *testing.T) {
	ts := startServer(t, nil, false)
	p, _ := ts.dial(t)
	steps := []struct{ cmd, want string }{
		{"STAT", "-ERR unknown command or not logged in"},
		{"PASS x", "-ERR USER first"},
		{"USER", "-ERR USER needs one name"},
		{"USER nobody", "+OK"},
		{"PASS s3cret pw", "-ERR [AUTH] authentication failed"}, // unknown user
		{"USER demo@example.test", "+OK"},
		{"PASS wrong", "-ERR [AUTH] authentication failed"}, // same answer for a wrong password
		{"PASS s3cret pw", "-ERR USER first"},               // a failed PASS starts over
		{"NOOP", "-ERR unknown command or not logged in"},
		{"USER demo@example.test", "+OK"},
		{"PASS s3cret pw", "+OK 3 messages"}, // the password keeps its space
		{"STAT", "+OK 3 "},
		{"QUIT", "+OK bye"},
	}
	for _, st := range steps {
		p.send(st.cmd)
		p.expect(st.want)
	}
	p.closed()
}

func TestServerCapa(t *testing.T) {
	tests := []struct {
		name string
		tls  bool
		want string
	}{
		{"no TLS configured", false, "TOP UIDL RESP-CODES AUTH-RESP-CODE PIPELINING USER SASL PLAIN IMPLEMENTATION goqmail"},
		{"TLS available", true, "TOP UIDL RESP-CODES AUTH-RESP-CODE PIPELINING STLS IMPLEMENTATION goqmail"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cfg *tls.Config
			if tt.tls {
				cfg = selfSigned(t)
			}
			p, _ := startServer(t, cfg, false).dial(t)
			p.send("CAPA")
			p.expect("+OK")
			if got := strings.Join(p.multi(), " "); got != tt.want {
				t.Fatalf("CAPA = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestServerAPOP(t *testing.T) {
	ts := startServer(t, nil, false)
	p, stamp := ts.dial(t)
	digest := func(pw string) string { s := md5.Sum([]byte(stamp + pw)); return hex.EncodeToString(s[:]) }
	p.send("APOP other " + digest("wrong"))
	p.expect("-ERR [AUTH] authentication failed")
	p.send("APOP other zz")
	p.expect("-ERR APOP needs")
	p.send("APOP other " + strings.ToUpper(digest("x")))
	p.expect("+OK 3 messages")
	p.send("QUIT")
	p.expect("+OK")

	// Another connection's timestamp differs, so a digest cannot be replayed.
	p2, stamp2 := ts.dial(t)
	if stamp2 == stamp {
		t.Fatal("APOP timestamp reused")
	}
	p2.send("APOP other " + digest("x"))
	p2.expect("-ERR [AUTH] authentication failed")
}

func TestServerAuthPlain(t *testing.T) {
	ts := startServer(t, nil, false)
	plain := func(z, u, pw string) string {
		return base64.StdEncoding.EncodeToString([]byte(z + "\x00" + u + "\x00" + pw))
	}
	p, _ := ts.dial(t)
	steps := []struct{ cmd, want string }{
		{"AUTH", "+OK"},
		{"PLAIN", "PLAIN"},
		{".", "."},
		{"AUTH CRAM-MD5", "-ERR unsupported SASL mechanism"},
		{"AUTH PLAIN !!!", "-ERR malformed SASL response"},
		{"AUTH PLAIN " + plain("admin", "other", "x"), "-ERR malformed SASL response"},
		{"AUTH PLAIN " + plain("", "other", "bad"), "-ERR [AUTH] authentication failed"},
		{"AUTH PLAIN", "+ "},
		{"*", "-ERR authentication cancelled"},
		{"AUTH PLAIN", "+ "},
		{plain("other", "other", "x"), "+OK 3 messages"},
		{"QUIT", "+OK bye"},
	}
	for _, st := range steps {
		if st.cmd == "PLAIN" || st.cmd == "." { // the rest of AUTH's list
			p.expect(st.want)
			continue
		}
		p.send(st.cmd)
		p.expect(st.want)
	}
}

// TestServerPlaintextRefused: with TLS on offer, no password in the clear
// (RFC 2595 section 2.4) unless AllowPlaintextAuth.
func TestServerPlaintextRefused(t *testing.T) {
	ts := startServer(t, selfSigned(t), false)
	p, _ := ts.dial(t)
	for _, c := range []string{"USER other", "PASS x", "AUTH PLAIN AG90aGVyAHg="} {
		p.send(c)
		if l := p.line(); !strings.HasPrefix(l, "-ERR") {
			t.Fatalf("%s on plain text: %q", c, l)
		}
	}
	if len(ts.auth.calls) != 0 {
		t.Fatal("credentials reached the authenticator over plain text")
	}
	ts = startServer(t, selfSigned(t), false, func(s *Server) { s.AllowPlaintextAuth = true })
	p2, _ := ts.dial(t)
	p2.send("USER other")
	p2.expect("+OK")
	p2.send("PASS x")
	p2.expect("+OK 3")
}

// TestServerSetSettings: a reload (control/authplaintext under SIGHUP)
// changes what new connections may do; pop3d ignored authplaintext before.
func TestServerSetSettings(t *testing.T) {
	ts := startServer(t, selfSigned(t), false)
	ts.srv.SetSettings(Settings{Hostname: "pop.test", AllowPlaintextAuth: true})
	p, _ := ts.dial(t)
	p.send("USER other")
	p.expect("+OK")
	ts.srv.SetSettings(Settings{Hostname: "pop.test"})
	p2, _ := ts.dial(t)
	p2.send("USER other")
	p2.expect("-ERR")
}

func tlsClient(c net.Conn) *tls.Conn {
	return tls.Client(c, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12})
}

func TestServerSTLS(t *testing.T) {
	ts := startServer(t, selfSigned(t), false)
	p, _ := ts.dial(t)
	p.send("USER other") // refused in clear, and forgotten anyway
	p.expect("-ERR")
	p.send("STLS")
	p.expect("+OK")
	tc := tlsClient(p.conn)
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	p = newPeer(t, tc)
	p.send("CAPA")
	p.expect("+OK")
	if caps := strings.Join(p.multi(), " "); strings.Contains(caps, "STLS") || !strings.Contains(caps, "USER") {
		t.Fatalf("CAPA under TLS = %q", caps)
	}
	p.send("STLS")
	p.expect("-ERR already under TLS")
	p.send("PASS x")
	p.expect("-ERR USER first")
	p.send("USER other")
	p.expect("+OK")
	p.send("PASS x")
	p.expect("+OK 3 messages")
	p.send("RETR 1")
	p.expect("+OK")
	p.multi()
	p.send("QUIT")
	p.expect("+OK bye")
}

// TestServerSTLSInjection: commands pipelined after STLS in the same
// packet (the CVE-2011-0411 class) end the session, never run under TLS.
func TestServerSTLSInjection(t *testing.T) {
	ts := startServer(t, selfSigned(t), false)
	p, _ := ts.dial(t)
	p.conn.Write([]byte("STLS\r\nUSER other\r\nPASS x\r\n"))
	p.expect("-ERR commands pipelined after STLS")
	p.closed()
	if len(ts.auth.calls) != 0 {
		t.Fatal("injected credentials were used")
	}
}

func TestServerImplicitTLS(t *testing.T) {
	ts := startServer(t, selfSigned(t), true)
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tc := tlsClient(c)
	p := newPeer(t, tc)
	p.expect("+OK POP3 ready <")
	if v := tc.ConnectionState().Version; v < tls.VersionTLS12 {
		t.Fatalf("TLS version %x", v)
	}
	p.send("USER other")
	p.expect("+OK")
	p.send("PASS x")
	p.expect("+OK 3")

	// TLS 1.1 is refused even if the configuration asked for less.
	c2, _ := net.Dial("tcp", ts.addr)
	defer c2.Close()
	old := tls.Client(c2, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11})
	old.SetDeadline(time.Now().Add(5 * time.Second))
	if err := old.Handshake(); err == nil {
		t.Fatal("TLS 1.1 handshake succeeded")
	}
}

// TestServerRelayPipelineAndHalfClose: commands pipelined after PASS reach
// the session, and a client that half-closes after QUIT still gets the
// answer (and the update happens).
func TestServerRelayPipelineAndHalfClose(t *testing.T) {
	ts := startServer(t, nil, false)
	p, _ := ts.dial(t)
	p.conn.Write([]byte("USER other\r\nPASS x\r\nDELE 1\r\nQUIT\r\n"))
	p.conn.(*net.TCPConn).CloseWrite()
	p.expect("+OK")
	p.expect("+OK 3 messages")
	p.expect("+OK message 1 deleted")
	p.expect("+OK bye")
	p.closed()
	p2, _ := ts.dial(t)
	p2.send("USER other")
	p2.expect("+OK")
	p2.send("PASS x")
	p2.expect("+OK 2 messages")
}

// TestServerDroppedClientDeletesNothing: a client vanishing after DELE
// leaves the mailbox intact, through the relay.
func TestServerDroppedClientDeletesNothing(t *testing.T) {
	ts := startServer(t, nil, false)
	p, _ := ts.dial(t)
	p.send("USER other")
	p.expect("+OK")
	p.send("PASS x")
	p.expect("+OK 3")
	p.send("DELE 1")
	p.expect("+OK")
	p.conn.Close()
	// The lock is free again once the session saw the drop.
	deadline := time.Now().Add(5 * time.Second)
	for {
		p2, _ := ts.dial(t)
		p2.send("USER other")
		p2.expect("+OK")
		p2.send("PASS x")
		l := p2.line()
		if strings.HasPrefix(l, "+OK 3 messages") {
			return
		}
		if !strings.HasPrefix(l, "-ERR [IN-USE]") || time.Now().After(deadline) {
			t.Fatalf("after a dropped session: %q", l)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestServerInUse(t *testing.T) {
	ts := startServer(t, nil, false)
	p, _ := ts.dial(t)
	p.send("USER other")
	p.expect("+OK")
	p.send("PASS x")
	p.expect("+OK 3")
	p2, _ := ts.dial(t)
	p2.send("USER other")
	p2.expect("+OK")
	p2.send("PASS x")
	p2.expect("-ERR [IN-USE]")
	p2.closed()
}

type failingAuth struct{}

func (failingAuth) Login(context.Context, string, string, string) (net.Conn, error) {
	return nil, errors.New("socket gone")
}
func (failingAuth) APOP(context.Context, string, string, string, string) (net.Conn, error) {
	return nil, errors.New("socket gone")
}

func TestServerAuthServiceDown(t *testing.T) {
	ts := startServer(t, nil, false, func(s *Server) { s.Auth = failingAuth{} })
	p, _ := ts.dial(t)
	p.send("USER other")
	p.expect("+OK")
	p.send("PASS x")
	p.expect("-ERR [SYS/TEMP]")
	for i := 0; i < maxBadCommands; i++ {
		p.send("BLAH")
	}
	for i := 0; i < maxBadCommands; i++ {
		p.expect("-ERR")
	}
	p.closed()
}
