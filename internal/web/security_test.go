package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// postRoutes lists every POST route but the login's (which has its own
// token, TestLoginCSRF).
func postRoutes(srv *Server) []Route {
	var out []Route
	for _, r := range srv.Routes() {
		if r.Method == "POST" && r.Path != "/login" {
			out = append(out, r)
		}
	}
	return out
}

// TestCSRFRefusedOnEveryPost walks the route table: a POST without the
// session's token, with another session's token, or from another origin
// is refused with 403 before anything reaches a session process.
func TestCSRFRefusedOnEveryPost(t *testing.T) {
	e := newEnv(t, Limits{})
	admin := e.browser()
	admin.mustLogin("root-admin")
	other := e.browser()
	other.mustLogin("bob@example.com")
	mb, ad := e.auth.mbox[0], e.auth.admin[0]
	routes := postRoutes(e.srv)
	if len(routes) < 20 {
		t.Fatalf("only %d POST routes", len(routes))
	}
	cases := []struct {
		name string
		send func(path string) result
	}{
		{"no token", func(p string) result { return admin.post(p, url.Values{"csrf": {""}}) }},
		{"another session's token", func(p string) result { return admin.post(p, url.Values{"csrf": {other.csrf}}) }},
		{"wrong token", func(p string) result { return admin.post(p, url.Values{"csrf": {admin.csrf + "x"}}) }},
		{"cross-site Origin", func(p string) result {
			req, _ := http.NewRequest("POST", e.ts.URL+p, strings.NewReader(url.Values{"csrf": {admin.csrf}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", "https://evil.example")
			return admin.do(req)
		}},
		{"cross-site fetch", func(p string) result {
			req, _ := http.NewRequest("POST", e.ts.URL+p, strings.NewReader(url.Values{"csrf": {admin.csrf}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "cross-site")
			return admin.do(req)
		}},
		{"multipart without token", func(p string) result {
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			mw.WriteField("action", "send")
			mw.Close()
			req, _ := http.NewRequest("POST", e.ts.URL+p, &buf)
			req.Header.Set("Content-Type", mw.FormDataContentType())
			return admin.do(req)
		}},
	}
	before := len(mb.ops()) + len(ad.ops())
	for _, rt := range routes {
		for _, c := range cases {
			r := c.send(rt.Path)
			if r.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s, %s: %d, want 403", rt.Path, c.name, r.StatusCode)
			}
		}
	}
	if after := len(mb.ops()) + len(ad.ops()); after != before {
		t.Fatalf("refused posts reached the sessions: %v %v", mb.ops(), ad.ops())
	}
	if e.srv.table.count() != 2 {
		t.Fatal("a refused logout ended a session")
	}
	// The same routes with the right token are not refused: the check
	// above is the token's, not a blanket 403.
	for _, rt := range routes {
		if rt.Path == "/logout" {
			continue
		}
		if r := admin.post(rt.Path, url.Values{}); r.StatusCode == http.StatusForbidden {
			t.Errorf("POST %s with the right token: 403\n%s", rt.Path, r.body)
		}
	}
}

func TestLoginCSRF(t *testing.T) {
	e := newEnv(t, Limits{})
	b := e.browser()
	// No login cookie (another site's form): refused.
	r := b.post("/login", url.Values{"login": {"alice@example.com"}, "password": {"pw-alice"}, "csrf": {"abc"}})
	if r.StatusCode != http.StatusForbidden {
		t.Fatalf("login without the form's cookie: %d", r.StatusCode)
	}
	b.get("/login")
	r = b.post("/login", url.Values{"login": {"alice@example.com"}, "password": {"pw-alice"}, "csrf": {"abc"}})
	if r.StatusCode != http.StatusForbidden {
		t.Fatalf("login with a token unlike the cookie: %d", r.StatusCode)
	}
	if len(e.auth.mbox) != 0 {
		t.Fatal("a refused login form reached the auth service")
	}
}

// TestHeadersOnEveryRoute: the security headers are on every answer:
// pages, redirects, errors, downloads, the message frame.
func TestHeadersOnEveryRoute(t *testing.T) {
	e := newEnv(t, Limits{})
	b := e.browser()
	b.mustLogin("root-admin")
	check := func(what string, r result) {
		t.Helper()
		h := r.Header
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "base-uri 'none'") || strings.Contains(csp, "script-src") {
			t.Errorf("%s: CSP %q", what, csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "same-origin" {
			t.Errorf("%s: nosniff %q referrer %q", what, h.Get("X-Content-Type-Options"), h.Get("Referrer-Policy"))
		}
		if what != "GET /static/style.css" && h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", what, h.Get("Cache-Control"))
		}
		if what != "GET /msg/html" && !strings.Contains(csp, "frame-ancestors 'none'") && !strings.Contains(csp, "sandbox") {
			t.Errorf("%s: may be framed: %q", what, csp)
		}
	}
	args := "?f=INBOX&id=m1&p=img1&d=example.com&id=123"
	for _, rt := range e.srv.Routes() {
		if rt.Path == "/logout" || rt.Path == "/login" && rt.Method == "POST" {
			continue
		}
		var r result
		if rt.Method == "GET" {
			r = b.get(rt.Path + args)
			if r.StatusCode != 200 && r.StatusCode != http.StatusSeeOther {
				t.Errorf("GET %s: %d\n%s", rt.Path, r.StatusCode, r.body)
			}
		} else {
			r = b.post(rt.Path, url.Values{"f": {"INBOX"}, "id": {"m1"}})
		}
		check(rt.Method+" "+rt.Path, r)
	}
	check("404", b.get("/no/such/page"))
	check("logout", b.post("/logout", nil))
	check("logged out", b.get("/mail"))
}

func TestCrossUser(t *testing.T) {
	e := newEnv(t, Limits{})
	a, bb := e.browser(), e.browser()
	a.mustLogin("alice@example.com")
	ma := e.auth.lastMbox()
	bb.mustLogin("bob@example.com")
	mbb := e.auth.lastMbox()
	if r := a.get("/mail"); !strings.Contains(r.body, "mail of alice@example.com") || strings.Contains(r.body, "bob@") {
		t.Fatalf("alice's page:\n%s", r.body)
	}
	nb := len(mbb.ops())
	for _, p := range []string{"/mail", "/msg?f=INBOX&id=m1", "/msg/part?f=INBOX&id=m1&p=img1", "/settings"} {
		a.get(p)
	}
	if len(mbb.ops()) != nb {
		t.Fatalf("alice's requests reached bob's session: %v", mbb.ops())
	}
	// Bob's form token with alice's cookie does nothing.
	if r := a.post("/folders/create", url.Values{"name": {"x"}, "csrf": {bb.csrf}}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("bob's token in alice's session: %d", r.StatusCode)
	}
	if r := a.post("/folders/create", url.Values{"name": {"x"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("alice's own post: %d", r.StatusCode)
	}
	if ma.last(opFolderCreate) == nil || mbb.last(opFolderCreate) != nil {
		t.Fatal("the folder was not created in alice's session only")
	}
	// Logging out alice leaves bob alone.
	a.post("/logout", nil)
	if r := bb.get("/mail"); r.StatusCode != 200 {
		t.Fatalf("bob after alice logged out: %d", r.StatusCode)
	}
}

func TestAdminRoutesNeedAnAdminSession(t *testing.T) {
	e := newEnv(t, Limits{})
	u := e.browser()
	u.mustLogin("alice@example.com")
	pm := e.browser()
	pm.mustLogin("postmaster@example.com")
	pmAdmin := e.auth.lastAdmin()
	for _, rt := range e.srv.Routes() {
		if rt.Access != Admin && rt.Access != Site {
			continue
		}
		var r result
		if rt.Method == "GET" {
			r = u.get(rt.Path)
		} else {
			r = u.post(rt.Path, url.Values{"name": {"example.com"}})
		}
		if r.StatusCode != http.StatusForbidden {
			t.Errorf("%s %s without an admin session: %d", rt.Method, rt.Path, r.StatusCode)
		}
		if rt.Access == Site {
			if rt.Method == "GET" {
				r = pm.get(rt.Path)
			} else {
				r = pm.post(rt.Path, url.Values{"id": {"1"}})
			}
			if r.StatusCode != http.StatusForbidden {
				t.Errorf("%s %s as a domain admin: %d", rt.Method, rt.Path, r.StatusCode)
			}
		}
	}
	for _, op := range pmAdmin.ops() {
		switch op {
		case opQueue, opQueueShow, opQueueRetry, opQueueHold, opQueueRelease, opQueueDelete, opGrants, opGrantDelete, opLog, opHealth, opDomainAdd, opDomainDelete:
			t.Errorf("a domain admin's request reached site-only op %s", op)
		}
	}
	// A domain admin sees only its domain.
	r := pm.get("/admin/domains")
	if r.StatusCode != 200 || !strings.Contains(r.body, "example.com") || strings.Contains(r.body, "other.org") {
		t.Fatalf("domain admin's domains page: %d\n%s", r.StatusCode, r.body)
	}
	if r := pm.get("/admin/users"); r.StatusCode != 200 || pmAdmin.last(opUsers).Arg(0) != "example.com" {
		t.Fatalf("domain admin's users page asked for %v", pmAdmin.last(opUsers))
	}
	// And a user has no admin link.
	if r := u.get("/mail"); strings.Contains(r.body, `href="/admin"`) {
		t.Fatal("a user's page links to the administration")
	}
}

func TestAttachmentDispositionIsSafe(t *testing.T) {
	e := newEnv(t, Limits{})
	b := e.browser()
	b.mustLogin("alice@example.com")
	for i, name := range hostileNames {
		for _, inline := range []string{"", "&inline=1"} {
			r := b.get(fmt.Sprintf("/msg/part?f=INBOX&id=m1&p=h%d%s", i, inline))
			if r.StatusCode != 200 {
				t.Fatalf("part %q: %d", name, r.StatusCode)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/octet-stream" {
				t.Errorf("part %q (hostile type) served as %q", name, ct)
			}
			cd := r.Header.Get("Content-Disposition")
			disp, params, err := mime.ParseMediaType(cd)
			if err != nil || disp != "attachment" {
				t.Errorf("part %q: Content-Disposition %q: %v", name, cd, err)
				continue
			}
			fn := params["filename"]
			if fn == "" || strings.ContainsAny(fn, "/\\\"\r\n\x00:") || strings.HasPrefix(fn, ".") || len([]rune(fn)) > 150 || strings.ContainsRune(fn, '\u202e') {
				t.Errorf("part %q: file name %q", name, fn)
			}
			if strings.ContainsAny(cd, "\r\n") || len(r.Header.Values("Set-Cookie")) > 0 {
				t.Errorf("part %q split the header: %q", name, cd)
			}
			if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "sandbox") {
				t.Errorf("part %q: CSP %q", name, csp)
			}
		}
	}
	if got := safeFileName("naïve résumé.txt", "x"); got != "naïve résumé.txt" {
		t.Errorf("a harmless name changed: %q", got)
	}
	// RFC 6266 4.3: a non-ASCII name as filename*, with an ASCII filename=
	// first for clients that know only that; an ASCII name alone.
	cd := disposition("attachment", "naïve résumé.txt", "x")
	if !strings.HasPrefix(cd, `attachment; filename="na_ve r_sum_.txt"; filename*=`) {
		t.Errorf("non-ASCII name: %q", cd)
	}
	if _, params, err := mime.ParseMediaType(cd); err != nil || params["filename"] != "naïve résumé.txt" {
		t.Errorf("non-ASCII name %q reads back as %q (%v)", cd, params["filename"], err)
	}
	if cd := disposition("attachment", "report.pdf", "x"); cd != `attachment; filename=report.pdf` {
		t.Errorf("ASCII name: %q", cd)
	}
	// A raster image may be shown inline; an SVG never.
	r := b.get("/msg/part?f=INBOX&id=m1&p=img1&inline=1")
	if r.Header.Get("Content-Type") != "image/png" || !strings.HasPrefix(r.Header.Get("Content-Disposition"), "inline") {
		t.Errorf("inline png: %q %q", r.Header.Get("Content-Type"), r.Header.Get("Content-Disposition"))
	}
	r = b.get("/msg/part?f=INBOX&id=m1&p=svg1&inline=1")
	if r.Header.Get("Content-Type") != "application/octet-stream" || !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("inline svg: %q %q", r.Header.Get("Content-Type"), r.Header.Get("Content-Disposition"))
	}
	r = b.get("/msg/raw?f=INBOX&id=m1")
	if r.Header.Get("Content-Type") != "application/octet-stream" || !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("raw: %q %q", r.Header.Get("Content-Type"), r.Header.Get("Content-Disposition"))
	}
}

func multipartCompose(b *browser, files map[string][]byte) result {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf", b.csrf)
	mw.WriteField("action", "send")
	mw.WriteField("from", "alice@example.com")
	mw.WriteField("to", "bob@example.com")
	mw.WriteField("keep", "p1")
	mw.WriteField("keep", "p2")
	for name, data := range files {
		w, _ := mw.CreateFormFile("attach", name)
		w.Write(data)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", b.e.ts.URL+"/compose", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", b.e.ts.URL)
	return b.do(req)
}

func TestUploadBound(t *testing.T) {
	e := newEnv(t, Limits{MaxUpload: 64 << 10})
	b := e.browser()
	b.mustLogin("alice@example.com")
	mb := e.auth.lastMbox()
	r := multipartCompose(b, map[string][]byte{"big.bin": bytes.Repeat([]byte("x"), 100<<10)})
	if r.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(r.body, "larger than this server accepts") {
		t.Fatalf("oversized upload: %d\n%s", r.StatusCode, r.body)
	}
	if mb.last(opSend) != nil {
		t.Fatal("an oversized upload reached the session")
	}
	b.get("/compose")
	r = multipartCompose(b, map[string][]byte{"a.txt": []byte("hello"), "../b.txt": []byte("world")})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("upload: %d\n%s", r.StatusCode, r.body)
	}
	req := mb.last(opSend)
	if req == nil || len(req.Files) != 2 || req.Arg(1) != "bob@example.com" || req.Arg(12) != "p1,p2" {
		t.Fatalf("send request: %+v", req)
	}
}

func TestMessageFrame(t *testing.T) {
	e := newEnv(t, Limits{})
	b := e.browser()
	b.mustLogin("alice@example.com")
	page := b.get("/msg?f=INBOX&id=m1")
	if !strings.Contains(page.body, `<iframe class="body" sandbox="allow-popups allow-popups-to-escape-sandbox"`) ||
		!strings.Contains(page.body, `src="/msg/html?f=INBOX&amp;id=m1&amp;images=0"`) {
		t.Fatalf("message page has no sandboxed frame:\n%s", page.body)
	}
	if !strings.Contains(page.body, "Show remote images") {
		t.Fatal("no way to show the blocked remote images")
	}
	r := b.get("/msg/html?f=INBOX&id=m1&images=0")
	csp := r.Header.Get("Content-Security-Policy")
	if csp != frameCSP || strings.Contains(csp, "https:") || r.Header.Get("X-Frame-Options") != "SAMEORIGIN" {
		t.Fatalf("frame CSP %q", csp)
	}
	if !strings.Contains(r.body, `<img src="data:image/png;base64,`) || strings.Contains(r.body, "part:img1") {
		t.Fatalf("cid image not inlined:\n%s", r.body)
	}
	if strings.Contains(r.body, "svg") || strings.Contains(r.body, "part:svg1") {
		t.Fatalf("an SVG part was put into the frame:\n%s", r.body)
	}
	r = b.get("/msg/html?f=INBOX&id=m1&images=1")
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src data: https:") {
		t.Fatalf("remote images asked for, CSP %q", csp)
	}
}

// TestHostileTextIsEscaped: what a sender wrote reaches the pages as text.
func TestHostileTextIsEscaped(t *testing.T) {
	e := newEnv(t, Limits{})
	b := e.browser()
	b.mustLogin("alice@example.com")
	for _, p := range []string{"/mail", "/msg?f=INBOX&id=m1", "/compose?mode=reply&f=INBOX&id=m1", "/mail?q=%3Cscript%3E&f=%22%3E%3Cscript%3E"} {
		r := b.get(p)
		if r.StatusCode != 200 {
			t.Fatalf("%s: %d", p, r.StatusCode)
		}
		if strings.Contains(r.body, "<script") || strings.Contains(r.body, "</textarea><script") {
			t.Errorf("%s: markup from the message or the URL reached the page:\n%s", p, r.body)
		}
	}
	if req := e.auth.lastMbox().last(opCompose); req == nil || req.Arg(0) != "reply" || req.Arg(1) != "INBOX" || req.Arg(2) != "m1" {
		t.Fatalf("compose request: %+v", req)
	}
}

// TestIrreversibleActionsNeedConfirmation: deleting a folder, a user, a
// domain or a queued message needs the form's "sure" box; without it
// nothing reaches the session.
func TestIrreversibleActionsNeedConfirmation(t *testing.T) {
	e := newEnv(t, Limits{})
	b := e.browser()
	b.mustLogin("root-admin")
	mb, ad := e.auth.lastMbox(), e.auth.lastAdmin()
	cases := []struct {
		path, op string
		s        *fakeSession
		form     url.Values
	}{
		{"/folders/delete", opFolderDelete, mb, url.Values{"name": {"Archive"}}},
		{"/admin/user/delete", opUserDelete, ad, url.Values{"address": {"bob@example.com"}}},
		{"/admin/domain/delete", opDomainDelete, ad, url.Values{"name": {"other.org"}}},
		{"/admin/queue/delete", opQueueDelete, ad, url.Values{"id": {"123"}}},
	}
	for _, c := range cases {
		if r := b.post(c.path, c.form); r.StatusCode != http.StatusBadRequest || c.s.last(c.op) != nil {
			t.Errorf("%s without confirmation: %d, reached the session: %v", c.path, r.StatusCode, c.s.last(c.op) != nil)
		}
		c.form.Set("confirm", "1")
		if r := b.post(c.path, c.form); r.StatusCode != http.StatusSeeOther || c.s.last(c.op) == nil {
			t.Errorf("%s confirmed: %d", c.path, r.StatusCode)
		}
	}
	if r := b.get("/admin/users?d=example.com"); !strings.Contains(r.body, `name="confirm" value="1" required`) {
		t.Fatal("the delete form has no confirmation box")
	}
}

// TestLargeBodiesOnlyForUploads: the upload bound applies to a
// logged-in user's compose form; every other POST (the login's too, and
// any POST without a session) is cut at maxForm.
func TestLargeBodiesOnlyForUploads(t *testing.T) {
	e := newEnv(t, Limits{MaxUpload: 1 << 20})
	b := e.browser()
	b.get("/login")
	big := func(path string) result {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("csrf", b.csrf)
		w, _ := mw.CreateFormFile("attach", "x.bin")
		w.Write(bytes.Repeat([]byte("x"), 200<<10))
		mw.Close()
		req, _ := http.NewRequest("POST", e.ts.URL+path, &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		return b.do(req)
	}
	if r := big("/login"); r.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("a 200 kB login form: %d", r.StatusCode)
	}
	if r := big("/compose"); r.StatusCode != http.StatusForbidden || !strings.Contains(r.body, "session has ended") {
		t.Fatalf("an upload without a session: %d", r.StatusCode)
	}
	b.mustLogin("alice@example.com")
	if r := big("/folders/create"); r.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("a 200 kB folder form: %d", r.StatusCode)
	}
	if r := big("/compose"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("a 200 kB upload: %d\n%s", r.StatusCode, r.body)
	}
}

// hugeBlob is the fake session's 32 MB attachment: more than the socket
// buffers take, so its writing waits for the browser to read.
var hugeBlob = bytes.Repeat([]byte("0123456789abcdef"), 2<<20)

// TestBigDownloadsPerUser: a user has at most two large downloads being
// written at once (each is held in memory until the browser has read
// it); a third gets 503 while another user is served, and a slot comes
// back when a download ends. Before, one user with 64 slow connections
// held 64 copies (security review of issue 15).
func TestBigDownloadsPerUser(t *testing.T) {
	e := newEnv(t, Limits{})
	alice := e.browser()
	alice.mustLogin("alice@example.com")
	open := func(b *browser) *http.Response { return openSlow(t, e, b, "/msg/part?f=INBOX&id=m1&p=huge") }
	r1, r2 := open(alice), open(alice)
	for _, r := range []*http.Response{r1, r2} {
		if r.StatusCode != http.StatusOK {
			t.Fatalf("the first two large downloads: %d", r.StatusCode)
		}
	}
	r3 := open(alice)
	body, _ := io.ReadAll(r3.Body)
	r3.Body.Close()
	if r3.StatusCode != http.StatusServiceUnavailable || len(body) > 1<<20 {
		t.Fatalf("a third large download while two are written: %d, %d bytes", r3.StatusCode, len(body))
	}
	if r := alice.get("/msg/part?f=INBOX&id=m1&p=img1&inline=1"); r.StatusCode != http.StatusOK {
		t.Errorf("a small part while two large ones are written: %d", r.StatusCode)
	}
	bob := e.browser()
	bob.mustLogin("bob@example.com")
	rb := open(bob)
	if n, _ := io.Copy(io.Discard, rb.Body); rb.StatusCode != http.StatusOK || n != int64(len(hugeBlob)) {
		t.Errorf("another user's download: %d, %d bytes", rb.StatusCode, n)
	}
	rb.Body.Close()
	if n, _ := io.Copy(io.Discard, r1.Body); n != int64(len(hugeBlob)) {
		t.Errorf("the first download: %d bytes", n)
	}
	r1.Body.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := open(alice)
		n, _ := io.Copy(io.Discard, r.Body)
		r.Body.Close()
		if r.StatusCode == http.StatusOK && n == int64(len(hugeBlob)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no slot came back after a download ended: %d", r.StatusCode)
		}
		time.Sleep(10 * time.Millisecond)
	}
	r2.Body.Close()
}

// openSlow starts a GET of path whose body the caller reads later, or
// never (a slow browser); the answer's headers are there.
func openSlow(t *testing.T, e *env, b *browser, path string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", e.ts.URL+path, nil)
	for k, v := range b.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() }) // before the server's Close, which waits for it
	return resp
}

// TestBigFramesPerUser: the message frame with its images put in (up to
// ~11 MB) counts as a large download: a third one being written at once
// gets 503 (security review of issue 15).
func TestBigFramesPerUser(t *testing.T) {
	e := newEnv(t, Limits{})
	alice := e.browser()
	alice.mustLogin("alice@example.com")
	// A client that reads little at a time, so the server's write of a
	// 9.5 MB document waits for it: the socket buffers hold less.
	tr := alice.c.Transport.(*http.Transport)
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			c.(*net.TCPConn).SetReadBuffer(4 << 10)
		}
		return c, err
	}
	const frame = "/msg/html?f=INBOX&id=bigimg"
	r1, r2 := openSlow(t, e, alice, frame), openSlow(t, e, alice, frame)
	if r1.StatusCode != http.StatusOK || r2.StatusCode != http.StatusOK {
		t.Fatalf("two frames: %d %d", r1.StatusCode, r2.StatusCode)
	}
	if r3 := openSlow(t, e, alice, frame); r3.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a third large frame while two are written: %d", r3.StatusCode)
	}
	body, _ := io.ReadAll(r1.Body)
	if !strings.Contains(string(body), "data:image/png;base64,") {
		t.Errorf("the frame has no image (%d bytes)", len(body))
	}
}
