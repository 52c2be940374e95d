package mimeview

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func corpus(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(CorpusDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The walker of the corpus test must be able to fail: fed what an
// unsanitized message holds, it reports each construct.
func TestCheckerCatches(t *testing.T) {
	for _, doc := range []string{
		`<script>x</script>`, `<img src=x onerror=y>`, `<a href="javascript:x">`, `<svg></svg>`,
		`<math></math>`, `<form></form>`, `<iframe></iframe>`, `<object></object>`, `<embed>`,
		`<meta http-equiv=refresh content="0;url=http://e/">`, `<base href="http://e/">`, `<link rel=stylesheet>`,
		`<style>@import url(http://e/)</style>`, `<p style="width:expression(x)">`, `<img src="http://e/x.png">`,
		`<img src="data:image/svg+xml;base64,AAAA">`, `<p style="background:url(http://e/)">`, `<table background="http://e/">`,
		`<a href="http://e/">no target</a>`, `<a href="/relative" target=_blank rel="noopener noreferrer nofollow">`,
	} {
		if p := checkDocument(wrap(doc, false), false); len(p) == 0 {
			t.Errorf("checker finds nothing wrong in %s", doc)
		}
	}
	if p := checkDocument(wrap(`<p>ok <a href="https://e/" target="_blank" rel="noopener noreferrer nofollow">l</a><img src="part:2"></p>`, false), false); len(p) != 0 {
		t.Errorf("checker refuses a clean document: %v", p)
	}
}

func TestRemoteImages(t *testing.T) {
	raw := corpus(t, "13-remote-images.eml")
	v := Parse(raw, Options{})
	if !v.RemoteImages || strings.Contains(v.HTML, "evil.example") {
		t.Errorf("images=0: remote=%v html %s", v.RemoteImages, v.HTML)
	}
	v = Parse(raw, Options{Images: true})
	for _, want := range []string{`<img src="http://evil.example/track.gif"/>`, `<img src="https://evil.example/t2.gif"/>`, "img-src 'self' data: http: https:"} {
		if !strings.Contains(v.HTML, want) {
			t.Errorf("images=1: no %s in %s", want, v.HTML)
		}
	}
	for _, gone := range []string{"srcset", "background", "proto-relative", "poster", "s.png"} {
		if strings.Contains(v.HTML, gone) {
			t.Errorf("images=1: %s kept in %s", gone, v.HTML)
		}
	}
}

func TestCIDImagesAndParts(t *testing.T) {
	v := Parse(corpus(t, "19-cid-images.eml"), Options{})
	if strings.Count(v.HTML, `src="part:2"`) != 3 || strings.Contains(v.HTML, "cid:") || strings.Contains(v.HTML, "onerror") {
		t.Errorf("cid images: %s", v.HTML)
	}
	if len(v.Attachments) != 1 || v.Attachments[0].ID != "2" || !v.Attachments[0].Inline || v.Attachments[0].ContentID != "logo@x" || v.Attachments[0].Type != "image/png" {
		t.Fatalf("attachments %v", v.Attachments)
	}
	p, ok := v.FindPart("2")
	if !ok || !strings.HasPrefix(string(p.Data()), "\x89PNG") || p.Size != 28 {
		t.Errorf("part 2: %v", p)
	}
	if _, ok := v.FindPart("3"); ok {
		t.Errorf("part 3 found")
	}
}

func TestPartIDsNested(t *testing.T) {
	raw := "Subject: n\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n" +
		"--i\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=E9\r\n" +
		"--i\r\nContent-Type: text/html\r\n\r\n<p>caf&eacute;</p>\r\n--i--\r\n" +
		"--o\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename*=iso-8859-1''r%E9sum%E9.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBE\r\nRi0x\r\n--o--\r\n"
	v := Parse([]byte(raw), Options{})
	if v.Text != "café" || !strings.Contains(v.HTML, "<p>café</p>") {
		t.Errorf("text %q html %s", v.Text, v.HTML)
	}
	if len(v.Attachments) != 1 || v.Attachments[0].ID != "2" || v.Attachments[0].Size != 6 || v.Attachments[0].Inline {
		t.Fatalf("attachments %v", v.Attachments)
	}
	// mime refuses the iso-8859-1 RFC 2231 value; it is still a name.
	if n := v.Attachments[0].Name; n == "" || strings.ContainsAny(n, "%'") {
		t.Errorf("file name %q", n)
	}
	if p, ok := v.FindPart("1.1"); !ok || p.Type != "text/plain" {
		t.Errorf("part 1.1: %v", p)
	}
}

func TestHeadersDecoded(t *testing.T) {
	v := Parse(corpus(t, "23-invalid-charsets.eml"), Options{})
	if !strings.Contains(v.Subject, "café") || !strings.Contains(v.Subject, "été") {
		t.Errorf("subject %q", v.Subject)
	}
	if !strings.HasPrefix(v.Text, "été") {
		t.Errorf("text %q", v.Text)
	}
	v = Parse(corpus(t, "31-header-injection.eml"), Options{})
	if strings.ContainsAny(v.Subject+v.From+v.ReplyTo, "\r\n") || !strings.Contains(v.Subject, "X-Injected") {
		t.Errorf("subject %q from %q", v.Subject, v.From)
	}
	if v.MessageID != "" {
		t.Errorf("message id %q from a malformed one", v.MessageID)
	}
	v = Parse([]byte("Message-ID: <a@b>\r\nReferences: <1@x> junk <2@x>\r\nDate: Mon, 7 Dec 2026 06:00:00 +0000\r\n\r\nx"), Options{})
	if v.MessageID != "<a@b>" || v.References != "<1@x> <2@x>" || v.Date.Unix() != 1796623200 {
		t.Errorf("ids %q %q date %v", v.MessageID, v.References, v.Date)
	}
}

func TestFileNames(t *testing.T) {
	for in, want := range map[string]string{
		"../../etc/passwd":             "passwd",
		`C:\Windows\x.exe`:             "x.exe",
		"invoice\u202efdp.exe":         "invoicefdp.exe",
		"a\r\nContent-Type: x.txt":     "a  Content-Type_ x.txt",
		"=?utf-8?Q?r=C3=A9sum=C3=A9?=": "résumé",
		"...hidden":                    "hidden",
		"zero\u200bwidth.txt":          "zerowidth.txt",
	} {
		if got := SafeFileName(in); got != want {
			t.Errorf("SafeFileName(%q) = %q, want %q", in, got, want)
		}
	}
	long := SafeFileName(strings.Repeat("é", 500) + ".pdf")
	if len(long) > MaxNameBytes || !strings.HasSuffix(long, ".pdf") {
		t.Errorf("long name %q", long)
	}
}

func TestBounds(t *testing.T) {
	v := Parse(corpus(t, "24-deep-nesting.eml"), Options{})
	if !v.Truncated || len(v.Attachments) != 1 || strings.Count(v.Attachments[0].ID, ".") != MaxDepth-1 {
		t.Errorf("deep nesting: truncated=%v %v", v.Truncated, v.Attachments)
	}
	v = Parse(corpus(t, "25-many-parts.eml"), Options{})
	if !v.Truncated || len(v.Attachments) != MaxParts-1 {
		t.Errorf("many parts: truncated=%v %d attachments", v.Truncated, len(v.Attachments))
	}
	v = Parse(corpus(t, "22-huge-header.eml"), Options{})
	if !v.Truncated || v.Subject != "huge header" || len(v.Headers) > MaxFields {
		t.Errorf("huge header: truncated=%v subject %q %d fields", v.Truncated, v.Subject, len(v.Headers))
	}
	v = Parse(corpus(t, "42-big-html.eml"), Options{})
	if !v.Truncated || len(v.Text) > MaxTextBytes {
		t.Errorf("big html: truncated=%v text %d", v.Truncated, len(v.Text))
	}
}

func TestBrokenMIMEShowsWhatItCan(t *testing.T) {
	v := Parse(corpus(t, "21-broken-multipart.eml"), Options{})
	if v.Text != "visible text part" || !strings.Contains(v.HTML, "<p>html </p>") {
		t.Errorf("text %q html %s", v.Text, v.HTML)
	}
	if n := len(v.Attachments); n != 2 || v.Attachments[1].Name != "trunc.pdf" || string(v.Attachments[1].Data()) != "%PDF-1.4\n" {
		t.Errorf("attachments %v", v.Attachments)
	}
	v = Parse(corpus(t, "27-bad-transfer-encoding.eml"), Options{})
	if !strings.Contains(v.HTML, "<p>hi</p>") || strings.Contains(v.HTML, "alert") {
		t.Errorf("bad base64: %s", v.HTML)
	}
	v = Parse(corpus(t, "37-boundary-tricks.eml"), Options{})
	if !strings.Contains(v.Text, "--ab\r\nstill plain") || !strings.Contains(v.HTML, "<p>html</p>") {
		t.Errorf("boundary prefix: text %q html %s", v.Text, v.HTML)
	}
}

func TestLinksAndText(t *testing.T) {
	v := Parse(corpus(t, "18-link-targets.eml"), Options{})
	if strings.Count(v.HTML, `target="_blank" rel="noopener noreferrer nofollow"`) != 2 || strings.Contains(v.HTML, "_top") ||
		strings.Contains(v.HTML, "ftp:") || strings.Contains(v.HTML, "file:") || strings.Contains(v.HTML, "opener\"") {
		t.Errorf("links: %s", v.HTML)
	}
	got := HTMLText(`<html><head><title>t</title><style>p{}</style></head><body><p>One <b>two</b></p><script>x</script><a href="https://e/">link</a><br>three</body></html>`)
	if got != "One two\nlink <https://e/>\nthree" {
		t.Errorf("HTMLText = %q", got)
	}
}

func TestParseAddresses(t *testing.T) {
	as := ParseAddresses(`=?utf-8?Q?Ren=C3=A9?= <rene@example.com>, bob@example.com`)
	if len(as) != 2 || as[0].Name != "René" || as[0].Addr != "rene@example.com" || as[1].String() != "bob@example.com" {
		t.Errorf("%v", as)
	}
	as = ParseAddresses(`broken "list <a@example.com>, <<b@example.com> c@example.com`)
	if len(as) != 2 || as[0].Addr != "a@example.com" || as[1].Addr != "b@example.com" {
		t.Errorf("loose with angle addresses: %v", as)
	}
	as = ParseAddresses(`a@example.com;; b@example.com (`)
	if len(as) != 2 || as[0].Addr != "a@example.com" || as[1].Addr != "b@example.com" {
		t.Errorf("loose: %v", as)
	}
	if s := (Address{Name: `a "b"`, Addr: "x@y"}).String(); s != `"a \"b\"" <x@y>` {
		t.Errorf("String %s", s)
	}
}

func TestMaxHTML(t *testing.T) {
	raw := corpus(t, "42-big-html.eml")
	v := Parse(raw, Options{MaxHTML: 100 << 10})
	if len(v.HTML) > 100<<10 || !v.Truncated || !strings.HasSuffix(v.HTML, "</body></html>") || !strings.Contains(v.HTML, "para x") {
		t.Errorf("MaxHTML: %d bytes, truncated=%v", len(v.HTML), v.Truncated)
	}
	v = Parse(raw, Options{Structure: true})
	if v.HTML != "" || v.Text != "" || len(v.parts) != 1 {
		t.Errorf("Structure: html %d text %d parts %d", len(v.HTML), len(v.Text), len(v.parts))
	}
}

func TestTextOnly(t *testing.T) {
	v := Parse(corpus(t, "19-cid-images.eml"), Options{TextOnly: true})
	if v.HTML != "" || v.Text != "logo:\n[logo][missing]" {
		t.Errorf("TextOnly: html %q text %q", v.HTML, v.Text)
	}
}

// HTML nested deeper than x/net/html parses is shown as its text.
func TestDeepHTMLShowsText(t *testing.T) {
	v := Parse(corpus(t, "43-deep-html.eml"), Options{})
	if !strings.Contains(v.HTML, "deep text") || strings.Contains(v.HTML, "alert") || v.Text != "deep text" {
		t.Errorf("html %s text %q", v.HTML, v.Text)
	}
}

// A bound smaller than an empty document ends with the empty document.
func TestMaxHTMLTiny(t *testing.T) {
	v := Parse(corpus(t, "19-cid-images.eml"), Options{MaxHTML: 10})
	if !v.Truncated || !strings.Contains(v.HTML, "<body></body>") {
		t.Errorf("html %q", v.HTML)
	}
}

// A field folded over many short lines is joined (each line once: the
// cost is linear, not a copy of the whole value per line).
func TestFoldedField(t *testing.T) {
	raw := "Subject: a\r\n" + strings.Repeat(" b\r\n", 60000) + "X: y\r\n\r\nbody"
	v := Parse([]byte(raw), Options{})
	if !strings.HasPrefix(v.Subject, "a b b") || len(v.Subject) > MaxFieldBytes+2 || !v.Truncated || v.Text != "body" {
		t.Errorf("subject of %d bytes, truncated=%v, text %q", len(v.Subject), v.Truncated, v.Text)
	}
	if len(v.Headers) != 2 || v.Headers[1].Value != "y" {
		t.Errorf("headers %d", len(v.Headers))
	}
}
