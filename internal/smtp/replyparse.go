package smtp

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// ErrBadReply is a reply text from an outside program (a milter, a
// qmail-spp plugin) that is not a well-formed SMTP reply.
var ErrBadReply = errors.New("not an SMTP reply")

// Bounds on a reply taken from an outside program: RFC 5321 4.5.3.1.5
// allows 512 bytes per reply line; a long list of lines is no answer.
const (
	maxParsedLine  = 512
	maxParsedLines = 32
)

var (
	// enhLead is an RFC 3463 code at the start of a reply line's text.
	enhLead = regexp.MustCompile(`^([245])\.(\d{1,3})\.(\d{1,3})(?: |$)`)
	// enhTrail is qmail's way: "(#5.7.1)" at the end of the text.
	enhTrail = regexp.MustCompile(`\s*\(#([245])\.(\d{1,3})\.(\d{1,3})\)$`)
)

// ParseReply reads a reply written by another program, one or more lines
// "NNN-text" ... "NNN text" (CRLF or LF between them, no line end needed
// after the last), as a milter's SMFIR_REPLYCODE or a qmail-spp plugin's E
// line carries it. Every line must have the same code, 200 to 599, and
// printable ASCII text. The enhanced status code is taken from the start
// of the text ("5.7.1 go away", RFC 2034) or from qmail's "(#5.7.1)" at
// its end, and must have the code's class; without one it is X.0.0 (RFC
// 3463: other or undefined status).
func ParseReply(s string) (Reply, error) {
	s = strings.TrimRight(s, "\r\n")
	if s == "" {
		return Reply{}, fmt.Errorf("%w: empty", ErrBadReply)
	}
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	if len(lines) > maxParsedLines {
		return Reply{}, fmt.Errorf("%w: %d lines", ErrBadReply, len(lines))
	}
	var r Reply
	texts := make([]string, 0, len(lines))
	for i, l := range lines {
		if len(l) > maxParsedLine {
			return Reply{}, fmt.Errorf("%w: a line of %d bytes", ErrBadReply, len(l))
		}
		if len(l) < 3 {
			return Reply{}, fmt.Errorf("%w: %q has no code", ErrBadReply, l)
		}
		code, err := strconv.Atoi(l[:3])
		if err != nil || code < 200 || code > 599 || !isDigits(l[:3]) {
			return Reply{}, fmt.Errorf("%w: %q has no code", ErrBadReply, l)
		}
		if i == 0 {
			r.Code = code
		} else if code != r.Code {
			return Reply{}, fmt.Errorf("%w: codes %d and %d in one reply", ErrBadReply, r.Code, code)
		}
		last := i == len(lines)-1
		rest := l[3:]
		switch {
		case rest == "" && last:
		case rest != "" && rest[0] == '-' && !last, rest != "" && rest[0] == ' ' && last:
			rest = rest[1:]
		default:
			return Reply{}, fmt.Errorf("%w: %q: want %q before the last line and %q on it", ErrBadReply, l, "NNN-", "NNN ")
		}
		for j := 0; j < len(rest); j++ {
			if rest[j] < ' ' || rest[j] > '~' {
				return Reply{}, fmt.Errorf("%w: %q holds a control or non-ASCII byte", ErrBadReply, l)
			}
		}
		class := l[:1]
		if m := enhLead.FindStringSubmatch(rest); m != nil {
			if m[1] != class {
				return Reply{}, fmt.Errorf("%w: %q: enhanced code of another class", ErrBadReply, l)
			}
			r.Enh = m[1] + "." + m[2] + "." + m[3]
			rest = strings.TrimPrefix(rest[len(m[0]):], " ")
		} else if m := enhTrail.FindStringSubmatchIndex(rest); m != nil {
			if rest[m[2]:m[3]] != class {
				return Reply{}, fmt.Errorf("%w: %q: enhanced code of another class", ErrBadReply, l)
			}
			r.Enh = rest[m[2]:m[3]] + "." + rest[m[4]:m[5]] + "." + rest[m[6]:m[7]]
			rest = rest[:m[0]]
		}
		texts = append(texts, rest)
	}
	if r.Enh == "" {
		r.Enh = strconv.Itoa(r.Code/100) + ".0.0"
	}
	r.Text = strings.Join(texts, "\n")
	return r, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
