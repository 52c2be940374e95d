package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestLoginLogoutAndCookieFlags(t *testing.T) {
	e := newEnv(t, Limits{})
	b := e.browser()
	if r := b.login("alice@example.com", "wrong"); r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.body, "Wrong address or password") {
		t.Fatalf("wrong password: %d\n%s", r.StatusCode, r.body)
	}
	if _, ok := b.cookies[cookieName]; ok {
		t.Fatal("a failed login set a session cookie")
	}
	r := b.login("alice@example.com", "pw-alice")
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/mail" {
		t.Fatalf("login: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	var sc *http.Cookie
	for _, c := range r.Cookies() {
		if c.Name == cookieName {
			sc = c
		}
	}
	if sc == nil {
		t.Fatal("no session cookie")
	}
	raw := r.Header.Values("Set-Cookie")
	var line string
	for _, l := range raw {
		if strings.HasPrefix(l, cookieName+"=") {
			line = l
		}
	}
	for _, want := range []string{"Path=/", "HttpOnly", "Secure", "SameSite=Strict"} {
		if !strings.Contains(line, want) {
			t.Errorf("session cookie %q lacks %s", line, want)
		}
	}
	if strings.Contains(strings.ToLower(line), "domain=") || strings.Contains(line, "Max-Age") || strings.Contains(line, "Expires") {
		t.Errorf("session cookie %q has a Domain or a lifetime", line)
	}
	if n := len(sc.Value); n < 43 {
		t.Errorf("session id of %d characters: fewer than 256 bits", n)
	}
	p := b.get("/mail")
	if p.StatusCode != 200 || !strings.Contains(p.body, "mail of alice@example.com") {
		t.Fatalf("mailbox: %d\n%s", p.StatusCode, p.body)
	}
	if strings.Contains(p.body, "<script>alert") {
		t.Fatal("a subject's markup reached the page unescaped")
	}
	mb := e.auth.lastMbox()
	r = b.post("/logout", nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login?m=out" {
		t.Fatalf("logout: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if !mb.isClosed() {
		t.Fatal("logout left the mailbox session open")
	}
	if _, ok := b.cookies[cookieName]; ok {
		t.Fatal("logout did not clear the cookie")
	}
	// The old cookie is dead on the server too.
	b.cookies[cookieName] = sc.Value
	if r := b.get("/mail"); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
		t.Fatalf("old cookie after logout: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
}

func TestIdleAndAbsoluteExpiry(t *testing.T) {
	e := newEnv(t, Limits{Idle: 30 * time.Minute, Absolute: 12 * time.Hour})
	b := e.browser()
	b.mustLogin("alice@example.com")
	mb := e.auth.lastMbox()
	e.clock.add(29 * time.Minute)
	if r := b.get("/mail"); r.StatusCode != 200 {
		t.Fatalf("after 29 idle minutes: %d", r.StatusCode)
	}
	e.clock.add(30 * time.Minute)
	if r := b.get("/mail"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login?m=expire" {
		t.Fatalf("after 30 idle minutes: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if !mb.isClosed() {
		t.Fatal("an expired session kept its mailbox session")
	}

	b = e.browser()
	b.mustLogin("alice@example.com")
	mb = e.auth.lastMbox()
	for i := 0; i < 12*3-1; i++ { // used every 20 minutes, never idle
		e.clock.add(20 * time.Minute)
		if r := b.get("/mail"); r.StatusCode != 200 {
			t.Fatalf("at %v: %d", time.Duration(i+1)*20*time.Minute, r.StatusCode)
		}
	}
	e.clock.add(20 * time.Minute)
	if r := b.get("/mail"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("after 12 hours: %d", r.StatusCode)
	}
	if !mb.isClosed() {
		t.Fatal("a session past its absolute lifetime kept its mailbox session")
	}
}

func TestSweepEndsAbandonedSessions(t *testing.T) {
	e := newEnv(t, Limits{})
	b := e.browser()
	b.mustLogin("alice@example.com")
	mb := e.auth.lastMbox()
	e.clock.add(31 * time.Minute)
	e.srv.table.sweep()
	if !mb.isClosed() || e.srv.table.count() != 0 {
		t.Fatal("sweep kept an expired session")
	}
}

func TestBrokenSessionEndsWebSession(t *testing.T) {
	e := newEnv(t, Limits{})
	b := e.browser()
	b.mustLogin("alice@example.com")
	e.auth.lastMbox().conn.Close() // the session process died
	r := b.get("/mail")
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login?m=ended" {
		t.Fatalf("broken session: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if e.srv.table.count() != 0 {
		t.Fatal("the web session outlived its mailbox session")
	}
	if r := b.get("/login?m=ended"); !strings.Contains(r.body, "mailbox connection closed") {
		t.Fatalf("login page does not say why:\n%s", r.body)
	}
}

func TestSessionRefusalIsAPageWithItsStatus(t *testing.T) {
	e := newEnv(t, Limits{})
	b := e.browser()
	b.mustLogin("alice@example.com")
	r := b.get("/msg?f=INBOX&id=missing")
	if r.StatusCode != http.StatusNotFound || !strings.Contains(r.body, "no message missing") || !strings.Contains(r.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("missing message: %d\n%s", r.StatusCode, r.body)
	}
	if r := b.get("/nowhere"); r.StatusCode != http.StatusNotFound || !strings.Contains(r.body, "no page at this address") {
		t.Fatalf("unknown page: %d", r.StatusCode)
	}
	if r := b.post("/mail", nil); r.StatusCode != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "GET" {
		t.Fatalf("POST /mail: %d %q", r.StatusCode, r.Header.Get("Allow"))
	}
}

func TestPerUserPerAddressAndTotalBounds(t *testing.T) {
	e := newEnv(t, Limits{PerUser: 2, PerIP: 3, MaxSessions: 100})
	var first *fakeSession
	for i := 0; i < 3; i++ {
		b := e.browser()
		b.mustLogin("alice@example.com")
		if i == 0 {
			first = e.auth.lastMbox()
		}
	}
	if !first.isClosed() {
		t.Fatal("a third login of a user with PerUser 2 kept the oldest session")
	}
	if n := e.srv.table.count(); n != 2 {
		t.Fatalf("%d sessions, want 2", n)
	}
	b := e.browser()
	b.mustLogin("bob@example.com") // the address's third
	b = e.browser()
	if r := b.login("root-admin", "pw-root"); r.StatusCode != http.StatusServiceUnavailable || !strings.Contains(r.body, "too many sessions from your address") {
		t.Fatalf("fourth session from one address: %d\n%s", r.StatusCode, r.body)
	}
	e.auth.mu.Lock()
	admins := len(e.auth.admin)
	e.auth.mu.Unlock()
	if admins != 0 {
		t.Fatal("a login refused for its address started session processes")
	}
	// The table refuses too (two logins racing past the front's check):
	// the session's processes are closed by the login.
	if _, err := e.srv.table.add(&session{user: "carol@example.com", ip: clientKey("127.0.0.1")}); err != errTooManyFromIP {
		t.Fatalf("table add beyond PerIP: %v", err)
	}

	e = newEnv(t, Limits{MaxSessions: 1})
	e.browser().mustLogin("alice@example.com")
	if r := e.browser().login("bob@example.com", "pw-bob"); r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("login into a full table: %d", r.StatusCode)
	}
}

func TestLoginsInProgressPerAddress(t *testing.T) {
	e := newEnv(t, Limits{LoginsPerIP: 2, Logins: 10})
	e.auth.block = make(chan struct{})
	done := make(chan int, 2)
	for i := 0; i < 2; i++ {
		b := e.browser()
		b.get("/login")
		go func() {
			done <- b.post("/login", url.Values{"login": {"alice@example.com"}, "password": {"x"}}).StatusCode
		}()
	}
	// Wait until both hold their slot.
	for deadline := time.Now().Add(5 * time.Second); ; {
		e.srv.gate.mu.Lock()
		n := e.srv.gate.n
		e.srv.gate.mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the blocked logins never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	b := e.browser()
	if r := b.login("alice@example.com", "pw-alice"); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third login in progress from one address: %d", r.StatusCode)
	}
	close(e.auth.block)
	for i := 0; i < 2; i++ {
		if st := <-done; st != http.StatusUnauthorized {
			t.Fatalf("blocked login ended with %d", st)
		}
	}
	if r := b.login("alice@example.com", "pw-alice"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("login after the others finished: %d", r.StatusCode)
	}
}

func TestLoginGateBounds(t *testing.T) {
	g := &loginGate{perIP: 2, total: 3}
	if !g.acquire("a") || !g.acquire("a") || g.acquire("a") {
		t.Fatal("per-address bound not kept")
	}
	if !g.acquire("b") || g.acquire("c") {
		t.Fatal("total bound not kept")
	}
	g.release("a")
	if !g.acquire("c") {
		t.Fatal("a released slot was not reused")
	}
}

// TestBrowserGoneMidCallKeepsTheSession: a browser that stops waiting
// (a slow search, a closed tab) must not end its web session.
func TestBrowserGoneMidCallKeepsTheSession(t *testing.T) {
	e := newEnv(t, Limits{})
	b := e.browser()
	b.mustLogin("alice@example.com")
	release := make(chan struct{})
	slowStarted <- release // the next "list" with q=slow waits on release
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", e.ts.URL+"/mail?q=slow", nil)
	for k, v := range b.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	done := make(chan error, 1)
	go func() {
		resp, err := b.c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	<-slowEntered
	cancel()
	<-done
	time.Sleep(100 * time.Millisecond) // let the server see the closed connection
	close(release)
	if r := b.get("/mail"); r.StatusCode != 200 {
		t.Fatalf("after a cancelled request: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
}

// TestLogoutDuringSlowCall: logging out while a page waits for a slow
// session call (a body search) ends the session at once: the logout
// answers, the session's connection is closed and the waiting page is
// sent to the login page. Before, the logout waited for the search to end
// (up to webrpc.DefaultCallTimeout) while the session process went on
// (security review of issue 15).
func TestLogoutDuringSlowCall(t *testing.T) {
	e := newEnv(t, Limits{})
	b := e.browser()
	b.mustLogin("alice@example.com")
	release := make(chan struct{})
	defer close(release)
	slowStarted <- release
	req, _ := http.NewRequest("GET", e.ts.URL+"/mail?q=slow", nil)
	for k, v := range b.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	page := make(chan *http.Response, 1)
	go func() {
		resp, err := b.c.Do(req)
		if err != nil {
			t.Error(err)
		} else {
			resp.Body.Close()
		}
		page <- resp
	}()
	<-slowEntered
	out := make(chan result, 1)
	go func() { out <- b.post("/logout", nil) }()
	select {
	case r := <-out:
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login?m=out" {
			t.Fatalf("logout: %d %q", r.StatusCode, r.Header.Get("Location"))
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the logout waits for the slow call")
	}
	if r := <-page; r != nil && (r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login")) {
		t.Errorf("the page waiting on the session: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := b.get("/mail"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("after logout: %d", r.StatusCode)
	}
}
