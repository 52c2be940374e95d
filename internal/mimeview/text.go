package mimeview

import (
	"regexp"
	"strings"

	"golang.org/x/net/html"
)

// HTMLText derives a plain text body from HTML: the text a reader sees,
// block elements on lines of their own, links followed by their target
// in angle brackets, nothing from head, script, style or other
// invisible elements. It is what list, search and reply quote use when a
// message has no text/plain part.
func HTMLText(src string) string {
	tree, err := html.Parse(strings.NewReader(src))
	if err != nil {
		return strings.TrimSpace(spaces.ReplaceAllString(tokenText(src), " "))
	}
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if b.Len() > MaxTextBytes {
			return
		}
		switch n.Type {
		case html.TextNode:
			b.WriteString(spaces.ReplaceAllString(n.Data, " "))
			return
		case html.ElementNode:
			if skipContent[n.Data] {
				return
			}
			switch n.Data {
			case "br":
				b.WriteString("\n")
				return
			case "img":
				if alt := attr(n, "alt"); alt != "" {
					b.WriteString("[" + alt + "]")
				}
				return
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
		if n.Type != html.ElementNode {
			return
		}
		switch n.Data {
		case "a":
			if h := attr(n, "href"); strings.HasPrefix(h, "http") || strings.HasPrefix(h, "mailto:") {
				b.WriteString(" <" + h + ">")
			}
		case "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "ul", "ol", "hr", "dt", "dd", "section", "article", "header", "footer":
			b.WriteString("\n")
		case "td", "th":
			b.WriteString("\t")
		}
	}
	walk(tree)
	lines := strings.Split(b.String(), "\n")
	var out []string
	blank := 0
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" {
			blank++
			if blank > 1 || len(out) == 0 {
				continue
			}
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	return cleanText(strings.TrimSpace(strings.Join(out, "\n")))
}

var spaces = regexp.MustCompile(`[ \t\r\n\f]+`)

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}
