package remote

import (
	"bufio"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds on what a peer can make us read or keep. RFC 5321 4.5.3.1.5
// limits a reply line to 512 octets; we allow twice that and a little
// more, and cap a whole (multi-line) reply so a peer that never ends one
// costs bounded memory. Time is bounded separately: one deadline per
// reply, not per read, so dripping bytes does not extend it.
const (
	maxReplyLine  = 1000     // bytes, CRLF included
	maxReplyBytes = 64 << 10 // one reply, all lines
	maxReportText = 1500     // remote text kept in a delivery report
)

// errProtocol marks a peer that broke the SMTP grammar or sequencing.
var errProtocol = errors.New("SMTP protocol violation")

// Reply is one SMTP reply (RFC 5321 4.2): a three-digit code and one or
// more lines of text.
type Reply struct {
	Code  int
	Lines []string // text after "ddd-" / "ddd ", raw bytes without the line end
}

// Class returns the first digit of the code: 2, 3, 4 or 5.
func (r Reply) Class() int { return r.Code / 100 }

// String renders the reply for a report the way qmail shows it, every
// line with its code, lines joined by "/", cleaned and capped.
func (r Reply) String() string {
	var b strings.Builder
	for i, l := range r.Lines {
		if i > 0 {
			b.WriteByte('/')
		}
		sep := " "
		if i < len(r.Lines)-1 {
			sep = "-"
		}
		fmt.Fprintf(&b, "%03d%s%s", r.Code, sep, l)
		if b.Len() > maxReportText {
			break
		}
	}
	return cleanText(b.String(), maxReportText)
}

// readReply reads one reply. Line ends may be CRLF or a bare LF (Postfix's
// client accepts both); a CR elsewhere or a NUL is kept in the text and
// cleaned when the text is reported. Anything that is not a reply (no
// code, code outside 200-599, a continuation with a different code, a
// line over maxReplyLine, more than maxReplyBytes) is errProtocol; I/O
// errors (timeout, EOF) are returned wrapped as they are.
func readReply(br *bufio.Reader) (Reply, error) {
	var r Reply
	total := 0
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) || len(line) > maxReplyLine {
			return r, fmt.Errorf("%w: reply line longer than %d bytes", errProtocol, maxReplyLine)
		}
		if err != nil {
			return r, fmt.Errorf("read reply: %w", err)
		}
		total += len(line)
		if total > maxReplyBytes {
			return r, fmt.Errorf("%w: reply longer than %d bytes", errProtocol, maxReplyBytes)
		}
		line = line[:len(line)-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		code, last, text, ok := parseReplyLine(line)
		if !ok {
			return r, fmt.Errorf("%w: malformed reply line %q", errProtocol, cleanText(string(line), 80))
		}
		if r.Lines != nil && code != r.Code {
			return r, fmt.Errorf("%w: reply code changed from %d to %d inside one reply", errProtocol, r.Code, code)
		}
		r.Code = code
		r.Lines = append(r.Lines, string(text))
		if last {
			return r, nil
		}
	}
}

// parseReplyLine splits "ddd text", "ddd-text" or "ddd". The first digit
// must be 2-5 (RFC 5321 4.2.1; 1yz is never used by SMTP), the others any
// digit.
func parseReplyLine(line []byte) (code int, last bool, text []byte, ok bool) {
	if len(line) < 3 || line[0] < '2' || line[0] > '5' || !isDigit(line[1]) || !isDigit(line[2]) {
		return 0, false, nil, false
	}
	code = int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
	switch {
	case len(line) == 3:
		return code, true, nil, true
	case line[3] == ' ':
		return code, true, line[4:], true
	case line[3] == '-':
		return code, false, line[4:], true
	}
	return 0, false, nil, false
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// cleanText makes peer-supplied text safe for a report, a bounce and a log
// line: invalid UTF-8 and every control character (C0, DEL, C1; so no CR,
// LF or NUL) become '?', and the result is cut to max bytes on a rune
// boundary.
func cleanText(s string, max int) string {
	var b strings.Builder
	b.Grow(min(len(s), max))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 || unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			r = '?'
		}
		if b.Len()+utf8.RuneLen(r) > max {
			break
		}
		b.WriteRune(r)
		i += size
	}
	return b.String()
}

// extensions are the EHLO keywords of a peer (RFC 5321 4.1.1.1), upper
// case, with their parameters. nil after a HELO fallback.
type extensions map[string]string

func parseEHLO(r Reply) extensions {
	ext := extensions{}
	for _, l := range r.Lines[1:] {
		kw, params, _ := strings.Cut(strings.TrimSpace(l), " ")
		kw = strings.ToUpper(kw)
		// Old servers wrote "AUTH=PLAIN LOGIN" (pre-RFC 2554 syntax).
		if rest, ok := strings.CutPrefix(kw, "AUTH="); ok {
			kw, params = "AUTH", strings.TrimSpace(rest+" "+params)
		}
		if kw != "" {
			ext[kw] = params
		}
	}
	return ext
}

func (e extensions) has(kw string) bool {
	_, ok := e[kw]
	return ok
}

// hasWord reports whether kw's parameters list word (AUTH mechanisms).
func (e extensions) hasWord(kw, word string) bool {
	for _, w := range strings.Fields(e[kw]) {
		if strings.EqualFold(w, word) {
			return true
		}
	}
	return false
}
