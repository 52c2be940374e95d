package web

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"goqmail/internal/logline"
)

func TestClientKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7":               "192.0.2.7",
		"::ffff:192.0.2.7":        "192.0.2.7",
		"2001:db8:1:2::1":         "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff:1:2:3": "2001:db8:1:2::/64",
		"2001:db8:1:3::1":         "2001:db8:1:3::/64",
		"fe80::1%eth0":            "fe80::/64",
		"not an address":          "not an address",
	} {
		if got := clientKey(in); got != want {
			t.Errorf("clientKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// loginFrom logs in through ServeHTTP as a client at remote ("[ip]:port").
func loginFrom(t *testing.T, srv *Server, remote, user, pass string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "https://web.test/login", nil)
	req.RemoteAddr = remote
	srv.ServeHTTP(rec, req)
	var tok string
	for _, c := range rec.Result().Cookies() {
		if c.Name == loginCookieName {
			tok = c.Value
		}
	}
	m := csrfField.FindStringSubmatch(rec.Body.String())
	if tok == "" || m == nil {
		t.Fatalf("no login token for %s", remote)
	}
	form := url.Values{"csrf": {m[1]}, "login": {user}, "password": {pass}}
	req = httptest.NewRequest("POST", "https://web.test/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: loginCookieName, Value: tok})
	req.RemoteAddr = remote
	rec = httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// An IPv6 client has a /64 to pick addresses from: the sessions per
// address count it as one client. Before, each of its addresses had
// PerIP sessions of its own.
func TestPerAddressBoundCountsIPv6By64(t *testing.T) {
	e := newEnv(t, Limits{PerIP: 3, PerUser: 100, MaxSessions: 100})
	for i := 1; i <= 3; i++ {
		if st, body := loginFrom(t, e.srv, "[2001:db8:1:2::"+string(rune('0'+i))+"]:4000", "alice@example.com", "pw-alice"); st != http.StatusSeeOther {
			t.Fatalf("login %d: %d\n%s", i, st, body)
		}
	}
	if st, body := loginFrom(t, e.srv, "[2001:db8:1:2:aaaa::9]:4000", "alice@example.com", "pw-alice"); st != http.StatusServiceUnavailable || !strings.Contains(body, "too many sessions from your address") {
		t.Fatalf("a fourth session from the same /64: %d\n%s", st, body)
	}
	if st, _ := loginFrom(t, e.srv, "[2001:db8:1:3::1]:4000", "alice@example.com", "pw-alice"); st != http.StatusSeeOther {
		t.Fatalf("another /64: %d", st)
	}
	for _, ip := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"} {
		if st, _ := loginFrom(t, e.srv, ip+":4000", "alice@example.com", "pw-alice"); st != http.StatusSeeOther {
			t.Fatalf("IPv4 %s: %d", ip, st)
		}
	}
}

// One client holds at most ConnsPerIP connections: the next is closed at
// once, the ones it has are served, and a closed one frees its place.
// Before, a client could open connections until the front had no file
// descriptor left.
func TestConnectionsPerClientBounded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })}
	go hs.Serve(LimitListener(ln, 3, logline.NewTo(io.Discard, "web")))
	t.Cleanup(func() { hs.Close() })
	addr := ln.Addr().String()

	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// served reports whether a request on c gets its answer.
	served := func(c net.Conn) bool {
		c.SetDeadline(time.Now().Add(10 * time.Second)) // a hang guard, not a measure
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			return false
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isReset(err) {
				return false
			}
			t.Fatalf("reading the answer: %v", err)
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}
	held := []net.Conn{dial(), dial(), dial()}
	for i, c := range held {
		if !served(c) {
			t.Fatalf("connection %d of 3 was not served", i+1)
		}
	}
	if served(dial()) {
		t.Fatal("a fourth connection from one client was served")
	}
	held[0].Close()
	// The server notices the close on its own time: retry until a new
	// connection is served (bounded, so a leak fails the test).
	for i := 0; ; i++ {
		if served(dial()) {
			break
		}
		if i == 100 {
			t.Fatal("a closed connection never freed its place")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func isReset(err error) bool {
	return strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe")
}

// One user's slow uploads hold at most maxUploadsPerUser of the server's
// upload slots: before, 8 of them (each may take minutes) left every
// other user "Busy".
func TestUploadsPerUserBounded(t *testing.T) {
	e := newEnv(t, Limits{})
	alice, bob := e.browser(), e.browser()
	alice.mustLogin("alice@example.com")
	bob.mustLogin("bob@example.com")
	// slow starts an upload whose body never ends until the test does.
	var writers []*io.PipeWriter
	t.Cleanup(func() {
		for _, w := range writers {
			w.CloseWithError(errors.New("test over"))
		}
	})
	slow := func(b *browser) {
		pr, pw := io.Pipe()
		writers = append(writers, pw)
		req, _ := http.NewRequest("POST", e.ts.URL+"/compose", pr)
		req.Header.Set("Content-Type", "multipart/form-data; boundary=xyz")
		req.Header.Set("Origin", e.ts.URL)
		for k, v := range b.cookies {
			req.AddCookie(&http.Cookie{Name: k, Value: v})
		}
		go func() {
			if resp, err := b.c.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
		go io.WriteString(pw, "--xyz\r\nContent-Disposition: form-data; name=\"attach\"; filename=\"a\"\r\n\r\nsome bytes")
	}
	for i := 0; i < maxUploadsPerUser; i++ {
		slow(alice)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		n := len(e.srv.uploads) // the server's slots in use
		if n == maxUploadsPerUser {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the slow uploads never started (%d)", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	alice.get("/compose")
	if r := multipartCompose(alice, map[string][]byte{"b.txt": []byte("x")}); r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a third upload of one user: %d\n%s", r.StatusCode, r.body)
	}
	bob.get("/compose")
	if r := multipartCompose(bob, map[string][]byte{"c.txt": []byte("x")}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("another user's upload: %d\n%s", r.StatusCode, r.body)
	}
}

// A login from an address that holds PerIP sessions is refused before
// goqmail-auth is asked: before, auth checked the password and started
// the session processes, which the front then closed.
func TestLoginAtAddressBoundStartsNoSession(t *testing.T) {
	e := newEnv(t, Limits{PerIP: 2, PerUser: 10})
	e.browser().mustLogin("alice@example.com")
	e.browser().mustLogin("bob@example.com")
	e.auth.mu.Lock()
	started := len(e.auth.mbox)
	e.auth.mu.Unlock()
	if r := e.browser().login("alice@example.com", "pw-alice"); r.StatusCode != http.StatusServiceUnavailable || !strings.Contains(r.body, "too many sessions from your address") {
		t.Fatalf("a third session from one address: %d\n%s", r.StatusCode, r.body)
	}
	e.auth.mu.Lock()
	defer e.auth.mu.Unlock()
	if len(e.auth.mbox) != started {
		t.Fatalf("goqmail-auth started %d session processes for a login the front refuses", len(e.auth.mbox)-started)
	}
}

// A message's HTML may name its images thousands of times: the frame asks
// the session for each part once, and for at most maxFrameParts of them.
// Before, every reference was a part call (each parses the message file
// again and sends the part's bytes), so one mail with a large image named
// 5,000 times kept the reader's session busy for as long as the sender
// liked.
func TestFrameFetchesEachPartOnce(t *testing.T) {
	e := newEnv(t, Limits{})
	b := e.browser()
	b.mustLogin("alice@example.com")
	mb := e.auth.lastMbox()
	r := b.get("/msg/html?f=INBOX&id=manyimg")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("frame: %d\n%s", r.StatusCode, r.body)
	}
	if n := strings.Count(r.body, `src="data:image/png;base64,`); n != 3000 {
		t.Errorf("%d of 3000 references to the image inlined", n)
	}
	if strings.Contains(r.body, "part:") {
		t.Error("a part: URL was left in the frame")
	}
	parts := 0
	for _, op := range mb.ops() {
		if op == opPart {
			parts++
		}
	}
	if parts > maxFrameParts {
		t.Errorf("the frame asked the session for %d parts, at most %d wanted", parts, maxFrameParts)
	}
}
