package webmbox

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"goqmail/internal/address"
	"goqmail/internal/webrpc"
)

// The message the webmail composes (send and draft): RFC 5322 with MIME
// (RFC 2045-2049), LF line ends as every message inside goqmail has them
// (the queue, Maildir; remote turns them into CRLF on the wire).

// composed is a send or draft request, checked.
type composed struct {
	from        *mail.Address
	to, cc, bcc []*mail.Address
	// rawTo, rawCc, rawBcc are what the user typed, for a draft that may
	// hold half-written addresses.
	rawTo, rawCc, rawBcc string
	subject, body        string
	inReplyTo, refs      string
	draftID              string
	origFolder, origID   string
	mode                 string
	keepAtts             []string
	files                []webrpc.File
}

// badRequest is an error whose text is for the user (Status Invalid).
type badRequest struct{ text string }

func (e badRequest) Error() string { return e.text }

func invalidCompose(format string, a ...any) error { return badRequest{fmt.Sprintf(format, a...)} }

// parseCompose reads the arguments of send and draft (ops.go). A draft
// may have no or unfinished recipients; a send needs valid ones.
func (s *Session) parseCompose(req *webrpc.Request, draft bool) (*composed, error) {
	c := &composed{
		rawTo: userLine(req.Arg(1)), rawCc: userLine(req.Arg(2)), rawBcc: userLine(req.Arg(3)),
		subject: userLine(req.Arg(4)), body: req.Arg(5),
		inReplyTo: msgIDs(req.Arg(6)), refs: msgIDs(req.Arg(7)),
		draftID: req.Arg(8), origFolder: req.Arg(9), origID: req.Arg(10), mode: req.Arg(11),
		files: req.Files,
	}
	// Each kept part once: "2,2,2,…" (64 kB of it fits a form) would
	// otherwise build a message of thousands of copies of the part in
	// memory before the size check (found in the security review of
	// issue 15).
	seenKeep := map[string]bool{}
	for _, p := range strings.Split(req.Arg(12), ",") {
		if p = strings.TrimSpace(p); p != "" && !seenKeep[p] {
			seenKeep[p] = true
			c.keepAtts = append(c.keepAtts, p)
		}
	}
	from, err := s.checkFrom(req.Arg(0))
	if err != nil {
		return nil, err
	}
	c.from = from
	for _, f := range []struct {
		name string
		raw  string
		out  *[]*mail.Address
	}{{"To", c.rawTo, &c.to}, {"Cc", c.rawCc, &c.cc}, {"Bcc", c.rawBcc, &c.bcc}} {
		list, err := parseAddrList(f.raw)
		if err != nil && !draft {
			return nil, invalidCompose("%s: %v", f.name, err)
		}
		*f.out = list
	}
	if !draft && len(c.to)+len(c.cc)+len(c.bcc) == 0 {
		return nil, invalidCompose("no recipients: give at least one address in To, Cc or Bcc")
	}
	return c, nil
}

// checkFrom accepts the session's address or one of Owns (compared
// ignoring case), with an optional display name; "" means the session's
// address. Anything else is Forbidden: the queue would sign it with the
// domain's DKIM key.
func (s *Session) checkFrom(arg string) (*mail.Address, error) {
	arg = strings.TrimSpace(userLine(arg))
	if arg == "" {
		arg = s.Address
	}
	a, err := mail.ParseAddress(arg)
	if err != nil {
		return nil, invalidCompose("From: %q is not an address: %v", arg, err)
	}
	for _, own := range append([]string{s.Address}, s.Owns...) {
		if own != "" && strings.EqualFold(own, a.Address) {
			a.Address = own
			return a, nil
		}
	}
	return nil, errForbiddenFrom{a.Address}
}

type errForbiddenFrom struct{ addr string }

func (e errForbiddenFrom) Error() string {
	return fmt.Sprintf("you may not send as %s: choose one of your own addresses", e.addr)
}

// parseAddrList parses a To/Cc/Bcc field as the user typed it (commas or
// semicolons between addresses, display names allowed) and checks each
// address with the SMTP grammar (internal/address): it must have a
// domain and be what RCPT TO would accept.
func parseAddrList(s string) ([]*mail.Address, error) {
	s = strings.TrimSpace(strings.ReplaceAll(s, ";", ","))
	if strings.Trim(s, ", ") == "" {
		return nil, nil
	}
	list, err := mail.ParseAddressList(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a list of addresses (%v); separate addresses with commas", s, err)
	}
	for _, a := range list {
		if _, _, err := address.ParsePath("<"+a.Address+">", address.Options{}); err != nil || !strings.Contains(a.Address, "@") {
			return nil, fmt.Errorf("%q is not a valid address: it needs a local part, @ and a domain", a.Address)
		}
	}
	return list, nil
}

// userLine makes a header value of user input: line breaks and other
// controls become spaces (no header injection), invalid UTF-8 is
// replaced.
func userLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// msgIDs keeps the "<...>" message ids of an In-Reply-To or References
// value (RFC 5322 3.6.4), dropping anything else, at most 50 of them.
func msgIDs(s string) string {
	var out []string
	for _, w := range strings.Fields(userLine(s)) {
		if len(w) > 2 && len(w) < 250 && w[0] == '<' && w[len(w)-1] == '>' &&
			strings.Count(w, "<") == 1 && strings.Count(w, ">") == 1 && asciiOnly(w) {
			out = append(out, w)
		}
	}
	if len(out) > 50 {
		out = append(out[:1], out[len(out)-49:]...) // RFC 5322: keep the first and the latest
	}
	return strings.Join(out, " ")
}

func asciiOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// outPart is one part to attach, decoded.
type outPart struct {
	name, ctype string
	data        []byte
}

// build writes the message. Bcc is written for drafts only: a sent message
// never shows its Bcc recipients (RFC 5322 3.6.3).
func (c *composed) build(now time.Time, atts []outPart, draft bool) []byte {
	var b bytes.Buffer
	_, domain, _ := strings.Cut(c.from.Address, "@")
	writeField(&b, "Date", now.Format(time.RFC1123Z))
	writeField(&b, "From", formatAddr(c.from))
	if draft {
		// A draft keeps Bcc (it is not sent) and what the user typed
		// when it is not yet a list of addresses.
		for _, f := range []struct {
			n, v string
			l    []*mail.Address
		}{{"To", c.rawTo, c.to}, {"Cc", c.rawCc, c.cc}, {"Bcc", c.rawBcc, c.bcc}} {
			switch {
			case len(f.l) > 0:
				writeField(&b, f.n, formatList(f.l))
			case strings.TrimSpace(f.v) != "":
				writeField(&b, f.n, encodeHeaderText(f.v))
			}
		}
	} else {
		if len(c.to) > 0 {
			writeField(&b, "To", formatList(c.to))
		}
		if len(c.cc) > 0 {
			writeField(&b, "Cc", formatList(c.cc))
		}
		if len(c.to)+len(c.cc) == 0 {
			// Only Bcc recipients: an empty group says so (RFC 5322
			// 3.6.3), as sendmail and most clients write it.
			writeField(&b, "To", "undisclosed-recipients:;")
		}
	}
	if c.subject != "" {
		writeField(&b, "Subject", encodeHeaderText(c.subject))
	}
	writeField(&b, "Message-ID", "<"+randomHex(12)+"."+fmt.Sprint(now.Unix())+"@"+domain+">")
	if c.inReplyTo != "" {
		writeField(&b, "In-Reply-To", c.inReplyTo)
	}
	if c.refs != "" {
		writeField(&b, "References", c.refs)
	}
	writeField(&b, "MIME-Version", "1.0")
	if len(atts) == 0 {
		textPart(&b, c.body)
		return b.Bytes()
	}
	boundary := "=_goqmail_" + randomHex(16)
	writeField(&b, "Content-Type", mime.FormatMediaType("multipart/mixed", map[string]string{"boundary": boundary}))
	b.WriteString("\nThis is a message in MIME format.\n")
	b.WriteString("\n--" + boundary + "\n")
	textPart(&b, c.body)
	for _, a := range atts {
		b.WriteString("\n--" + boundary + "\n")
		attachPart(&b, a)
	}
	b.WriteString("\n--" + boundary + "--\n")
	return b.Bytes()
}

// textPart writes a text/plain UTF-8 part's header and body: 7bit when it
// is ASCII with short lines, otherwise quoted-printable, which keeps
// every line under 77 characters (RFC 2045 6.7; SMTP's limit is 998).
func textPart(b *bytes.Buffer, body string) {
	body = strings.ToValidUTF8(body, "\uFFFD")
	body = strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\r", "\n")
	if body != "" && !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	plain := asciiOnly(body) && !strings.ContainsFunc(body, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' || r == 0x7f })
	for _, l := range strings.Split(body, "\n") {
		if len(l) > 76 {
			plain = false
		}
	}
	writeField(b, "Content-Type", "text/plain; charset=utf-8")
	if plain {
		writeField(b, "Content-Transfer-Encoding", "7bit")
		b.WriteString("\n" + body)
		return
	}
	writeField(b, "Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\n")
	var qp bytes.Buffer
	w := quotedprintable.NewWriter(&qp)
	w.Write([]byte(body))
	w.Close()
	b.Write(bytes.ReplaceAll(qp.Bytes(), []byte("\r\n"), []byte("\n")))
	if qp.Len() > 0 && !bytes.HasSuffix(b.Bytes(), []byte("\n")) {
		b.WriteString("\n")
	}
}

// attachPart writes one outPart as base64 (76-character lines, RFC
// 2045 6.8) with its file name in Content-Disposition (RFC 2183; RFC 2231
// encoding when it is not ASCII, which mime.FormatMediaType does).
func attachPart(b *bytes.Buffer, a outPart) {
	name := attachName(a.name)
	writeField(b, "Content-Type", mime.FormatMediaType(attachType(a.ctype), map[string]string{"name": name}))
	writeField(b, "Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	writeField(b, "Content-Transfer-Encoding", "base64")
	b.WriteString("\n")
	enc := base64.StdEncoding.EncodeToString(a.data)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\n")
		enc = enc[76:]
	}
	if enc != "" {
		b.WriteString(enc + "\n")
	}
}

// attachType is the browser's content type when it parses as type/subtype
// (parameters dropped: they were the browser's guess), else
// application/octet-stream.
func attachType(ct string) string {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || strings.Count(mt, "/") != 1 || strings.HasPrefix(mt, "multipart/") || strings.HasPrefix(mt, "message/") {
		return "application/octet-stream"
	}
	return mt
}

// attachName keeps the last path element of a browser's file name,
// without controls, quotes or a leading dot, at most 200 bytes of UTF-8.
func attachName(n string) string {
	n = strings.ToValidUTF8(n, "_")
	n = path.Base(strings.ReplaceAll(n, `\`, "/"))
	n = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' || r == '/' || r == '\\' {
			return '_'
		}
		return r
	}, n)
	n = strings.TrimLeft(strings.TrimSpace(n), ".")
	for len(n) > 200 {
		_, size := utf8.DecodeLastRuneInString(n)
		n = n[:len(n)-size]
	}
	if n == "" {
		return "attachment"
	}
	return n
}

// encodeHeaderText RFC 2047-encodes a header text that is not ASCII.
func encodeHeaderText(s string) string {
	if asciiOnly(s) {
		return s
	}
	return mime.QEncoding.Encode("utf-8", s)
}

func formatAddr(a *mail.Address) string {
	if a.Name == "" {
		return a.Address
	}
	return (&mail.Address{Name: a.Name, Address: a.Address}).String()
}

func formatList(l []*mail.Address) string {
	parts := make([]string, len(l))
	for i, a := range l {
		parts[i] = formatAddr(a)
	}
	return strings.Join(parts, ", ")
}

// header writes "Name: value", folded at spaces before 78 characters
// where it can be (RFC 5322 2.2.3); a value is already one line. A word
// longer than maxWord is cut, so that no line exceeds 998 characters
// (RFC 5322 2.1.1): unfolding then shows a space inside it.
func writeField(b *bytes.Buffer, name, value string) {
	const maxWord = 900
	var words []string
	for _, w := range strings.Split(value, " ") {
		for len(w) > maxWord {
			words, w = append(words, w[:maxWord]), w[maxWord:]
		}
		words = append(words, w)
	}
	line := name + ":"
	for _, w := range words {
		if len(line) > len(name)+1 && len(line)+1+len(w) > 78 {
			b.WriteString(line + "\n")
			line = ""
		}
		line += " " + w
	}
	b.WriteString(line + "\n")
}

func randomHex(n int) string {
	buf := make([]byte, n)
	rand.Read(buf)
	return hex.EncodeToString(buf)
}

// composeError maps a compose error to a response.
func composeError(err error) *webrpc.Response {
	var bad badRequest
	var forb errForbiddenFrom
	var cfg errConfig
	switch {
	case errors.As(err, &cfg):
		return webrpc.Errorf(webrpc.Failed, "%s", cfg.text)
	case errors.As(err, &bad):
		return webrpc.Errorf(webrpc.Invalid, "%s", bad.text)
	case errors.As(err, &forb):
		return webrpc.Errorf(webrpc.Forbidden, "%v", forb)
	}
	return storeError(err)
}
