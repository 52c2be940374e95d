package e2e

// Helpers for the web tests in the browser: a goqmail server with the web
// front on, virtual users to log in as, and the browser actions a person
// takes (log in, fill and send a form, follow a link).

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// webSite is a running goqmail with the web front.
type webSite struct {
	s    *Server
	URL  string // https://127.0.0.1:PORT
	POP3 int    // goqmail's POP3 port
}

// The users of newWebSite (virtual, domain web.test unless said).
const (
	webBoss  = "boss@web.test" // site administrator (control/webadmins)
	webPM    = "postmaster@web.test"
	webAnn   = "ann@web.test"
	webBob   = "bob@web.test"
	webZed   = "zed@other.test"
	webPass  = "correct horse 7"
	webHTTPS = "https"
)

func newWebSite(t *testing.T) *webSite {
	t.Helper()
	// As root the mailbox sessions run as goqmailv and the admin session
	// as root, as in an installation; without root everything runs as the
	// test's user (single-user mode, the newcomer's make run).
	s := NewServer(t, Options{NoStart: true})
	for _, d := range []string{"web.test", "other.test"} {
		goqmailCmd(t, s, "", false, "domain", "add", d)
	}
	for _, u := range []string{webBoss, webPM, webAnn, webBob, webZed} {
		goqmailCmd(t, s, webPass+"\n", false, "user", "add", u)
	}
	webPort, popPort := freePort(t), freePort(t)
	s.SetControl("webadmins", webBoss+"\n")
	s.SetControl("weblisten", fmt.Sprintf("127.0.0.1:%d\n", webPort))
	s.SetControl("pop3listen", fmt.Sprintf("127.0.0.1:%d\n", popPort))
	s.Start()
	addr := fmt.Sprintf("127.0.0.1:%d", webPort)
	waitFor(t, 15*time.Second, "goqmail-web listening", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return &webSite{s: s, URL: "https://" + addr, POP3: popPort}
}

// maildir returns a virtual user's Maildir (address user@domain).
func (w *webSite) maildir(addr string) string {
	local, domain, _ := strings.Cut(addr, "@")
	return filepath.Join(w.s.Root, "vmail", domain, local, "Maildir")
}

// open navigates to path on the site and waits for the page.
func (b *browser) open(w *webSite, path string) {
	b.t.Helper()
	b.Do(chromedp.Navigate(w.URL + path))
}

// location is the tab's URL without the site's origin.
func (b *browser) location(w *webSite) string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatalf("location: %v", err)
	}
	return strings.TrimPrefix(loc, w.URL)
}

// eval runs JavaScript in the page through DevTools (the page's own CSP
// forbids scripts; DevTools' evaluation is the test's, not the page's).
func eval[T any](b *browser, js string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// submit fills the fields of the form whose action is action (the first
// one on the page, or the one with hidden field match[0]=match[1]) and
// clicks its submit button (or the button whose value is button), then
// waits for the next page.
func (b *browser) submit(action string, fields map[string]string, button string, match ...string) {
	b.t.Helper()
	sel := fmt.Sprintf(`form[action=%q]`, action)
	form := fmt.Sprintf(`document.querySelector(%q)`, sel)
	if len(match) == 2 {
		form = fmt.Sprintf(`[...document.querySelectorAll(%q)].find(f => f.elements[%q] && f.elements[%q].value === %q)`, sel, match[0], match[0], match[1])
	}
	js := fmt.Sprintf(`(() => { const f = %s; if (!f) return "no form"; window.__old = 1;`, form)
	for name, v := range fields {
		js += fmt.Sprintf(`{ const e = f.elements[%q]; if (!e) return "no field %s";
  if (e.type === "checkbox") e.checked = %q === "1"; else e.value = %q; }`, name, name, v, v)
	}
	if button != "" {
		js += fmt.Sprintf(`const btn = [...f.querySelectorAll("button")].find(x => x.value === %q);`, button)
	} else {
		js += `const btn = f.querySelector("button[type=submit]");`
	}
	js += `if (!btn) return "no button"; btn.click(); return "ok"; })()`
	if r := eval[string](b, js); r != "ok" {
		b.t.Fatalf("submit %s: %s (page %s)", action, r, b.Text("body"))
	}
	b.waitNewPage()
}

// click follows the first link whose text contains text and waits.
func (b *browser) click(text string) {
	b.t.Helper()
	r := eval[string](b, fmt.Sprintf(`(() => { const a = [...document.querySelectorAll("a")].find(a => a.textContent.includes(%q));
  if (!a) return "no link"; window.__old = 1; a.click(); return "ok"; })()`, text))
	if r != "ok" {
		b.t.Fatalf("click %q: %s (page %s)", text, r, b.Text("body"))
	}
	b.waitNewPage()
}

// waitNewPage waits until the document marked by submit or click has been
// replaced by a loaded one.
func (b *browser) waitNewPage() {
	b.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		v, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`window.__old === undefined && document.readyState === "complete"`))
		if err == nil && v {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.t.Fatalf("no new page after 30 s")
}

// login logs in through the login form and expects the mailbox.
func (b *browser) login(w *webSite, user, pass string) {
	b.t.Helper()
	b.open(w, "/login")
	b.submit("/login", map[string]string{"login": user, "password": pass}, "")
	if loc := b.location(w); !strings.HasPrefix(loc, "/mail") {
		b.t.Fatalf("login as %s: at %s: %s", user, loc, b.Text("body"))
	}
}

func (b *browser) logout(w *webSite) {
	b.t.Helper()
	b.submit("/logout", nil, "")
}

// body is the page's visible text.
func (b *browser) body() string { return b.Text("body") }

// openMessage opens the message with subject in folder from the list.
func (b *browser) openMessage(w *webSite, folder, subject string) {
	b.t.Helper()
	b.open(w, "/mail?f="+url.QueryEscape(folder))
	b.click(subject)
	if !strings.HasPrefix(b.location(w), "/msg") {
		b.t.Fatalf("opening %q: at %s", subject, b.location(w))
	}
}

// screenshotDir is where the web tests save the pictures of docs/ when
// GOQMAIL_SCREENSHOTS names a directory (make screenshots); empty: none.
func screenshotDir() string { return os.Getenv("GOQMAIL_SCREENSHOTS") }

func (b *browser) shot(name string) {
	if dir := screenshotDir(); dir != "" {
		b.Screenshot(filepath.Join(dir, name+".png"))
	}
}
