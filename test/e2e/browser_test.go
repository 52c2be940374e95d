package e2e

// A real browser for the web tests: Debian's chromium, headless, driven
// over the DevTools protocol by chromedp. Nothing is downloaded: the
// binary is /usr/bin/chromium from the chromium package (.ci/run installs
// it). The browser resolves no name: every host name maps to a loopback
// canary server, so a request that tries to leave (a remote image, a
// hostile message's beacon) lands on the canary and is counted, and no
// packet can reach the Internet.

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// browser is one headless Chromium with its own empty profile.
type browser struct {
	t      *testing.T
	ctx    context.Context // the first tab
	cancel context.CancelFunc
	Canary *canary

	mu        sync.Mutex
	requests  []string // every URL any frame asked for (Network.requestWillBeSent)
	dialogs   []string // alert/confirm/prompt: a script ran
	exception []string // uncaught exceptions and console errors
	pwned     []string // calls of the __pwned binding (browser tests' tripwire)
}

// canary is the loopback HTTP server every non-loopback host name resolves
// to in the test browser.
type canary struct {
	Addr string
	mu   sync.Mutex
	hits []string
}

// Hits returns the requests that reached the canary, leaving out
// Chromium's own housekeeping (network time, component updates to
// Google's hosts), which the flags do not all turn off: those land here
// too and never leave the machine.
func (c *canary) Hits() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, h := range c.hits {
		_, u, _ := strings.Cut(h, " ")
		host, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://"), "/")
		if strings.HasSuffix(host, ".google.com") || strings.HasSuffix(host, ".googleapis.com") || strings.HasSuffix(host, ".gstatic.com") {
			continue
		}
		out = append(out, h)
	}
	return out
}

func newCanary(t *testing.T) *canary {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &canary{Addr: ln.Addr().String()}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme := "http://"
		if r.TLS != nil {
			scheme = "https://"
		}
		c.mu.Lock()
		c.hits = append(c.hits, r.Method+" "+scheme+r.Host+r.URL.RequestURI())
		c.mu.Unlock()
		w.Header().Set("Content-Type", "image/gif")
		w.Write([]byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"))
	}), ReadHeaderTimeout: 5 * time.Second, TLSConfig: &tls.Config{Certificates: []tls.Certificate{canaryCert(t)}}}
	// One port for both schemes: a connection whose first byte starts a
	// TLS handshake (0x16) is served over TLS, so an https:// beacon is
	// counted too (the browser ignores certificate errors).
	go srv.Serve(&sniffListener{Listener: ln, tls: srv.TLSConfig})
	t.Cleanup(func() { srv.Close() })
	return c
}

type sniffListener struct {
	net.Listener
	tls *tls.Config
}

func (l *sniffListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	br := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	first, err := br.Peek(1)
	c.SetReadDeadline(time.Time{})
	pc := &peekedConn{Conn: c, r: br}
	if err == nil && first[0] == 0x16 {
		return tls.Server(pc, l.tls), nil
	}
	return pc, nil
}

type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// canaryCert is a throwaway self-signed certificate for the canary.
func canaryCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "canary"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), DNSNames: []string{"*.example", "*.example.com"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// browserTimeout bounds everything one test does in the browser.
const browserTimeout = 90 * time.Second

func newBrowser(t *testing.T) *browser {
	t.Helper()
	requireTool(t, "chromium")
	b := &browser{t: t, Canary: newCanary(t)}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath("/usr/bin/chromium"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("metrics-recording-only", true),
		// No name resolves except through this rule: everything but
		// loopback goes to the canary.
		chromedp.Flag("host-resolver-rules", "MAP * "+b.Canary.Addr+", EXCLUDE localhost, EXCLUDE 127.0.0.1"),
		// The test server's certificate is self-signed (goqmail init's
		// demo certificate).
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.WindowSize(1280, 900),
	}
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses its sandbox as root
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(func(string, ...any) {}))
	ctx, tcancel := context.WithTimeout(ctx, browserTimeout)
	b.ctx = ctx
	b.cancel = func() { tcancel(); cancel(); acancel() }
	t.Cleanup(b.cancel)
	// Start the browser, then listen, then turn the domains on.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	if err := chromedp.Listen(ctx, b.event); err != nil {
		t.Fatalf("chromium: listen: %v", err)
	}
	err := func() error {
		if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		if _, err := chromedp.Call(ctx, runtime.Enable, cdp.Empty{}); err != nil {
			return err
		}
		if _, err := chromedp.Call(ctx, page.Enable, page.EnableParams{}); err != nil {
			return err
		}
		// The tripwire: a hostile script that gets to run and calls
		// anything a payload calls trips it (alert is also caught as a
		// dialog).
		if _, err := chromedp.Call(ctx, runtime.AddBinding, runtime.AddBindingParams{Name: "__pwned"}); err != nil {
			return err
		}
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: tripwireJS})
		return err
	}()
	if err != nil {
		t.Fatalf("chromium: set up the tab: %v", err)
	}
	return b
}

// tripwireJS runs before any script of every document the browser loads
// (where scripts may run at all): every function a hostile payload uses to
// show it ran reports through the binding.
const tripwireJS = `(() => {
  const trip = (what) => { try { __pwned(what + " in " + location.href); } catch (e) {} };
  for (const f of ["alert", "confirm", "prompt", "print", "open"]) {
    const orig = window[f];
    window[f] = function () { trip(f); return orig && orig.apply(this, arguments); };
  }
  const of = window.fetch; window.fetch = function () { trip("fetch"); return of.apply(this, arguments); };
  const ox = XMLHttpRequest.prototype.open; XMLHttpRequest.prototype.open = function () { trip("xhr"); return ox.apply(this, arguments); };
})();`

func (b *browser) event(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch e := ev.(type) {
	case *network.EventRequestWillBeSent:
		b.requests = append(b.requests, e.Request.URL)
	case *page.EventJavascriptDialogOpening:
		b.dialogs = append(b.dialogs, string(e.Type)+": "+e.Message)
		go chromedp.Call(b.ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
	case *runtime.EventBindingCalled:
		if e.Name == "__pwned" {
			b.pwned = append(b.pwned, e.Payload)
		}
	case *runtime.EventExceptionThrown:
		b.exception = append(b.exception, e.ExceptionDetails.Text)
	}
}

// Do runs chromedp actions in the browser's tab.
func (b *browser) Do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// Requests returns the URLs requested so far and forgets them.
func (b *browser) Requests() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.requests
	b.requests = nil
	return r
}

// Ran returns the evidence of script execution so far: dialogs and
// tripwire calls.
func (b *browser) Ran() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append(append([]string(nil), b.dialogs...), b.pwned...)
}

// Screenshot saves a PNG of the whole page to path.
func (b *browser) Screenshot(path string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)) // 100: PNG; below, JPEG
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// Text returns the visible text of the first element matching sel. The
// query goes by DOM node ids, which a document still being replaced (a
// redirect after a form, seen once in TestWebAdmin: "No node with given id
// found") invalidates between two calls; so a failed query is asked again
// for up to 10 s before the test fails.
func (b *browser) Text(sel string) string {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
		if err == nil {
			return s
		}
		if time.Now().After(deadline) || b.ctx.Err() != nil {
			b.t.Fatalf("text of %s: %v", sel, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// chromiumVersion is for the test log: which browser the results are for.
func chromiumVersion() string {
	out, err := exec.Command("/usr/bin/chromium", "--version").Output()
	if err != nil {
		return fmt.Sprintf("chromium: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// TestBrowserHarness checks the harness itself on a page the test serves:
// a script that runs is seen, and a request to a remote name lands on the
// canary instead of leaving the machine. Without it, a browser test that
// sees nothing could be blind.
func TestBrowserHarness(t *testing.T) {
	b := newBrowser(t)
	t.Log(chromiumVersion())
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<!doctype html><title>h</title><p id=p>hello</p>
<img src="http://beacon.example.com/x.gif"><script>alert("ran")</script>`)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	defer srv.Close()
	b.Do(chromedp.Navigate("http://" + ln.Addr().String() + "/"))
	if got := b.Text("#p"); got != "hello" {
		t.Fatalf("page text %q", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && (len(b.Ran()) < 2 || len(b.Canary.Hits()) == 0) {
		time.Sleep(50 * time.Millisecond)
	}
	if ran := b.Ran(); len(ran) < 2 {
		t.Errorf("the page's alert was not seen by both the dialog hook and the tripwire: %q", ran)
	}
	if hits := b.Canary.Hits(); len(hits) == 0 || !strings.Contains(hits[0], "beacon.example.com/x.gif") {
		t.Errorf("the remote image did not land on the canary: %q", hits)
	}
}
