package web

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"goqmail/internal/logline"
	"goqmail/internal/webrpc"
)

// fakeUser is an account of the fake auth service.
type fakeUser struct {
	password, role, domain string
}

// fakeSession is the far end of one session socket: a webrpc server with a
// canned handler that records what reached it.
type fakeSession struct {
	user   string
	mu     sync.Mutex
	reqs   []webrpc.Request
	closed chan struct{}
	conn   net.Conn // the session's end, to break it from a test
}

func (f *fakeSession) ops() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.reqs {
		out = append(out, r.Op)
	}
	return out
}

func (f *fakeSession) last(op string) *webrpc.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.reqs) - 1; i >= 0; i-- {
		if f.reqs[i].Op == op {
			r := f.reqs[i]
			return &r
		}
	}
	return nil
}

func (f *fakeSession) isClosed() bool {
	select {
	case <-f.closed:
		return true
	case <-time.After(5 * time.Second):
		return false
	}
}

type fakeAuth struct {
	users map[string]fakeUser
	mu    sync.Mutex
	mbox  []*fakeSession
	admin []*fakeSession
	block chan struct{} // when set, OpenWeb waits on it (logins in progress)
}

func serveFake(user string, h func(user string, req *webrpc.Request) *webrpc.Response) (net.Conn, *fakeSession) {
	front, back := net.Pipe()
	fs := &fakeSession{user: user, closed: make(chan struct{}), conn: back}
	go func() {
		webrpc.Serve(back, 0, func(req *webrpc.Request) *webrpc.Response {
			cp := *req
			cp.Args = append([]string(nil), req.Args...)
			cp.Files = append([]webrpc.File(nil), req.Files...)
			fs.mu.Lock()
			fs.reqs = append(fs.reqs, cp)
			fs.mu.Unlock()
			return h(user, req)
		})
		back.Close()
		close(fs.closed)
	}()
	return front, fs
}

func (a *fakeAuth) OpenWeb(ctx context.Context, login, password, ip string) (Login, error) {
	if a.block != nil {
		select {
		case <-a.block:
		case <-ctx.Done():
			return Login{}, ctx.Err()
		}
	}
	u, ok := a.users[login]
	if !ok || u.password != password {
		return Login{OK: false}, nil
	}
	l := Login{OK: true, User: login, Role: u.role, Domain: u.domain}
	var mfs *fakeSession
	l.Mailbox, mfs = serveFake(login, fakeMailbox)
	a.mu.Lock()
	a.mbox = append(a.mbox, mfs)
	a.mu.Unlock()
	if u.role != "" {
		var afs *fakeSession
		l.Admin, afs = serveFake(login, fakeAdmin)
		a.mu.Lock()
		a.admin = append(a.admin, afs)
		a.mu.Unlock()
	}
	return l, nil
}

func (a *fakeAuth) ChangePassword(ctx context.Context, login, old, new, ip string) (bool, bool, string, error) {
	u := a.users[login]
	if u.password != old {
		return false, false, "The current password is wrong.", nil
	}
	return true, false, "", nil
}

func (a *fakeAuth) lastMbox() *fakeSession {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.mbox[len(a.mbox)-1]
}

func (a *fakeAuth) lastAdmin() *fakeSession {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.admin[len(a.admin)-1]
}

// hostileNames are attachment names a sender chose; the part op returns
// the one whose index is the part id ("h0", "h1", ...).
var hostileNames = []string{
	"../../etc/passwd",
	"..\\..\\boot.ini",
	"evil\r\nSet-Cookie: x=y",
	"\"; filename=evil.exe",
	".bashrc",
	"report.pdf\x00.exe",
	"invoice\u202egpj.exe",
	"",
	"   ...   ",
	strings.Repeat("a", 5000),
	"naïve résumé.txt",
	"a;b=c.txt",
	"con:aux*?<>|.txt",
}

// pngPixel is a 1x1 PNG.
var pngPixel = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")

// slowStarted hands a "list" with query "slow" the channel it waits on;
// slowEntered says it is waiting.
var (
	slowStarted = make(chan chan struct{}, 1)
	slowEntered = make(chan struct{})
)

func fakeMailbox(user string, req *webrpc.Request) *webrpc.Response {
	switch req.Op {
	case opHello:
		return &webrpc.Response{Rows: [][]string{{user, user, "virtual", "1000", "100000"}}}
	case opFolders:
		return &webrpc.Response{Rows: [][]string{{"INBOX", "inbox", "1", "1"}, {"Drafts", "drafts", "0", "0"}, {"Trash", "trash", "0", "0"}, {"Archive", "", "3", "0"}}}
	case opList:
		if req.Arg(5) == "slow" {
			release := <-slowStarted
			slowEntered <- struct{}{}
			<-release
		}
		return &webrpc.Response{Text: "1", Rows: [][]string{{"m1", "", "1700000000", "Mallory <m@evil>", "<script>alert(1)</script> mail of " + user, "1234", "1"}}}
	case opMessage:
		if req.Arg(1) == "missing" {
			return webrpc.Errorf(webrpc.NotFound, "no message %s", req.Arg(1))
		}
		if req.Arg(1) == "bigimg" { // 7 MB of image: an 9.5 MB frame document
			return &webrpc.Response{Rows: [][]string{{"html", `<html><body><img src="part:bigpng"></body></html>`}}}
		}
		if req.Arg(1) == "manyimg" { // a sender's 3000 references to one image, 200 to parts that are not there
			var b strings.Builder
			for i := 0; i < 3000; i++ {
				b.WriteString(`<img src="part:img1">`)
			}
			for i := 0; i < 200; i++ {
				fmt.Fprintf(&b, `<img src="part:x%d">`, i)
			}
			return &webrpc.Response{Rows: [][]string{{"html", "<html><body>" + b.String() + "</body></html>"}}}
		}
		return &webrpc.Response{Rows: [][]string{
			{"from", "Mallory <m@evil>"}, {"subject", "Hi " + user}, {"date", "1700000000"}, {"flags", "S"},
			{"text", "hello <b>text</b>"},
			{"html", `<html><body><p>hi</p><img src="part:img1"><img src='part:svg1'><img src="https://tracker.example/x.png"></body></html>`},
			{"remoteimages", "1"},
			{"att", "img1", "image/png", "pixel.png", "70", "1", "c1"},
			{"att", "h0", "application/pdf", hostileNames[0], "10", "0", ""},
			{"header", "From", "Mallory <m@evil>"},
		}}
	case opPart:
		p := req.Arg(2)
		switch {
		case p == "img1":
			return &webrpc.Response{Rows: [][]string{{"type", "image/png"}, {"name", "pixel.png"}}, Blob: pngPixel}
		case p == "bigpng":
			return &webrpc.Response{Rows: [][]string{{"type", "image/png"}, {"name", "big.png"}}, Blob: hugeBlob[:7<<20]}
		case p == "huge":
			return &webrpc.Response{Rows: [][]string{{"type", "application/pdf"}, {"name", "big.pdf"}}, Blob: hugeBlob}
		case p == "svg1":
			return &webrpc.Response{Rows: [][]string{{"type", "image/svg+xml"}, {"name", "x.svg"}}, Blob: []byte("<svg onload=alert(1)/>")}
		case strings.HasPrefix(p, "h"):
			var i int
			for _, ch := range p[1:] {
				i = i*10 + int(ch-'0')
			}
			if i < len(hostileNames) {
				typ := "text/html"
				if i%2 == 1 {
					typ = "image/svg+xml"
				}
				return &webrpc.Response{Rows: [][]string{{"type", typ}, {"name", hostileNames[i]}}, Blob: []byte("<script>alert(1)</script>")}
			}
		}
		return webrpc.Errorf(webrpc.NotFound, "no part %s", p)
	case opRaw:
		return &webrpc.Response{Blob: []byte("From: m@evil\r\n\r\n<script>alert(1)</script>\r\n")}
	case opCompose:
		return &webrpc.Response{Rows: [][]string{{"from", user}, {"fromchoice", user}, {"to", "x@example.com"}, {"subject", "Re: hi"}, {"body", "> quoted </textarea><script>"}}}
	case opSend:
		return &webrpc.Response{Text: "Sent to 1 recipient."}
	case opDraft:
		return &webrpc.Response{Rows: [][]string{{"d1"}}}
	case opSettings:
		return &webrpc.Response{Rows: [][]string{{"forward", ""}, {"keepcopy", "1"}, {"vacation", "0"}, {"junk", "folder"}, {"quota", "1000", "100000", "1", "0"}}}
	case opMove:
		return &webrpc.Response{Rows: [][]string{{"m2"}}}
	}
	return &webrpc.Response{Text: "done"}
}

func fakeAdmin(user string, req *webrpc.Request) *webrpc.Response {
	switch req.Op {
	case opWhoami:
		return &webrpc.Response{Rows: [][]string{{"site", "", user}}}
	case opDomains:
		return &webrpc.Response{Rows: [][]string{{"example.com", "", "2", "1", "bounce", "0"}, {"other.org", "", "1", "0", "bounce", "0"}}}
	case opUsers:
		return &webrpc.Response{Rows: [][]string{{"bob@" + req.Arg(0), "0", "0", "10", "1"}}}
	case opQueue:
		return &webrpc.Response{Rows: [][]string{{"123", "a@b", "c@d", "60", "1000", "queued", "1700000000"}}}
	case opQueueShow:
		return &webrpc.Response{Text: "envelope of " + req.Arg(0)}
	case opHealth:
		return &webrpc.Response{Rows: [][]string{{"smtpd", "up", "12", "300", ""}, {"queue", "1", "60"}}}
	case opLog:
		return &webrpc.Response{Rows: [][]string{{"line one"}, {"line <two>"}}}
	}
	return &webrpc.Response{Text: "done"}
}

// clock is a test's time, moved by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	t     *testing.T
	srv   *Server
	ts    *httptest.Server
	auth  *fakeAuth
	clock *clock
}

var testUsers = map[string]fakeUser{
	"alice@example.com":      {password: "pw-alice"},
	"bob@example.com":        {password: "pw-bob"},
	"root-admin":             {password: "pw-root", role: "site"},
	"postmaster@example.com": {password: "pw-pm", role: "domain", domain: "example.com"},
}

func newEnv(t *testing.T, lim Limits) *env {
	t.Helper()
	e := &env{t: t, auth: &fakeAuth{users: testUsers}, clock: &clock{t: time.Unix(1_800_000_000, 0)}}
	e.srv = New(e.auth, logline.NewTo(io.Discard, "web"), lim, e.clock.now)
	e.ts = httptest.NewTLSServer(e.srv)
	t.Cleanup(func() { e.ts.Close(); e.srv.Close() })
	return e
}

// browser is one client with its own cookies. It does not follow
// redirects (tests look at them) and sends what a browser sends on a
// same-origin form post.
type browser struct {
	e       *env
	c       *http.Client
	cookies map[string]string
	csrf    string
}

func (e *env) browser() *browser {
	tr := e.ts.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	return &browser{e: e, cookies: map[string]string{}, c: &http.Client{Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type result struct {
	*http.Response
	body string
}

func (b *browser) do(req *http.Request) result {
	b.e.t.Helper()
	for k, v := range b.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c.Value
		}
	}
	if m := csrfField.FindStringSubmatch(string(body)); m != nil {
		b.csrf = m[1]
	}
	return result{resp, string(body)}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) get(path string) result {
	req, _ := http.NewRequest("GET", b.e.ts.URL+path, nil)
	return b.do(req)
}

// post sends a same-origin form with the browser's current CSRF token
// unless form has its own "csrf".
func (b *browser) post(path string, form url.Values) result {
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", b.csrf)
	}
	req, _ := http.NewRequest("POST", b.e.ts.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.e.ts.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

func (b *browser) login(user, password string) result {
	b.e.t.Helper()
	b.get("/login")
	return b.post("/login", url.Values{"login": {user}, "password": {password}})
}

// mustLogin logs in and loads a page so that b.csrf is the session's token.
func (b *browser) mustLogin(user string) {
	b.e.t.Helper()
	r := b.login(user, testUsers[user].password)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/mail" {
		b.e.t.Fatalf("login %s: %d %s\n%s", user, r.StatusCode, r.Header.Get("Location"), r.body)
	}
	if p := b.get("/mail"); p.StatusCode != 200 {
		b.e.t.Fatalf("GET /mail after login: %d\n%s", p.StatusCode, p.body)
	}
}
