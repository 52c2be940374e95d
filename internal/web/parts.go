package web

import (
	"encoding/base64"
	"mime"
	"net/http"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"goqmail/internal/webrpc"
)

// The message frame's CSP: no script, no fetch, no form, no plugin; images
// only inline (data:, the message's own cid: parts, put in by the front)
// and, when the user asked, from https: servers; inline styles, since mail
// HTML is styled that way. sandbox repeats the iframe's attribute, so the
// document is sandboxed even when opened outside the frame.
const (
	frameCSP       = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; form-action 'none'; frame-ancestors 'self'; base-uri 'none'; sandbox allow-popups allow-popups-to-escape-sandbox"
	frameCSPImages = "default-src 'none'; img-src data: https:; style-src 'unsafe-inline'; form-action 'none'; frame-ancestors 'self'; base-uri 'none'; sandbox allow-popups allow-popups-to-escape-sandbox"
)

// downloadCSP is for attachments and raw messages: should a browser render
// one after all, it may do nothing.
const downloadCSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; sandbox"

// maxInlineImages bounds the bytes of cid: images put into one frame.
const maxInlineImages = 8 << 20

// maxFrameParts bounds the parts one frame asks the session for; each is
// asked once however often the HTML names it. A sender may name an image
// thousands of times, and every part call parses the message file again
// and sends the part's bytes (found in the security review of issue 15).
const maxFrameParts = 64

// partRef finds the session's "part:<id>" image URLs in the sanitized HTML
// (in a src attribute, quoted).
var partRef = regexp.MustCompile(`(?i)(\ssrc\s*=\s*["'])part:([A-Za-z0-9._-]{1,64})(["'])`)

// messageFrame serves the sanitized HTML of a message for the sandboxed
// iframe. The frame's document has an opaque origin (sandbox without
// allow-same-origin), so the browser would send it no SameSite=Strict
// cookie for an image URL of the front: the cid: images are therefore put
// into the document as data: URLs, fetched here through the session.
func (s *Server) messageFrame(c *reqCtx) {
	q := c.r.URL.Query()
	folder, id := q.Get("f"), q.Get("id")
	images := "0"
	if q.Get("images") == "1" {
		images = "1"
	}
	resp := c.call(c.s.mbox, opMessage, folder, id, images)
	if resp == nil {
		return
	}
	var doc string
	found := false
	for _, r := range resp.Rows {
		if len(r) >= 2 && r[0] == "html" {
			doc, found = r[1], true
			break
		}
	}
	if !found {
		c.fail(http.StatusNotFound, "Not found", "This message has no HTML text.")
		return
	}
	budget := maxInlineImages
	var broken bool
	fetched := map[string]*partData{} // by part id; nil: not an image to show
	doc = partRef.ReplaceAllStringFunc(doc, func(m string) string {
		sm := partRef.FindStringSubmatch(m)
		if broken {
			return sm[1] + sm[3]
		}
		pr, seen := fetched[sm[2]]
		if !seen {
			if len(fetched) >= maxFrameParts {
				return sm[1] + sm[3]
			}
			var err error
			pr, err = c.fetchPart(folder, id, sm[2])
			if err != nil {
				broken = true
				return sm[1] + sm[3]
			}
			if pr != nil && !safeImage(pr.typ) {
				pr = nil
			}
			fetched[sm[2]] = pr
		}
		if pr == nil || len(pr.data) > budget {
			return sm[1] + sm[3]
		}
		budget -= len(pr.data) // every copy counts: the document's size
		return sm[1] + "data:" + pr.typ + ";base64," + base64.StdEncoding.EncodeToString(pr.data) + sm[3]
	})
	if broken {
		return // the session ended; the browser was sent to the login page
	}
	// With its images the document may be ~11 MB, held until the browser
	// has read it: counted as a large download (server.go).
	busy, release := c.bigDownloadBusy(len(doc))
	if busy {
		return
	}
	defer release()
	h := c.w.Header()
	if images == "1" {
		h.Set("Content-Security-Policy", frameCSPImages)
	} else {
		h.Set("Content-Security-Policy", frameCSP)
	}
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Content-Type", "text/html; charset=utf-8")
	c.w.Write([]byte(doc))
}

type partData struct {
	typ, name string
	data      []byte
}

// fetchPart fetches a part without answering the browser for a refusal
// (nil, nil); a broken session is answered (redirect) and returned as an
// error.
func (c *reqCtx) fetchPart(folder, id, part string) (*partData, error) {
	resp, err := c.s.mbox.Call(c.callContext(), &webrpc.Request{Op: opPart, Args: []string{folder, id, part}})
	if err != nil {
		c.ended(err)
		return nil, err
	}
	if resp.Status != webrpc.OK {
		return nil, nil
	}
	return partOf(resp.Rows, resp.Blob), nil
}

func partOf(rows [][]string, blob []byte) *partData {
	p := &partData{data: blob}
	for _, r := range rows {
		if len(r) < 2 {
			continue
		}
		switch r[0] {
		case "type":
			p.typ = r[1]
		case "name":
			p.name = r[1]
		}
	}
	return p
}

// safeImage says whether a part may be shown inline as an image: raster
// formats only (an SVG is a document that can hold script).
func safeImage(typ string) bool {
	mt, _, err := mime.ParseMediaType(typ)
	if err != nil {
		return false
	}
	switch mt {
	case "image/png", "image/gif", "image/jpeg", "image/webp":
		return true
	}
	return false
}

// part serves an attachment: always as a download
// (Content-Disposition: attachment, application/octet-stream) unless it is
// a raster image asked for inline; either way under a CSP that lets it do
// nothing, and nosniff.
func (s *Server) part(c *reqCtx) {
	q := c.r.URL.Query()
	resp := c.call(c.s.mbox, opPart, q.Get("f"), q.Get("id"), q.Get("p"))
	if resp == nil {
		return
	}
	p := partOf(resp.Rows, resp.Blob)
	busy, release := c.bigDownloadBusy(len(p.data))
	if busy {
		return
	}
	defer release()
	h := c.w.Header()
	h.Set("Content-Security-Policy", downloadCSP)
	if q.Get("inline") == "1" && safeImage(p.typ) {
		mt, _, _ := mime.ParseMediaType(p.typ)
		h.Set("Content-Type", mt)
		h.Set("Content-Disposition", disposition("inline", p.name, "image"))
	} else {
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Disposition", disposition("attachment", p.name, "attachment"))
	}
	c.w.Write(p.data)
}

// raw serves the message file as stored, as a download.
func (s *Server) raw(c *reqCtx) {
	q := c.r.URL.Query()
	resp := c.call(c.s.mbox, opRaw, q.Get("f"), q.Get("id"))
	if resp == nil {
		return
	}
	busy, release := c.bigDownloadBusy(len(resp.Blob))
	if busy {
		return
	}
	defer release()
	h := c.w.Header()
	h.Set("Content-Security-Policy", downloadCSP)
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", disposition("attachment", "message.eml", "message.eml"))
	c.w.Write(resp.Blob)
}

// safeFileName makes a hostile file name harmless as a download name: no
// control or format characters, no path separators, no leading dots
// (hidden files, ".."), no trailing dots or spaces (Windows), at most 150
// characters, never empty.
func safeFileName(name, fallback string) string {
	var b strings.Builder
	n := 0
	for _, r := range name {
		if n >= 150 {
			break
		}
		switch {
		case r == utf8.RuneError, unicode.IsControl(r), unicode.Is(unicode.Cf, r):
			continue
		case r == '/', r == '\\', r == ':', r == '*', r == '?', r == '"', r == '<', r == '>', r == '|':
			r = '_'
		}
		b.WriteRune(r)
		n++
	}
	out := strings.TrimLeft(strings.TrimSpace(b.String()), ".")
	out = strings.TrimRight(out, ". ")
	if out == "" {
		return fallback
	}
	return out
}

// disposition builds a Content-Disposition value; mime.FormatMediaType
// quotes the name or uses RFC 2231 encoding for non-ASCII. A non-ASCII name
// also gets a plain filename= before its filename*=, an ASCII stand-in with
// "_" for each other character, as RFC 6266 section 4.3 recommends for
// clients that do not know filename*; those that do take filename*.
func disposition(kind, name, fallback string) string {
	safe := safeFileName(name, fallback)
	v := mime.FormatMediaType(kind, map[string]string{"filename": safe})
	if v == "" {
		return kind + `; filename="` + fallback + `"`
	}
	if ascii := asciiStandIn(safe); ascii != safe {
		v = kind + `; filename="` + ascii + `"; ` + strings.TrimPrefix(v, kind+"; ")
	}
	return v
}

// asciiStandIn replaces every character outside printable ASCII by "_"
// (safeFileName has removed quotes and backslashes already).
func asciiStandIn(name string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '_'
		}
		return r
	}, name)
}
