package e2e

// The hostile corpus (internal/mimeview/testdata/hostile) in a real
// browser. Two layers are checked apart, so that each is known to hold on
// its own:
//
//   - the sanitizer alone: its output served as an ordinary page, with
//     scripts allowed and no CSP, no sandbox: nothing may run and nothing
//     may be fetched from another host;
//   - the whole webmail: each message opened through goqmail-web (CSP,
//     sandboxed frame, sanitizer): nothing runs, and every request the
//     browser makes goes to the front itself.

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"goqmail/internal/mimeview"
)

// settle is how long a page may take to do something after it loaded
// (an onload handler, a meta refresh, a CSS fetch).
const settle = 400 * time.Millisecond

func corpus(t *testing.T) map[string][]byte {
	t.Helper()
	files, err := mimeview.CorpusFiles()
	if err != nil || len(files) < 30 {
		t.Fatalf("the hostile corpus has %d messages (%v), want at least 30", len(files), err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

// TestHostileCorpusSanitizerInBrowser: the sanitized HTML of every corpus
// message, served with scripts allowed and no CSP, runs nothing and
// fetches nothing from elsewhere.
func TestHostileCorpusSanitizerInBrowser(t *testing.T) {
	msgs := corpus(t)
	docs := map[string]string{}
	for name, raw := range msgs {
		docs[name] = mimeview.Parse(raw, mimeview.Options{}).HTML
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, docs[strings.TrimPrefix(r.URL.Path, "/")])
	})}
	go srv.Serve(ln)
	defer srv.Close()
	origin := "http://" + ln.Addr().String()

	b := newBrowser(t)
	// A positive control first: the raw HTML of a message with a script
	// does run in this setup, so a silent browser means a clean document.
	docs["control"] = `<!doctype html><p>x</p><img src="http://evil.example/control.gif"><script>alert("control")</script>`
	b.Do(chromedp.Navigate(origin+"/control"), chromedp.Sleep(settle))
	if len(b.Ran()) == 0 || len(b.Canary.Hits()) == 0 {
		t.Fatalf("the control page's script or image went unseen: ran %q hits %q", b.Ran(), b.Canary.Hits())
	}
	ranBefore, hitsBefore := len(b.Ran()), len(b.Canary.Hits())
	shown := 0
	for name, doc := range docs {
		if name == "control" || doc == "" {
			continue
		}
		shown++
		b.Requests()
		b.Do(chromedp.Navigate(origin+"/"+url.PathEscape(name)), chromedp.Sleep(settle))
		if ran := b.Ran(); len(ran) > ranBefore {
			t.Errorf("%s: script ran from the sanitized HTML: %q", name, ran[ranBefore:])
			ranBefore = len(ran)
		}
		if hits := b.Canary.Hits(); len(hits) > hitsBefore {
			t.Errorf("%s: the sanitized HTML fetched from another host: %q", name, hits[hitsBefore:])
			hitsBefore = len(hits)
		}
		for _, u := range b.Requests() {
			// part:ID is the sanitizer's name for the message's own
			// image, which the front turns into data: (an unknown scheme
			// goes nowhere).
			if !strings.HasPrefix(u, origin+"/") && !strings.HasPrefix(u, "data:") && !strings.HasPrefix(u, "part:") && u != "about:blank" {
				t.Errorf("%s: the sanitized HTML asked for %s", name, u)
			}
		}
	}
	if shown < 20 {
		t.Errorf("only %d corpus messages have an HTML body to show; the corpus is meant to attack the HTML path", shown)
	}
}

// TestHostileCorpusWebmail: every corpus message delivered to a Maildir and
// opened in the webmail: no script runs anywhere, no request leaves the
// front. Then, with remote images asked for, the image request does go
// out (to the canary): the check above is not blind.
func TestHostileCorpusWebmail(t *testing.T) {
	msgs := corpus(t)
	w := newWebSite(t)
	uid, gid := os.Getuid(), os.Getgid()
	if asRoot {
		uid, gid = lookupIDs(t, "goqmailv")
	}
	newDir := filepath.Join(w.maildir(webAnn), "new")
	ids := map[string]string{}
	i := 0
	for name, raw := range msgs {
		i++
		id := fmt.Sprintf("%d.M%dP1.corpus", 1700000000+i, i)
		p := filepath.Join(newDir, id)
		if err := os.WriteFile(p, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chown(p, uid, gid)
		ids[name] = id
	}
	b := newBrowser(t)
	b.login(w, webAnn, webPass)
	front := w.URL + "/"
	for name, id := range ids {
		b.Requests()
		hits := len(b.Canary.Hits())
		resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(w.URL+"/msg?f=INBOX&id="+url.QueryEscape(id)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b.Do(chromedp.Sleep(settle))
		if resp.Status != 200 {
			t.Errorf("%s: the message page answered %d: %s", name, resp.Status, b.body())
		}
		if ran := b.Ran(); len(ran) > 0 {
			t.Fatalf("%s: a script ran: %q", name, ran)
		}
		if h := b.Canary.Hits(); len(h) > hits {
			t.Errorf("%s: a request left the front: %q", name, h[hits:])
		}
		for _, u := range b.Requests() {
			if !strings.HasPrefix(u, front) && !strings.HasPrefix(u, "data:") && u != "about:blank" {
				t.Errorf("%s: the browser asked for %s", name, u)
			}
		}
		if strings.HasPrefix(name, "01-") {
			b.shot("hostile-message")
		}
	}
	// The control: remote images on request. The frame may live in a
	// process of its own, whose requests the tab's events do not show:
	// the canary, where every remote name lands, is the witness.
	hits := len(b.Canary.Hits())
	b.Do(chromedp.Navigate(w.URL+"/msg?f=INBOX&id="+url.QueryEscape(ids["13-remote-images.eml"])+"&images=1"), chromedp.Sleep(2*settle))
	asked := false
	for _, u := range b.Canary.Hits()[hits:] {
		asked = asked || strings.Contains(u, "evil.example")
	}
	if !asked {
		t.Errorf("with images=1 the browser did not ask for the remote images: the checks above may be blind")
	}
}
