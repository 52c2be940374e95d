package mailstore

import (
	"bufio"
	"bytes"
	"io"
	"mime"
	"net/mail"
	"net/textproto"
	"os"
	"strconv"
	"strings"
)

// maxHeadRead bounds what the listing reads of a message: the header
// block, which is all it needs, is rarely over a few kilobytes; a
// hostile one is cut at 64 KB (and then read as far as it went).
const maxHeadRead = 64 << 10

// maxToCc bounds the To and Cc text kept for search in the index: a
// message to a thousand recipients does not bloat the index.
const maxToCc = 1024

// maxShown bounds From and Subject as listed.
const maxShown = 512

// decoder decodes RFC 2047 encoded words. Go's own decoder knows UTF-8,
// ISO-8859-1 and US-ASCII; a word in another charset stays as it is
// (the message view, internal/mimeview, does the full job).
var decoder = mime.WordDecoder{}

// parseHead reads the header block of the message file f and fills e's
// date, from, subject, to/cc and attachment guess. size and mtime are
// the file's; the date is the Date header's, else mtime.
func parseHead(f *os.File, mtime int64, e *Entry) {
	head := readHead(f)
	e.Date = mtime
	hdr, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(head))).ReadMIMEHeader()
	if err != nil && len(hdr) == 0 {
		return
	}
	if d, err := mail.ParseDate(hdr.Get("Date")); err == nil {
		e.Date = d.Unix()
	}
	e.From = clip(decodeHeader(hdr.Get("From")), maxShown)
	e.Subject = clip(decodeHeader(hdr.Get("Subject")), maxShown)
	e.ToCc = clip(decodeHeader(strings.Join(append(hdr.Values("To"), hdr.Values("Cc")...), ", ")), maxToCc)
	e.Attach = hasAttachment(hdr)
}

// readHead returns the message's header block (up to the empty line) or
// its first maxHeadRead bytes.
func readHead(r io.Reader) []byte {
	buf := make([]byte, 0, 4096)
	for len(buf) < maxHeadRead {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):min(cap(buf), maxHeadRead)])
		buf = buf[:len(buf)+n]
		if i := headEnd(buf); i >= 0 {
			return buf[:i]
		}
		if err != nil {
			break
		}
	}
	// No end of header within the bound: textproto wants an end.
	return append(buf, "\r\n\r\n"...)
}

// headEnd returns where the header block ends, including the empty line,
// or -1.
func headEnd(b []byte) int {
	if bytes.HasPrefix(b, []byte("\n")) || bytes.HasPrefix(b, []byte("\r\n")) {
		return 0
	}
	i := bytes.Index(b, []byte("\n\n"))
	j := bytes.Index(b, []byte("\n\r\n"))
	switch {
	case i >= 0 && (j < 0 || i < j):
		return i + 2
	case j >= 0:
		return j + 3
	}
	return -1
}

// hasAttachment guesses from the header block alone: a multipart/mixed
// message (what mail clients send attachments in) or a message that is
// itself an attachment. A multipart/alternative text+HTML mail is not.
func hasAttachment(hdr textproto.MIMEHeader) bool {
	ct, _, _ := mime.ParseMediaType(hdr.Get("Content-Type"))
	if ct == "multipart/mixed" {
		return true
	}
	cd, _, _ := mime.ParseMediaType(hdr.Get("Content-Disposition"))
	return cd == "attachment"
}

func decodeHeader(v string) string {
	if d, err := decoder.DecodeHeader(v); err == nil {
		v = d
	}
	return strings.Join(strings.Fields(v), " ")
}

// clip cuts s at n bytes without splitting a UTF-8 sequence.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n]
}

// sizeOf returns the size from a file name's ",S=" field (Maildir++, as
// Courier and Dovecot write it, and goqmail's deliveries), or -1.
func sizeOf(name string) int64 {
	base := name
	if i := strings.Index(base, ":2,"); i >= 0 {
		base = base[:i]
	}
	for _, f := range strings.Split(base, ",")[1:] {
		if v, ok := strings.CutPrefix(f, "S="); ok {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
				return n
			}
		}
	}
	return -1
}
