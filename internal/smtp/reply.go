package smtp

import (
	"strconv"
	"strings"
)

// Reply is one SMTP reply: basic code, enhanced status code (RFC 3463, ""
// for none) and text.
//
// Text may contain '\n' for a multi-line reply (RFC 5321 4.2.1); every line
// gets the code and, if set, the enhanced code, as RFC 2034 section 4
// requires. Code must be a three-digit reply code; it is not checked.
type Reply struct {
	Code int
	Enh  string
	Text string
}

// String returns the wire form, each line CRLF-terminated, for example
// "250-2.0.0 a\r\n250 2.0.0 b\r\n".
func (r Reply) String() string {
	return string(r.AppendTo(make([]byte, 0, len(r.Text)+16)))
}

// AppendTo appends the wire form of r to b and returns the extended slice.
//
// A single trailing '\n' in Text is ignored, so "ok\n" is one line. A CR
// before a '\n' is dropped and any other CR or LF (also in Enh) becomes a
// space: a reply must never contain a bare line end that a client could
// read as the start of another reply. An empty last line is sent as the
// bare code ("250" or "250 2.0.0"), since RFC 5321 4.2 allows the text to
// be omitted but not an empty text after the space.
func (r Reply) AppendTo(b []byte) []byte {
	text := strings.TrimSuffix(r.Text, "\n")
	for {
		line, rest, more := strings.Cut(text, "\n")
		line = strings.TrimSuffix(line, "\r")
		b = strconv.AppendInt(b, int64(r.Code), 10)
		switch {
		case more:
			b = append(b, '-')
		case r.Enh != "" || line != "":
			b = append(b, ' ')
		}
		if r.Enh != "" {
			b = appendReplyText(b, r.Enh)
			if line != "" {
				b = append(b, ' ')
			}
		}
		b = appendReplyText(b, line)
		b = append(b, '\r', '\n')
		if !more {
			return b
		}
		text = rest
	}
}

// appendReplyText appends s with CR and LF replaced by spaces.
func appendReplyText(b []byte, s string) []byte {
	for {
		i := strings.IndexAny(s, "\r\n")
		if i < 0 {
			return append(b, s...)
		}
		b = append(b, s[:i]...)
		b = append(b, ' ')
		s = s[i+1:]
	}
}

// Temporary reports a 4xx reply: the client should try again later.
func (r Reply) Temporary() bool { return r.Code >= 400 && r.Code < 500 }

// Permanent reports a 5xx reply: the client must not repeat the command
// unchanged.
func (r Reply) Permanent() bool { return r.Code >= 500 && r.Code < 600 }
