package mimeview

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// The hostile corpus (testdata/hostile, CorpusFiles): every message,
// shown with and without remote images, gives a document in which an
// independent walker (its own rules, not sanitize.go's allowlist) finds
// nothing that can run script, load anything remote (unless asked), or
// break out of the frame, and every parse stays within its bounds.
func TestHostileCorpus(t *testing.T) {
	files, err := CorpusFiles()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 30 {
		t.Fatalf("hostile corpus has %d messages, want at least 30", len(files))
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		for _, images := range []bool{false, true} {
			v := Parse(raw, Options{Images: images})
			checkBounds(t, name, v)
			if v.HTML != "" {
				for _, p := range checkDocument(v.HTML, images) {
					t.Errorf("%s (images=%v): %s", name, images, p)
				}
			}
		}
	}
}

// forbiddenElements can run script, load or embed content, submit, or
// change how the document is read.
var forbiddenElements = map[string]bool{
	"script": true, "style": true, "iframe": true, "frame": true, "frameset": true, "object": true,
	"embed": true, "applet": true, "form": true, "input": true, "button": true, "textarea": true,
	"select": true, "option": true, "isindex": true, "link": true, "base": true, "svg": true,
	"math": true, "template": true, "noscript": true, "xmp": true, "plaintext": true, "video": true,
	"audio": true, "source": true, "picture": true, "portal": true, "area": true, "map": true,
	"image": true, "animate": true, "set": true, "foreignobject": true, "title": true, "details": true,
	"marquee": true, "canvas": true, "noembed": true, "noframes": true,
}

// urlAttrs are the other attributes a browser reads as URLs.
var urlAttrs = map[string]bool{"action": true, "cite": true, "longdesc": true, "data": true, "codebase": true,
	"usemap": true, "ping": true, "manifest": true, "icon": true, "profile": true, "archive": true, "classid": true}

// checkDocument walks a shown document and lists what is wrong with it.
func checkDocument(doc string, images bool) []string {
	tree, err := html.Parse(strings.NewReader(doc))
	if err != nil {
		return []string{"unparseable: " + err.Error()}
	}
	var problems []string
	bad := func(f string, a ...any) { problems = append(problems, sprintf(f, a...)) }
	metas := 0
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			if n.Namespace != "" {
				bad("element in namespace %s: %s", n.Namespace, n.Data)
			}
			if forbiddenElements[n.Data] {
				bad("element %s", n.Data)
			}
			if n.Data == "meta" {
				metas++
				if n.Parent == nil || n.Parent.Data != "head" {
					bad("meta outside head")
				}
				if h := attr(n, "http-equiv"); h != "" && !strings.EqualFold(h, "Content-Security-Policy") {
					bad("meta http-equiv %q", h)
				}
			}
			for _, a := range n.Attr {
				key := strings.ToLower(a.Key)
				val := strings.ToLower(strings.Join(strings.Fields(a.Val), ""))
				switch {
				case strings.HasPrefix(key, "on"):
					bad("event handler %s=%q on %s", key, a.Val, n.Data)
				case key == "srcset" || key == "background" || key == "poster" || key == "formaction" ||
					key == "action" || key == "xlink:href" || key == "srcdoc" || key == "lowsrc" || key == "dynsrc":
					bad("attribute %s on %s", key, n.Data)
				case key == "href":
					if n.Data != "a" || !linkURL(a.Val) {
						bad("href %q on %s", a.Val, n.Data)
					}
					if attr(n, "target") != "_blank" || attr(n, "rel") != "noopener noreferrer nofollow" {
						bad("link %q without target=_blank rel=noopener noreferrer nofollow", a.Val)
					}
				case key == "src":
					if n.Data != "img" || !imageURL(a.Val, images) {
						bad("src %q on %s", a.Val, n.Data)
					}
				case key == "style":
					for _, s := range []string{"url(", "expression", "\\", "@import", "image-set", "binding", "behavior"} {
						if strings.Contains(val, s) {
							bad("style %q holds %q", a.Val, s)
						}
					}
				case urlAttrs[key]:
					bad("URL attribute %s=%q on %s", key, a.Val, n.Data)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(tree)
	if metas == 0 || !strings.Contains(doc, "default-src 'none'") {
		problems = append(problems, "no Content-Security-Policy meta")
	}
	return problems
}

func linkURL(v string) bool {
	u, err := url.Parse(v)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "http", "https":
		return u.Host != ""
	case "mailto":
		return true
	}
	return false
}

func imageURL(v string, images bool) bool {
	switch {
	case strings.HasPrefix(v, "part:"):
		return true
	case strings.HasPrefix(v, "data:image/png;base64,"), strings.HasPrefix(v, "data:image/gif;base64,"),
		strings.HasPrefix(v, "data:image/jpeg;base64,"), strings.HasPrefix(v, "data:image/webp;base64,"):
		return true
	case strings.HasPrefix(v, "https://"), strings.HasPrefix(v, "http://"):
		u, err := url.Parse(v)
		return images && err == nil && u.Host != ""
	}
	return false
}

// checkBounds: what Parse returns stays within its bounds and is clean
// text, whatever came in.
func checkBounds(t *testing.T, name string, v *View) {
	t.Helper()
	if len(v.Attachments) > MaxParts || len(v.Headers) > MaxFields {
		t.Errorf("%s: %d attachments, %d headers: over the bounds", name, len(v.Attachments), len(v.Headers))
	}
	if len(v.Text) > 4*MaxTextBytes {
		t.Errorf("%s: text of %d bytes", name, len(v.Text))
	}
	for _, s := range []string{v.From, v.To, v.Cc, v.ReplyTo, v.Subject, v.MessageID, v.InReplyTo, v.References} {
		if !utf8.ValidString(s) || strings.ContainsAny(s, "\r\n\x00") {
			t.Errorf("%s: header value %q not clean one-line UTF-8", name, s)
		}
	}
	for _, h := range v.Headers {
		if !utf8.ValidString(h.Value) || strings.ContainsAny(h.Value, "\r\n\x00") || len(h.Value) > MaxFieldBytes*4 {
			t.Errorf("%s: header %s not clean", name, h.Name)
		}
	}
	if !utf8.ValidString(v.Text) || strings.ContainsRune(v.Text, 0) {
		t.Errorf("%s: text not clean UTF-8", name)
	}
	for _, p := range v.Attachments {
		if !utf8.ValidString(p.Name) || strings.ContainsAny(p.Name, "/\\\r\n\x00\"\u202e\u2067\u200b") || len(p.Name) > MaxNameBytes {
			t.Errorf("%s: unsafe file name %q", name, p.Name)
		}
		if strings.ContainsAny(p.Type, "\r\n\x00") || strings.ContainsAny(p.ContentID, "\r\n\x00") {
			t.Errorf("%s: unsafe type or content id in %v", name, p)
		}
	}
}
