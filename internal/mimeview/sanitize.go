package mimeview

import (
	"bytes"
	"encoding/base64"
	"net/url"
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// HTML mail is shown in three layers, none trusting the others:
//
//  1. here, an allowlist: a rewrite pass over golang.org/x/net/html's
//     tree (cid: images, remote images), then bluemonday (a maintained,
//     widely used allowlist sanitizer: elements, attributes, URL schemes,
//     CSS properties through a real CSS parser), then a second pass over
//     bluemonday's output, parsed again as a browser would, that enforces
//     this file's own allowlist once more and sets the link attributes;
//  2. the document's own Content-Security-Policy (FrameCSP, a <meta>);
//  3. the front's sandboxed iframe (no allow-scripts, no
//     allow-same-origin) and its CSP header.
//
// What survives: text formatting, tables, lists, links (http, https,
// mailto; target=_blank rel="noopener noreferrer nofollow"), images from
// the message itself ("part:<id>" URLs the front rewrites, data: PNG,
// GIF, JPEG and WebP) and, only when asked, http and https images. Inline
// style attributes survive for a fixed set of properties whose values
// hold no url(), expression(), escape or at-rule. Style elements do not:
// a stylesheet can reach out (@import, url()) and restyle the page
// around the frame's own notices, and checking one is not worth the risk.

// FrameCSP is the policy of the shown document: nothing may run or load
// but inline styles and the message's own images. FrameCSPImages adds
// remote images (Options.Images).
const (
	FrameCSP       = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'none'; base-uri 'none'"
	FrameCSPImages = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data: http: https:; form-action 'none'; base-uri 'none'"
)

// allowed is the allowlist: element → its attributes (besides the
// global ones). URL attributes (href, src) are checked by safeURL.
var allowed = map[string][]string{
	"a": {"href", "name"}, "abbr": nil, "address": nil, "article": nil, "b": nil, "big": nil,
	"blockquote": nil, "br": nil, "caption": nil, "center": nil, "cite": nil, "code": nil,
	"col": {"span", "width"}, "colgroup": {"span", "width"}, "dd": nil, "del": nil, "dfn": nil,
	"div": nil, "dl": nil, "dt": nil, "em": nil, "figcaption": nil, "figure": nil,
	"font": {"color", "face", "size"}, "footer": nil, "h1": nil, "h2": nil, "h3": nil,
	"h4": nil, "h5": nil, "h6": nil, "header": nil, "hr": {"width", "size", "noshade"},
	"i": nil, "img": {"src", "alt", "width", "height", "border"}, "ins": nil, "kbd": nil,
	"li": nil, "main": nil, "mark": nil, "ol": {"start", "type"}, "p": nil, "pre": nil,
	"q": nil, "s": nil, "samp": nil, "section": nil, "small": nil, "span": nil,
	"strike": nil, "strong": nil, "sub": nil, "sup": nil,
	"table": {"width", "border", "cellpadding", "cellspacing", "bgcolor", "summary"},
	"tbody": nil, "td": {"width", "height", "colspan", "rowspan", "bgcolor", "nowrap"},
	"tfoot": nil, "th": {"width", "height", "colspan", "rowspan", "bgcolor", "nowrap", "scope"},
	"thead": nil, "time": nil, "tr": {"bgcolor", "height"}, "tt": nil, "u": nil, "ul": {"type"},
	"var": nil, "wbr": nil,
}

// globalAttrs are allowed on every allowed element.
var globalAttrs = []string{"align", "valign", "dir", "lang", "title", "style"}

// cssProperties may appear in a style attribute, with a safeCSS value.
var cssProperties = []string{
	"color", "background-color", "background", "font", "font-family", "font-size", "font-style",
	"font-weight", "font-variant", "text-align", "text-decoration", "text-indent", "text-transform",
	"line-height", "letter-spacing", "word-spacing", "white-space", "vertical-align", "direction",
	"margin", "margin-top", "margin-right", "margin-bottom", "margin-left",
	"padding", "padding-top", "padding-right", "padding-bottom", "padding-left",
	"border", "border-top", "border-right", "border-bottom", "border-left", "border-color",
	"border-style", "border-width", "border-radius", "border-collapse", "border-spacing",
	"width", "height", "max-width", "min-width", "max-height", "min-height",
	"display", "list-style-type", "table-layout", "float", "clear",
}

// safeCSS refuses every CSS value that can load, run or escape: url(),
// image-set(), expression(), behaviour bindings, backslash escapes (which
// spell any of those), comments, at-rules and markup.
func safeCSS(v string) bool {
	l := strings.ToLower(v)
	for _, bad := range []string{"url", "image", "expression", "binding", "behavior", "javascript", "vbscript",
		"\\", "/*", "@", "<", ">", "&", "\x00", "attr(", "var(", "env("} {
		if strings.Contains(l, bad) {
			return false
		}
	}
	return true
}

var (
	partURL    = regexp.MustCompile(`^part:[0-9]+(\.[0-9]+)*$`)
	dataImage  = regexp.MustCompile(`^data:image/(png|gif|jpeg|webp);base64,[A-Za-z0-9+/]+=*$`)
	colorValue = regexp.MustCompile(`^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{1,20})$`)
	numberish  = regexp.MustCompile(`^[0-9]{1,5}(%|px)?$`)
)

// policy builds the bluemonday layer from the allowlist.
func policy() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	for el, attrs := range allowed {
		p.AllowElements(el)
		for _, a := range attrs {
			switch a {
			case "href", "src":
				p.AllowAttrs(a).OnElements(el)
			case "color", "bgcolor":
				p.AllowAttrs(a).Matching(colorValue).OnElements(el)
			case "width", "height", "border", "cellpadding", "cellspacing", "colspan", "rowspan", "span", "size", "start":
				p.AllowAttrs(a).Matching(numberish).OnElements(el)
			default:
				p.AllowAttrs(a).Matching(regexp.MustCompile(`^[^<>&\\]{0,200}$`)).OnElements(el)
			}
		}
	}
	p.AllowAttrs("align", "valign", "dir", "lang").Matching(regexp.MustCompile(`^[a-zA-Z-]{1,20}$`)).Globally()
	p.AllowAttrs("title").Matching(regexp.MustCompile(`^[^<>&\\]{0,500}$`)).Globally()
	p.AllowStyles(cssProperties...).MatchingHandler(safeCSS).Globally()
	p.RequireParseableURLs(true)
	p.AllowRelativeURLs(false)
	p.AllowURLSchemes("http", "https", "mailto")
	p.AllowURLSchemeWithCustomPolicy("part", func(u *url.URL) bool { return partURL.MatchString(u.String()) })
	p.AllowURLSchemeWithCustomPolicy("data", func(u *url.URL) bool { return dataImage.MatchString(u.String()) })
	p.RequireNoFollowOnLinks(true)
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	p.SkipElementsContent("head", "svg", "math", "template", "textarea", "select", "option", "button", "xmp", "plaintext", "noembed", "embed", "applet", "canvas", "audio", "video")
	return p
}

var thePolicy = policy()

// SanitizeHTML makes src (an HTML body, UTF-8) safe to show: a whole
// document whose images are the message's own (cids maps a lower-case
// Content-ID to its URL) and, when images is set, remote ones. remote
// says whether remote images were found and removed.
func SanitizeHTML(src string, cids map[string]string, images bool) (doc string, remote bool) {
	tree, err := html.Parse(strings.NewReader(src))
	if err != nil {
		// Nested deeper than the parser goes (x/net/html stops at 512
		// open elements): show the text, escaped.
		return wrap("<pre style=\"white-space: pre-wrap\">"+html.EscapeString(tokenText(src))+"</pre>", images), false
	}
	remote = rewrite(tree, cids, images)
	var buf bytes.Buffer
	if err := html.Render(&buf, tree); err != nil {
		return wrap("", images), remote
	}
	clean := thePolicy.Sanitize(buf.String())
	body, err := enforce(clean, images)
	if err != nil {
		return wrap("", images), remote
	}
	return wrap(body, images), remote
}

// rewrite is the first pass: cid: images become their part URLs, remote
// image sources go (unless images), and attributes that load images
// without an <img src> (srcset, background, lowsrc, poster) go always.
func rewrite(n *html.Node, cids map[string]string, images bool) (remote bool) {
	if n.Type == html.ElementNode {
		kept := n.Attr[:0]
		for _, a := range n.Attr {
			key := strings.ToLower(a.Key)
			val := strings.TrimSpace(a.Val)
			switch {
			case key == "src" && n.DataAtom == atom.Img:
				l := strings.ToLower(val)
				switch {
				case strings.HasPrefix(l, "cid:"):
					cid, _ := url.PathUnescape(val[4:])
					u, ok := cids[strings.ToLower(strings.Trim(cid, "<>"))]
					if !ok {
						continue
					}
					a.Val = u
				case isRemote(l):
					if !images {
						remote = true
						continue
					}
				}
			case key == "srcset" || key == "background" || key == "lowsrc" || key == "dynsrc" || key == "poster":
				remote = remote || isRemote(strings.ToLower(val)) || strings.Contains(strings.ToLower(val), "http")
				continue
			case key == "style":
				if l := strings.ToLower(val); strings.Contains(l, "url") && strings.Contains(l, "http") || strings.Contains(l, "//") {
					remote = true // safeCSS drops it; say there was one
				}
			}
			kept = append(kept, a)
		}
		n.Attr = kept
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if rewrite(c, cids, images) {
			remote = true
		}
	}
	return remote
}

func isRemote(l string) bool {
	return strings.HasPrefix(l, "http:") || strings.HasPrefix(l, "https:") || strings.HasPrefix(l, "//")
}

// enforce is the last pass: it parses the sanitizer's output as a
// browser would (in a body) and keeps only what the allowlist allows,
// whatever the layers before let through.
func enforce(clean string, images bool) (string, error) {
	ctx := &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body}
	nodes, err := html.ParseFragment(strings.NewReader(clean), ctx)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	for _, n := range nodes {
		for _, k := range keep(n, images) {
			if err := html.Render(&buf, k); err != nil {
				return "", err
			}
		}
	}
	return buf.String(), nil
}

// keep returns what of n may stay: n itself (attributes filtered), or
// its allowed children in its place, or nothing.
func keep(n *html.Node, images bool) []*html.Node {
	switch n.Type {
	case html.TextNode:
		return []*html.Node{n}
	case html.ElementNode:
	default:
		return nil // comments, doctypes
	}
	var kids []*html.Node
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		kids = append(kids, keep(c, images)...)
	}
	for _, c := range kids {
		if c.Parent != nil {
			c.Parent.RemoveChild(c)
		}
	}
	attrs, ok := allowed[n.Data]
	if !ok || n.Namespace != "" {
		if skipContent[n.Data] {
			return nil
		}
		return kids
	}
	var out []html.Attribute
	for _, a := range n.Attr {
		if a.Namespace != "" || !(contains(attrs, a.Key) || contains(globalAttrs, a.Key)) {
			continue
		}
		switch a.Key {
		case "href":
			if !safeURL(a.Val, false, images) {
				continue
			}
		case "src":
			if !safeURL(a.Val, true, images) {
				continue
			}
		case "style":
			if !safeCSS(a.Val) {
				continue
			}
		}
		out = append(out, a)
	}
	if n.Data == "a" && hasAttr(out, "href") {
		out = append(out, html.Attribute{Key: "target", Val: "_blank"},
			html.Attribute{Key: "rel", Val: "noopener noreferrer nofollow"})
	}
	m := &html.Node{Type: html.ElementNode, Data: n.Data, DataAtom: n.DataAtom, Attr: out}
	for _, c := range kids {
		m.AppendChild(c)
	}
	return []*html.Node{m}
}

var skipContent = map[string]bool{"script": true, "style": true, "svg": true, "math": true, "template": true,
	"iframe": true, "object": true, "embed": true, "noscript": true, "title": true, "head": true,
	"textarea": true, "select": true, "xmp": true, "plaintext": true, "noembed": true, "frameset": true}

// safeURL: links may be http, https or mailto; images may be the
// message's own parts, data: raster images, and (images) http or https.
// Relative URLs never: they would resolve against the front's origin.
func safeURL(v string, img, images bool) bool {
	u, err := url.Parse(v)
	if err != nil || strings.ContainsAny(v, "\x00\t\r\n\\") {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		// "http:/x" has no host: a browser resolves it against the
		// document's own URL (WHATWG URL, special-relative), a relative
		// URL in disguise.
		if u.Host == "" || u.Opaque != "" || strings.HasPrefix(u.Host, ".") {
			return false
		}
		return !img || images
	case "mailto":
		return !img
	case "part":
		return img && partURL.MatchString(v)
	case "data":
		if !img || !dataImage.MatchString(v) {
			return false
		}
		_, err := base64.StdEncoding.DecodeString(v[strings.IndexByte(v, ',')+1:])
		return err == nil
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func hasAttr(attrs []html.Attribute, key string) bool {
	for _, a := range attrs {
		if a.Key == key {
			return true
		}
	}
	return false
}

// wrap makes the body a document with its own policy: no script, no
// request but the message's images, no referrer.
func wrap(body string, images bool) string {
	csp := FrameCSP
	if images {
		csp = FrameCSPImages
	}
	return `<!DOCTYPE html><html><head><meta charset="utf-8">` +
		`<meta http-equiv="Content-Security-Policy" content="` + csp + `">` +
		`<meta name="referrer" content="no-referrer"></head><body>` + body + `</body></html>`
}

// tokenText is the text of HTML the parser refuses: text tokens outside
// elements whose content is not shown, read by the tokenizer, which has
// no depth to exceed.
func tokenText(src string) string {
	z := html.NewTokenizer(strings.NewReader(src))
	var b strings.Builder
	skip := 0
	for b.Len() < MaxTextBytes {
		switch z.Next() {
		case html.ErrorToken:
			return cleanText(b.String())
		case html.StartTagToken:
			if name, _ := z.TagName(); skipContent[string(name)] {
				skip++
			}
		case html.EndTagToken:
			if name, _ := z.TagName(); skipContent[string(name)] && skip > 0 {
				skip--
			}
		case html.TextToken:
			if skip == 0 {
				b.Write(z.Text())
			}
		}
	}
	return cleanText(b.String())
}
