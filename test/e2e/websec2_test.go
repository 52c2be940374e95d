package e2e

// The second security review of the web front (issue 15): the compose
// path, forwarding and vacation, the mailbox routes, response headers and
// the end of a session, tried on a real goqmail with a plain HTTP client.

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// putMessage stores raw in addr's INBOX (new/) as the mailbox owner.
func (w *webSite) putMessage(t *testing.T, addr, id, raw string) {
	t.Helper()
	md := w.maildir(addr)
	fi, err := os.Stat(md)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	p := filepath.Join(md, "new", id)
	if err := os.WriteFile(p, []byte(raw), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chown(p, int(st.Uid), int(st.Gid))
}

// compose posts the compose form (multipart, as the page sends it) with
// files (name → content) and returns the status, Location and body.
func (c *webClient) compose(fields map[string]string, files map[string]string) (int, string, string) {
	c.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf", c.csrf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for n, d := range files {
		fw, _ := mw.CreateFormFile("attach", n)
		fw.Write([]byte(d))
	}
	mw.Close()
	req, _ := http.NewRequest("POST", c.w.URL+"/compose", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", c.w.URL)
	resp, err := c.c.Do(req)
	if err != nil {
		c.t.Fatalf("POST /compose: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

// folderFiles returns the message files of a virtual user's folder
// ("" is INBOX), in new/ and cur/.
func (w *webSite) folderFiles(addr, folder string) []string {
	dir := w.maildir(addr)
	if folder != "" {
		dir = filepath.Join(dir, "."+folder)
	}
	var out []string
	for _, sub := range []string{"new", "cur"} {
		m, _ := filepath.Glob(filepath.Join(dir, sub, "*"))
		out = append(out, m...)
	}
	return out
}

// TestWebComposeOversizeFieldKeepsSession: a compose form whose text is
// larger than one session argument (webrpc.MaxArg, 1 MiB: a pasted log)
// is refused with 413 and a message, and the web session goes on. Before,
// the front wrote the over-long frame, the mailbox session refused it and
// exited, and the user was logged out with the mail lost.
func TestWebComposeOversizeFieldKeepsSession(t *testing.T) {
	w := newWebSite(t)
	c := newWebClient(t, w)
	c.login(webAnn, webPass)
	big := strings.Repeat("a long line of a pasted log file\n", (2<<20)/33)
	for _, f := range []map[string]string{
		{"action": "send", "mode": "new", "to": webBob, "subject": "big", "body": big},
		{"action": "draft", "mode": "new", "to": webBob, "subject": big, "body": "x"},
	} {
		st, loc, body := c.compose(f, nil)
		if st != http.StatusRequestEntityTooLarge {
			t.Errorf("a 2 MiB %s field: %d %q, want 413", f["action"], st, loc)
		}
		if !strings.Contains(body, "too large") && !strings.Contains(body, "larger") {
			t.Errorf("the refusal does not say what is wrong:\n%s", brief(body))
		}
		if st, _ := c.get("/mail"); st != http.StatusOK {
			t.Fatalf("after a large %s field the session is gone: GET /mail %d", f["action"], st)
		}
	}
	// The session still works for a normal message.
	if st, loc, body := c.compose(map[string]string{"action": "send", "mode": "new", "to": webBob, "subject": "small", "body": "hi"}, nil); st != http.StatusSeeOther || loc != "/mail" {
		t.Fatalf("a normal send after: %d %q\n%s", st, loc, brief(body))
	}
}

// brief is a page's main text, for messages.
func brief(s string) string {
	if i := strings.Index(s, "<main"); i >= 0 {
		s = s[i:]
	}
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
			b.WriteByte(' ')
		case r == '>':
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	s = strings.Join(strings.Fields(b.String()), " ")
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}

// sessionProcs returns the pids of the session processes of login under
// root: goqmail-webmbox -session <its Maildir> and goqmail admin-session
// -root ROOT ... -login <login>, read from the process table.
func sessionProcs(t *testing.T, w *webSite, login string) []string {
	t.Helper()
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(data) == 0 {
			continue
		}
		argv := strings.Split(strings.TrimSuffix(string(data), "\x00"), "\x00")
		cmd := strings.Join(argv, " ")
		switch {
		case strings.HasSuffix(argv[0], "goqmail-webmbox") && strings.Contains(cmd, "-session "+w.maildir(login)):
		case strings.Contains(cmd, "admin-session -root "+w.s.Root+" ") && strings.HasSuffix(cmd, "-login "+login):
		default:
			continue
		}
		// A zombie has exited already (its parent has not waited yet).
		if st, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); strings.Contains(string(st), ") Z ") {
			continue
		}
		out = append(out, e.Name()+": "+cmd)
	}
	return out
}

// TestWebLogoutEndsSessionProcesses: logging out ends both session
// processes of the login (the mailbox session as the mailbox owner and
// the root admin session), seen in the process table; the cookie no
// longer opens a page; another user's sessions stay.
func TestWebLogoutEndsSessionProcesses(t *testing.T) {
	w := newWebSite(t)
	boss := newWebClient(t, w)
	boss.login(webBoss, webPass)
	ann := newWebClient(t, w)
	ann.login(webAnn, webPass)
	procs := sessionProcs(t, w, webBoss)
	if len(procs) != 2 {
		t.Fatalf("the site administrator's session processes: %q, want the mailbox and the admin session", procs)
	}
	if len(sessionProcs(t, w, webAnn)) != 1 {
		t.Fatalf("ann's session processes: %q", sessionProcs(t, w, webAnn))
	}
	site, _ := url.Parse(w.URL)
	old := boss.c.Jar.Cookies(site)
	if st, loc, _ := boss.post("/logout", url.Values{}); st != http.StatusSeeOther || loc != "/login?m=out" {
		t.Fatalf("logout: %d %q", st, loc)
	}
	waitFor(t, 30*time.Second, "the session processes to exit", func() bool { return len(sessionProcs(t, w, webBoss)) == 0 })
	// The cookie the browser had, sent again (a copy an attacker kept).
	boss.c.Jar.SetCookies(site, old)
	if st, _ := boss.get("/admin/queue"); st != http.StatusSeeOther {
		t.Errorf("after logout the old cookie still opens the admin queue: %d", st)
	}
	if st, _ := ann.get("/mail"); st != http.StatusOK || len(sessionProcs(t, w, webAnn)) != 1 {
		t.Errorf("ann's session ended with boss's logout: %d %q", st, sessionProcs(t, w, webAnn))
	}
}

// TestWebComposeInjection: what a browser sends in the compose form
// cannot add a header or a recipient: CR, LF and NUL in Subject, a
// display name, In-Reply-To and an attachment's name, and RFC 2047 words
// that decode to CRLF, reach bob as one line each, and zed (named after
// the line breaks) gets nothing. Sending as another user's address, or
// 10,000 recipients, is refused and nothing is queued.
func TestWebComposeInjection(t *testing.T) {
	w := newWebSite(t)
	c := newWebClient(t, w)
	c.login(webAnn, webPass)
	for _, f := range []struct {
		fields map[string]string
		want   int
	}{
		{map[string]string{"to": webBob + "\r\nBcc: " + webZed}, http.StatusBadRequest},
		{map[string]string{"to": webBob, "cc": webBob + "\nBcc: " + webZed}, http.StatusBadRequest},
		{map[string]string{"to": webBob, "from": webBoss}, http.StatusForbidden},
		{map[string]string{"to": webBob, "from": "Ann <" + webBoss + ">"}, http.StatusForbidden},
		{map[string]string{"to": webBob, "from": webAnn + ", " + webBoss}, http.StatusBadRequest},
		{map[string]string{"to": webBob, "from": webAnn + "\r\nSender: " + webBoss}, http.StatusBadRequest},
	} {
		f.fields["action"], f.fields["mode"], f.fields["body"] = "send", "new", "x"
		if st, _, body := c.compose(f.fields, nil); st != f.want {
			t.Errorf("%q: %d, want %d\n%s", f.fields, st, f.want, brief(body))
		}
	}
	var many []string
	for i := range 10000 {
		many = append(many, fmt.Sprintf("u%d@example.org", i))
	}
	if st, _, body := c.compose(map[string]string{"action": "send", "mode": "new", "to": strings.Join(many, ", "), "body": "x"}, nil); st != http.StatusBadRequest || !strings.Contains(body, "maxrcpt") {
		t.Errorf("10,000 recipients: %d\n%s", st, brief(body))
	}
	if q := w.s.QueueMessages(); len(q) != 0 {
		t.Fatalf("refused sends queued %d messages", len(q))
	}

	st, loc, body := c.compose(map[string]string{"action": "send", "mode": "new", "to": webBob,
		"cc":        `"Eve` + "\r\nBcc: " + webZed + `" <` + webBob + `>`,
		"from":      `"=?utf-8?q?Ann=0D=0ABcc:_` + webZed + `?=" <` + webAnn + `>`,
		"subject":   "Hello\r\nBcc: " + webZed + "\x00\r\n\r\nX-Injected: 1",
		"inreplyto": "<a@b>\r\nBcc: " + webZed, "references": "<c@d>\nX-Injected: 1",
		"body": "body\r\n.\r\nBcc: " + webZed + "\r\n"},
		map[string]string{"evil\"\r\nX-Injected: 1\r\n\r\n.txt": "data"})
	if st != http.StatusSeeOther || loc != "/mail" {
		t.Fatalf("send: %d %q\n%s", st, loc, brief(body))
	}
	waitFor(t, 30*time.Second, "bob's message", func() bool { return len(w.folderFiles(webBob, "")) == 1 })
	waitFor(t, 30*time.Second, "the queue to empty", func() bool { return len(w.s.QueueMessages()) == 0 })
	if got := w.folderFiles(webZed, ""); len(got) != 0 {
		t.Fatalf("zed, named only after line breaks, got the message: %q", got)
	}
	data, _ := os.ReadFile(w.folderFiles(webBob, "")[0])
	head, _, _ := strings.Cut(string(data), "\n\n")
	for _, l := range strings.Split(head, "\n") {
		name, _, _ := strings.Cut(l, ":")
		switch strings.ToLower(name) {
		case "bcc", "x-injected", "sender":
			t.Errorf("injected header line %q in:\n%s", l, head)
		}
		if strings.ContainsAny(l, "\r\x00") {
			t.Errorf("header line with CR or NUL: %q", l)
		}
	}
	if n := strings.Count(strings.ToLower(head), "\nsubject:"); n != 1 {
		t.Errorf("%d Subject fields:\n%s", n, head)
	}
	if strings.Contains(string(data), "\nX-Injected: 1") {
		t.Errorf("an injected line at the start of a line in the message:\n%s", data)
	}
}

// TestWebForwardVacationNoProgramLine: nothing typed in the forwarding
// or vacation form becomes a program, file or comment line of the .qmail
// file: targets starting with "|", "/", "&", "#", "+", with a newline or
// a NUL are refused or written as "&address" forwards; the only program
// line is the webmail's own goqmail-vacation line, and the vacation
// subject and body stay in the vacation config, the subject on one line.
func TestWebForwardVacationNoProgramLine(t *testing.T) {
	w := newWebSite(t)
	c := newWebClient(t, w)
	c.login(webAnn, webPass)
	dot := filepath.Join(w.s.Root, "vmail", "web.test", ".qmail-ann")
	checkDot := func(what string, vacation bool) {
		t.Helper()
		data, err := os.ReadFile(dot)
		if err != nil {
			if !os.IsNotExist(err) {
				t.Fatal(err)
			}
			return
		}
		programs := 0
		for _, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
			switch {
			case strings.HasPrefix(l, "#"), strings.HasPrefix(l, "&"), l == "./ann/Maildir/":
			case strings.HasPrefix(l, "|") && strings.Contains(l, "goqmail-vacation' '"):
				programs++
			default:
				t.Errorf("%s: a line the webmail does not write: %q\n%s", what, l, data)
			}
		}
		if want := map[bool]int{true: 1, false: 0}[vacation]; programs != want {
			t.Errorf("%s: %d program lines, want %d:\n%s", what, programs, want, data)
		}
	}
	for _, target := range []string{
		"|/bin/touch /tmp/pwned", "|touch", "/tmp/mbox", "./Maildir/", "#comment", "+list",
		"x@example.org\n|/bin/sh -c id", "x@example.org\r\n/tmp/mbox", "x\x00y@example.org",
		`"|id"@example.org`, "x@example.org\n#", "\n|id",
	} {
		st, _, body := c.post("/settings/forward", url.Values{"forward": {target}, "keepcopy": {"1"}})
		if st != http.StatusBadRequest && st != http.StatusSeeOther {
			t.Errorf("forward %q: %d\n%s", target, st, brief(body))
		}
		checkDot(fmt.Sprintf("forward %q", target), false)
	}
	// Addresses that start with qmail's line characters are still
	// addresses (RFC 5321 atext): written after "&" they are forwards.
	for _, target := range []string{"|x@example.org", "/x@example.org", "&x@example.org", "#x@example.org", "+x@example.org", "-x@example.org"} {
		if st, _, body := c.post("/settings/forward", url.Values{"forward": {target}, "keepcopy": {"1"}}); st != http.StatusSeeOther {
			t.Errorf("forward %q: %d\n%s", target, st, brief(body))
		}
		checkDot(fmt.Sprintf("forward %q", target), false)
		if data, _ := os.ReadFile(dot); !strings.Contains(string(data), "\n&"+target+"\n") {
			t.Errorf("forward %q is not an & line:\n%s", target, data)
		}
	}
	st, _, body := c.post("/settings/vacation", url.Values{"on": {"1"}, "days": {"7"},
		"subject": {"Away\r\n|/bin/sh\x00\nBcc: x@example.org"},
		"body":    {"Back soon.\n|/bin/sh -c id\n/tmp/mbox\n\x00\r\n&zed@other.test\n"}})
	if st != http.StatusSeeOther {
		t.Fatalf("vacation: %d\n%s", st, brief(body))
	}
	checkDot("vacation on", true)
	cfg, err := os.ReadFile(filepath.Join(w.s.Root, "vmail", "web.test", "ann", ".goqmail-vacation", "config"))
	if err != nil {
		t.Fatal(err)
	}
	head, _, _ := strings.Cut(string(cfg), "\n\n")
	for _, l := range strings.Split(head, "\n") {
		name, _, _ := strings.Cut(l, ":")
		switch name {
		case "On", "Subject", "Days", "From", "Until", "Address", "Socket":
		default:
			t.Errorf("vacation config line %q from the subject:\n%s", l, head)
		}
	}
	if st, _, _ := c.post("/settings/vacation", url.Values{"on": {"0"}, "days": {"7"}}); st != http.StatusSeeOther {
		t.Fatalf("vacation off: %d", st)
	}
	checkDot("vacation off", false)
}

// TestWebMailboxRouteTraversal: every mailbox route refuses a folder or
// message id that would leave the user's Maildir or name another
// folder's message ("../", absolute paths, NUL, very long names, ".",
// "..", "INBOX/../../x", the cur/ name with its flags, glob characters,
// another user's message) with 400 or 404, and never shows another
// file's bytes.
func TestWebMailboxRouteTraversal(t *testing.T) {
	w := newWebSite(t)
	const id = "1700000000.1.web"
	secret := "Subject: bob's secret\n\nthe secret text of bob\n"
	w.putMessage(t, webBob, "1700000000.2.web", secret)
	w.putMessage(t, webAnn, id, "Subject: hi\n\nhello ann\n")
	c := newWebClient(t, w)
	c.login(webAnn, webPass)
	if st, _, _ := c.post("/folders/create", url.Values{"name": {"Work"}}); st != http.StatusSeeOther {
		t.Fatalf("create Work: %d", st)
	}
	// A message in Trash, asked for in INBOX.
	if st, _, _ := c.post("/msg/delete", url.Values{"f": {"INBOX"}, "id": {id}}); st != http.StatusSeeOther {
		t.Fatalf("delete to Trash: %d", st)
	}
	long := strings.Repeat("a", 5000)
	bobMsg := "../../bob/Maildir/new/1700000000.2.web"
	folders := []string{"..", ".", "../..", "INBOX/../../x", "/etc", "INBOX\x00", "Trash/../..", ".Trash", "Trash.", "inbox", long,
		"T\u0433ash", "../bob/Maildir", "goqmail-deleted-x"}
	ids := []string{"..", ".", "../" + id, "/etc/passwd", id + "\x00", long, id + ":2,S", "new/" + id, "*", "1700000000.?.web",
		"1700000000.[12].web", bobMsg, "1700000000.2.web", id + "/..", "\u2024\u2024/x"}
	type probe struct{ path string }
	var probes []probe
	for _, f := range folders {
		probes = append(probes, probe{"/mail?" + url.Values{"f": {f}}.Encode()}, probe{"/msg?" + url.Values{"f": {f}, "id": {id}}.Encode()})
	}
	for _, i := range ids {
		for _, f := range []string{"INBOX", "Trash"} {
			if f == "Trash" && i == id {
				continue // the one that exists
			}
			v := url.Values{"f": {f}, "id": {i}, "p": {"1"}}.Encode()
			for _, route := range []string{"/msg", "/msg/html", "/msg/part", "/msg/raw", "/compose?mode=reply&", "/compose?mode=forward&", "/compose?mode=draft&"} {
				sep := "?"
				if strings.HasSuffix(route, "&") {
					sep = ""
				}
				probes = append(probes, probe{route + sep + v})
			}
		}
	}
	for _, p := range probes {
		st, body := c.get(p.path)
		if st != http.StatusBadRequest && st != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 400 or 404\n%s", p.path, st, brief(body))
		}
		if strings.Contains(body, "secret text of bob") || strings.Contains(body, "root:x:0:0") {
			t.Fatalf("GET %s shows another file:\n%s", p.path, brief(body))
		}
	}
	for _, f := range folders {
		for _, form := range []struct {
			path string
			v    url.Values
		}{
			{"/folders/create", url.Values{"name": {f}}},
			{"/folders/rename", url.Values{"name": {"Work"}, "newname": {f}}},
			{"/folders/delete", url.Values{"name": {f}, "confirm": {"1"}}},
			{"/msg/move", url.Values{"f": {"Trash"}, "id": {id}, "to": {f}}},
			{"/msg/flags", url.Values{"f": {f}, "id": {id}, "change": {"+S"}}},
		} {
			if (form.path == "/folders/create" || form.path == "/folders/rename") && (f == "T\u0433ash" || f == "goqmail-deleted-x") {
				continue // names like any other (look-alikes are the user's own)
			}
			if st, _, body := c.post(form.path, form.v); st != http.StatusBadRequest && st != http.StatusNotFound && st != http.StatusConflict {
				t.Errorf("POST %s %q: %d, want 400, 404 or 409\n%s", form.path, form.v, st, brief(body))
			}
		}
	}
	for _, i := range ids {
		for _, form := range []struct {
			path string
			v    url.Values
		}{
			{"/msg/move", url.Values{"f": {"INBOX"}, "id": {i}, "to": {"Trash"}}},
			{"/msg/delete", url.Values{"f": {"INBOX"}, "id": {i}}},
			{"/msg/flags", url.Values{"f": {"INBOX"}, "id": {i}, "change": {"+S"}}},
		} {
			if st, _, body := c.post(form.path, form.v); st != http.StatusBadRequest && st != http.StatusNotFound {
				t.Errorf("POST %s %q: %d, want 400 or 404\n%s", form.path, form.v, st, brief(body))
			}
		}
	}
	// Nothing of bob's moved, nothing appeared outside ann's Maildir, and
	// ann's message is still in her Trash.
	if got := w.folderFiles(webBob, ""); len(got) != 1 {
		t.Errorf("bob's INBOX: %q", got)
	}
	if got := w.folderFiles(webAnn, "Trash"); len(got) != 1 {
		t.Errorf("ann's Trash: %q", got)
	}
	ents, _ := os.ReadDir(filepath.Dir(w.maildir(webAnn)))
	for _, e := range ents {
		if e.Name() != "Maildir" && e.Name() != ".goqmail-vacation" {
			t.Errorf("something new beside ann's Maildir: %s", e.Name())
		}
	}
	if st, body := c.get("/msg/raw?" + url.Values{"f": {"Trash"}, "id": {id}}.Encode()); st != http.StatusOK || !strings.Contains(body, "hello ann") {
		t.Errorf("ann's own message in Trash: %d", st)
	}
}

// TestWebDownloadHeadersAndRedirects: on a real server, an attachment
// whose name carries CR/LF, quotes, a path, an RTL override and
// non-ASCII is served as application/octet-stream with one
// Content-Disposition whose name is harmless (RFC 6266 filename* for the
// non-ASCII one) and splits no header; pages, downloads, the HTML frame,
// error pages and redirects are Cache-Control: no-store; and no redirect
// goes anywhere but a path of this site, whatever the parameters or the
// Referer say.
func TestWebDownloadHeadersAndRedirects(t *testing.T) {
	w := newWebSite(t)
	const id = "1700000000.3.web"
	w.putMessage(t, webAnn, id, "Subject: files\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"+
		"--b\nContent-Type: text/html\n\n<p>hi</p>\n"+
		"--b\nContent-Type: text/html; name=\"x.html\"\nContent-Disposition: attachment; filename=\"a\\\"\r\nSet-Cookie: s=1\r\n.html\"\n\n<script>alert(1)</script>\n"+
		"--b\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename*=utf-8''%0D%0ASet-Cookie%3A%20s%3D1%0D%0A..%2F..%2F%E2%80%AEgpj.exe\n\nMZ\n"+
		"--b\nContent-Type: application/pdf\nContent-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9%20%E2%80%9Cfinal%E2%80%9D.pdf\n\n%PDF\n"+
		"--b--\n")
	c := newWebClient(t, w)
	c.login(webAnn, webPass)
	get := func(path string, hdr map[string]string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", w.URL+path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := c.c.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("GET %s: Cache-Control %q, want no-store", path, cc)
		}
		if loc := resp.Header.Get("Location"); loc != "" && (!strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.Contains(loc, "evil")) {
			t.Errorf("GET %s: redirect to %q", path, loc)
		}
		return resp
	}
	// "" : any harmless name will do.
	for p, want := range map[string]string{"2": "", "3": "gpj.exe", "4": "résumé “final”.pdf"} {
		for _, inline := range []string{"", "&inline=1"} {
			resp := get("/msg/part?f=INBOX&id="+id+"&p="+p+inline, nil)
			cds := resp.Header.Values("Content-Disposition")
			if resp.StatusCode != http.StatusOK || len(cds) != 1 || len(resp.Header.Values("Set-Cookie")) != 0 {
				t.Fatalf("part %s: %d %q cookies %q", p, resp.StatusCode, cds, resp.Header.Values("Set-Cookie"))
			}
			disp, params, err := mime.ParseMediaType(cds[0])
			fn := params["filename"]
			if fn == "" || strings.ContainsAny(fn, "/\\\"\r\n\x00:") || strings.HasPrefix(fn, ".") || strings.ContainsRune(fn, '\u202e') {
				t.Errorf("part %s: a harmful file name %q", p, fn)
			}
			if err != nil || disp != "attachment" || want != "" && fn != want {
				t.Errorf("part %s: Content-Disposition %q → %q %q %v, want the name %q", p, cds[0], disp, params["filename"], err, want)
			}
			if p == "4" && !strings.Contains(cds[0], "filename*=utf-8''") {
				t.Errorf("a non-ASCII name without RFC 6266 filename*: %q", cds[0])
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/octet-stream" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("part %s: Content-Type %q", p, ct)
			}
		}
	}
	for _, path := range []string{"/msg/raw?f=INBOX&id=" + id, "/msg/html?f=INBOX&id=" + id, "/msg?f=INBOX&id=" + id, "/mail", "/settings",
		"/msg?f=INBOX&id=nope", "/nope", "/"} {
		get(path, nil)
	}
	for _, path := range []string{"/", "/login?next=https://evil.example/", "/login?redirect=//evil.example", "/login?to=https:%2F%2Fevil.example",
		"/?next=//evil.example", "/mail?return=https://evil.example"} {
		get(path, map[string]string{"Referer": "https://evil.example/x"})
	}
	// After a POST (post/redirect/get) and after login, too.
	for _, form := range []struct {
		path string
		v    url.Values
	}{
		{"/msg/flags", url.Values{"f": {"INBOX"}, "id": {id}, "change": {"+F"}, "next": {"https://evil.example/"}}},
		{"/settings/junk", url.Values{"junk": {"inbox"}, "return": {"//evil.example"}}},
	} {
		_, loc, _ := c.post(form.path, form.v)
		if !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.Contains(loc, "evil") {
			t.Errorf("POST %s: redirect to %q", form.path, loc)
		}
	}
	d := newWebClient(t, w)
	d.get("/login")
	if _, loc, _ := d.post("/login?next=https://evil.example/", url.Values{"login": {webAnn}, "password": {webPass}, "next": {"//evil.example"}}); loc != "/mail" {
		t.Errorf("login redirects to %q", loc)
	}
}

// countingReader is an endless body that counts what the client sent.
type countingReader struct {
	n, max int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	if r.n >= r.max {
		return 0, io.EOF
	}
	if int64(len(p)) > r.max-r.n {
		p = p[:r.max-r.n]
	}
	for i := range p {
		p[i] = 'a'
	}
	r.n += int64(len(p))
	return len(p), nil
}

// TestWebServerBounds: the HTTPS server's bounds on a real goqmail-web.
// A header block over 64 kB gets 431; a body without Content-Length
// (chunked) is cut at 64 kB for a form and at the upload bound for a
// compose form (413); a POST without a session is refused without its
// body being read; a multipart form of thousands of parts is refused
// (400) and the session goes on; a client that stops in the middle of
// its TLS handshake or its request header is disconnected (the
// ReadHeaderTimeout, 20 s).
func TestWebServerBounds(t *testing.T) {
	w := newWebSite(t)
	addr := strings.TrimPrefix(w.URL, "https://")
	// Started first: these wait for the server's timeout.
	type stalled struct {
		what string
		done chan error
	}
	var stalls []stalled
	for _, what := range []string{"handshake", "header"} {
		s := stalled{what, make(chan error, 1)}
		stalls = append(stalls, s)
		go func() {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				s.done <- err
				return
			}
			defer conn.Close()
			if what == "header" {
				tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true})
				if err := tc.Handshake(); err != nil {
					s.done <- err
					return
				}
				tc.Write([]byte("GET /login HTTP/1.1\r\nHost: x\r\nX-Slow: "))
				conn = tc
			}
			conn.SetReadDeadline(time.Now().Add(2 * time.Minute))
			_, err = io.Copy(io.Discard, conn)
			s.done <- err
		}()
	}

	c := newWebClient(t, w)
	req, _ := http.NewRequest("GET", w.URL+"/login", nil)
	req.Header.Set("X-Big", strings.Repeat("x", 80<<10))
	if resp, err := c.c.Do(req); err != nil || resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("an 80 kB header: %v %v, want 431", resp, err)
	} else {
		resp.Body.Close()
	}
	post := func(path, ctype string, body io.Reader) int {
		t.Helper()
		req, _ := http.NewRequest("POST", w.URL+path, body)
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Origin", w.URL)
		req.ContentLength = -1 // chunked: no Content-Length
		resp, err := c.c.Do(req)
		if err != nil {
			return 0 // the server closed the connection after its answer
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	// Without a session: refused before the body is read.
	anon := &countingReader{max: 200 << 20}
	if st := post("/compose", "multipart/form-data; boundary=x", anon); st != http.StatusForbidden && st != 0 {
		t.Errorf("a 200 MB compose form without a session: %d, want 403", st)
	}
	if anon.n >= 100<<20 {
		t.Errorf("the server read %d bytes of a form without a session", anon.n)
	}
	if st := post("/login", "application/x-www-form-urlencoded", &countingReader{max: 1 << 20}); st != http.StatusRequestEntityTooLarge && st != 0 {
		t.Errorf("a 1 MB chunked login form: %d, want 413", st)
	}
	c.login(webAnn, webPass)
	if st := post("/settings/junk", "application/x-www-form-urlencoded", io.MultiReader(strings.NewReader("csrf="+c.csrf+"&junk=inbox&x="), &countingReader{max: 1 << 20})); st != http.StatusRequestEntityTooLarge {
		t.Errorf("a 1 MB chunked settings form: %d, want 413", st)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf", c.csrf)
	mw.WriteField("action", "draft")
	for i := range 5000 {
		mw.WriteField(fmt.Sprintf("f%d", i), "x")
	}
	mw.Close()
	if st := post("/compose", mw.FormDataContentType(), &buf); st != http.StatusBadRequest && st != http.StatusRequestEntityTooLarge {
		t.Errorf("a compose form of 5000 parts: %d, want 400 or 413", st)
	}
	mw = multipart.NewWriter(&buf)
	mw.WriteField("csrf", c.csrf)
	fw, _ := mw.CreateFormFile("attach", "big.bin")
	io.Copy(fw, &countingReader{max: 30 << 20})
	mw.Close()
	if st := post("/compose", mw.FormDataContentType(), &buf); st != http.StatusRequestEntityTooLarge && st != 0 {
		t.Errorf("a 30 MB chunked compose form: %d, want 413", st)
	}
	if st, _ := c.get("/mail"); st != http.StatusOK {
		t.Fatalf("the session after the refused forms: %d", st)
	}
	for _, s := range stalls {
		select {
		case err := <-s.done:
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Errorf("a client stalled in its %s was not disconnected", s.what)
			}
		case <-time.After(3 * time.Minute):
			t.Fatalf("a client stalled in its %s is still connected", s.what)
		}
	}
}
