// Package mimeview turns a stored message into what the webmail shows:
// decoded headers, a text body, a sanitized HTML document, and the list
// of attachments with IMAP-style part ids ("1", "2.1", RFC 3501 6.4.5).
// It runs in the mailbox session (goqmail-webmbox, as the mailbox owner)
// on bytes anyone on the Internet could have written: every size, count
// and depth is bounded, broken MIME is shown as far as it can be, and no
// input makes it panic or allocate more than a small multiple of the
// message's size.
//
// Why written here and not github.com/emersion/go-message: that library
// streams (io.Reader per part) and is strict where a reader must be
// lenient. One header line without a colon makes its textproto reader
// fail the whole entity; an unknown charset or transfer encoding comes
// back as an error beside a half-usable entity; and where a part's bytes
// start and end, which part ids and downloads need, is hidden behind the
// stream. The message is already in memory (the session reads the file,
// capped at MaxMessage), so splitting it on boundaries is a short,
// linear loop over a byte slice; what is hard to get right is left to
// the standard library and golang.org/x: RFC 2047 words and RFC 2231
// parameters (mime), quoted-printable (mime/quotedprintable), charsets
// (x/text htmlindex), dates and addresses (net/mail). HTML sanitizing is
// a well-kept library's job: sanitize.go.
package mimeview

import (
	"bytes"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"
)

// Bounds. Each is far above what real mail uses and low enough that the
// worst message costs a bounded, small amount of work.
const (
	MaxMessage     = 64 << 20  // bytes of a message parsed; the rest is ignored (View.Truncated)
	MaxHeaderBytes = 256 << 10 // bytes of one header block read for fields
	MaxFields      = 1000      // header fields kept per entity
	MaxFieldBytes  = 64 << 10  // bytes of one unfolded field value
	MaxParts       = 500       // MIME entities per message
	MaxDepth       = 16        // multipart nesting
	MaxTextBytes   = 2 << 20   // bytes of text body shown, and of HTML source sanitized
)

// Field is one header field, its value decoded for display.
type Field struct {
	Name, Value string
}

// Part is one leaf entity of the message: an attachment, an inline
// image, or a text body.
type Part struct {
	ID        string // "1", "2.1", ...
	Type      string // lower-case media type, "text/plain"
	Name      string // file name made safe (SafeFileName), may be ""
	Size      int    // decoded bytes
	Inline    bool   // Content-Disposition inline, or no disposition with a Content-ID
	ContentID string // without the angle brackets

	charset string
	cte     string
	body    []byte // as encoded in the message
	disp    string
}

// ContentType is Type with the charset of a text part ("text/plain;
// charset=iso-8859-1"), for serving the part's bytes as they are.
func (p *Part) ContentType() string {
	if strings.HasPrefix(p.Type, "text/") && token(p.charset) {
		return p.Type + "; charset=" + strings.ToLower(p.charset)
	}
	return p.Type
}

// Data returns the part's decoded bytes (transfer encoding undone; the
// charset is left as it is, the Type's parameters no longer say it).
func (p *Part) Data() []byte { return decodeTransfer(p.body, p.cte) }

// View is a parsed message.
type View struct {
	Headers []Field // the top-level header, in order, decoded

	From, To, Cc, ReplyTo, Bcc, Subject string // decoded for display
	MessageID, InReplyTo, References    string // as written (ids are ASCII)
	// The address headers as written (unfolded), for ParseAddresses:
	// decoding first would let an encoded word add structure (a ":" or
	// "," in a display name) and so addresses.
	RawFrom, RawTo, RawCc, RawReplyTo, RawBcc string
	Date                                      time.Time

	Text         string // text/plain body, or text derived from the HTML body
	HTML         string // sanitized HTML document, "" when there is no HTML body
	RemoteImages bool   // remote images were removed from HTML
	Attachments  []Part // every leaf that is not the text or HTML body
	Truncated    bool   // a bound was hit: what is shown is not the whole message

	parts []*Part // every leaf, in order
	text  *Part
	html  *Part
}

// Options say how to show a message.
type Options struct {
	Images bool // keep remote images (http and https img src) in the HTML
	// MaxHTML, when not 0, bounds the sanitized document's bytes: a
	// longer one is made again from a shorter source (Truncated).
	MaxHTML int
	// Structure skips the bodies' decoding and sanitizing: headers and
	// parts only (serving one part).
	Structure bool
	// TextOnly skips sanitizing the HTML body: Text only (a reply's
	// quote).
	TextOnly bool
}

// Parse reads raw and never fails: what cannot be understood is shown as
// text or listed as an attachment.
func Parse(raw []byte, opt Options) *View {
	v := &View{}
	if len(raw) > MaxMessage {
		raw, v.Truncated = raw[:MaxMessage], true
	}
	p := &parser{v: v}
	hdr, body := splitHeader(raw)
	fields := p.fields(hdr)
	for _, f := range fields {
		v.Headers = append(v.Headers, Field{f.Name, decodeHeader(f.Value)})
	}
	v.From = decodeHeader(get(fields, "From"))
	v.To = decodeHeader(get(fields, "To"))
	v.Cc = decodeHeader(get(fields, "Cc"))
	v.Bcc = decodeHeader(get(fields, "Bcc"))
	v.ReplyTo = decodeHeader(get(fields, "Reply-To"))
	v.Subject = decodeHeader(get(fields, "Subject"))
	v.RawFrom, v.RawTo, v.RawCc = get(fields, "From"), get(fields, "To"), get(fields, "Cc")
	v.RawReplyTo, v.RawBcc = get(fields, "Reply-To"), get(fields, "Bcc")
	v.MessageID = msgIDs(get(fields, "Message-ID"))
	v.InReplyTo = msgIDs(get(fields, "In-Reply-To"))
	v.References = msgIDs(get(fields, "References"))
	if d, err := mail.ParseDate(strings.TrimSpace(get(fields, "Date"))); err == nil {
		v.Date = d
	}
	p.entity(fields, body, "", 0, "")

	for _, part := range v.parts {
		if part != v.text && part != v.html {
			v.Attachments = append(v.Attachments, *part)
		}
	}
	if opt.Structure {
		return v
	}
	if v.text != nil {
		v.Text = p.decodeText(v.text)
	}
	if v.html != nil {
		src := p.decodeText(v.html)
		if opt.TextOnly {
			if v.text == nil {
				v.Text = HTMLText(src)
			}
			return v
		}
		cids := map[string]string{}
		for _, part := range v.parts {
			if part.ContentID != "" {
				cids[strings.ToLower(part.ContentID)] = "part:" + part.ID // the front rewrites these
			}
		}
		v.HTML, v.RemoteImages = SanitizeHTML(src, cids, opt.Images)
		for opt.MaxHTML > 0 && len(v.HTML) > opt.MaxHTML && src != "" {
			// Cut the source to what should fit, with a margin for what
			// sanitizing adds; a cut tag or entity is the parser's to mend.
			n := len(src) * opt.MaxHTML / len(v.HTML) * 9 / 10
			if n >= len(src) {
				n = len(src) / 2
			}
			src, v.Truncated = truncUTF8(src, n), true
			v.HTML, v.RemoteImages = SanitizeHTML(src, cids, opt.Images)
		}
		if v.text == nil {
			v.Text = HTMLText(src)
		}
	}
	return v
}

// FindPart returns the leaf with part id id.
func (v *View) FindPart(id string) (*Part, bool) {
	for _, p := range v.parts {
		if p.ID == id {
			return p, true
		}
	}
	return nil, false
}

type parser struct {
	v     *View
	count int
}

func (p *parser) decodeText(part *Part) string {
	b := part.Data()
	if len(b) > MaxTextBytes {
		b, p.v.Truncated = b[:MaxTextBytes], true
	}
	return toUTF8(b, part.charset)
}

// entity walks one entity: a multipart's children get ids prefix.1,
// prefix.2, ...; a leaf is recorded. parent is the enclosing multipart
// subtype ("alternative", "mixed", ...).
func (p *parser) entity(fields []Field, body []byte, id string, depth int, parent string) {
	p.count++
	if p.count > MaxParts {
		p.v.Truncated = true
		return
	}
	ctype, params := contentType(get(fields, "Content-Type"))
	if strings.HasPrefix(ctype, "multipart/") && params["boundary"] != "" && depth < MaxDepth {
		children := splitMultipart(body, params["boundary"])
		for i, c := range children {
			if p.count >= MaxParts {
				p.v.Truncated = true
				return
			}
			hdr, cbody := splitHeader(c)
			cid := strconv.Itoa(i + 1)
			if id != "" {
				cid = id + "." + cid
			}
			p.entity(p.fields(hdr), cbody, cid, depth+1, strings.TrimPrefix(ctype, "multipart/"))
		}
		return
	}
	if strings.HasPrefix(ctype, "multipart/") {
		if depth >= MaxDepth {
			p.v.Truncated = true
		}
		ctype = "application/octet-stream" // no usable boundary: offer the bytes
	}
	if id == "" {
		id = "1"
	}
	disp, dparams := mediaType(get(fields, "Content-Disposition"))
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	part := &Part{
		ID:        id,
		Type:      ctype,
		Name:      SafeFileName(name),
		ContentID: contentID(get(fields, "Content-ID")),
		charset:   params["charset"],
		cte:       get(fields, "Content-Transfer-Encoding"),
		body:      body,
		disp:      disp,
	}
	part.Size = len(part.Data())
	part.Inline = disp == "inline" || (disp == "" && part.ContentID != "")
	p.v.parts = append(p.v.parts, part)
	if disp == "attachment" || part.Name != "" && disp != "inline" {
		return
	}
	switch ctype {
	case "text/plain":
		if p.v.text == nil {
			p.v.text = part
		}
	case "text/html":
		if p.v.html == nil {
			p.v.html = part
		}
	}
}

// splitHeader splits an entity at its first empty line. Without one the
// whole entity is header (RFC 5322 allows a message without a body).
func splitHeader(b []byte) (hdr, body []byte) {
	pos := 0
	for pos < len(b) {
		end := bytes.IndexByte(b[pos:], '\n')
		if end < 0 {
			return b, nil
		}
		line := bytes.TrimRight(b[pos:pos+end], "\r")
		if len(line) == 0 {
			return b[:pos], b[pos+end+1:]
		}
		pos += end + 1
	}
	return b, nil
}

// splitMultipart returns a multipart body's parts (RFC 2046 5.1.1): the
// text between delimiter lines "--boundary", up to "--boundary--". The
// preamble and epilogue are dropped; a missing close delimiter keeps the
// last part (a truncated message shows what arrived).
func splitMultipart(body []byte, boundary string) [][]byte {
	delim := []byte("--" + boundary)
	var parts [][]byte
	cur, pos := -1, 0
	for pos < len(body) && len(parts) < MaxParts {
		i := bytes.Index(body[pos:], delim)
		if i < 0 {
			break
		}
		i += pos
		after := i + len(delim)
		pos = after
		if i > 0 && body[i-1] != '\n' {
			continue
		}
		closing := bytes.HasPrefix(body[after:], []byte("--"))
		rest := body[after:]
		if closing {
			rest = rest[2:]
		}
		eol := bytes.IndexByte(rest, '\n')
		tail := rest
		if eol >= 0 {
			tail = rest[:eol]
		}
		if len(bytes.Trim(tail, " \t\r")) != 0 {
			continue // "--boundaryX": another, longer boundary
		}
		if cur >= 0 {
			end := i
			if end > cur && body[end-1] == '\n' {
				end--
				if end > cur && body[end-1] == '\r' {
					end--
				}
			}
			parts = append(parts, body[cur:max(cur, end)])
		}
		if closing {
			return parts
		}
		if eol < 0 {
			return parts
		}
		cur = len(body) - len(rest) + eol + 1
		pos = cur
	}
	if cur >= 0 && len(parts) < MaxParts {
		parts = append(parts, body[cur:])
	}
	return parts
}

// String is a one-line summary for logs and test failures.
func (p Part) String() string {
	return fmt.Sprintf("%s %s %q %d inline=%v cid=%q", p.ID, p.Type, p.Name, p.Size, p.Inline, p.ContentID)
}
