package address

import (
	"fmt"
	"strings"
)

// Options say which degenerate paths the command accepts.
type Options struct {
	// AllowNull accepts the null reverse-path "<>" (MAIL FROM, RFC 5321
	// 4.5.5).
	AllowNull bool
	// AllowNoDomain accepts a mailbox without '@' (RCPT TO:<postmaster>,
	// RFC 5321 4.5.1). Domain is then "" and the caller appends
	// envnoathost, as qmail-send does.
	AllowNoDomain bool
}

// ParsePath parses the text after "MAIL FROM:" or "RCPT TO:" and returns
// the address and the raw ESMTP parameter text that followed the path
// (trimmed; "" if none). The parameters are only checked for bad bytes;
// their syntax is the caller's business.
//
// Accepted shapes, after optional spaces: "<>", "<" [source-route ":"]
// mailbox ">", or a bare mailbox ending at the first space (RFC 821-era
// clients; qmail-smtpd accepts them too). The path is followed by nothing
// or by spaces and parameters.
func ParsePath(arg string, opts Options) (Addr, string, error) {
	if len(arg) > MaxArgLen {
		return Addr{}, "", fmt.Errorf("%w: argument is %d bytes, limit %d", ErrTooLong, len(arg), MaxArgLen)
	}
	// No SMTPUTF8 yet, and no controls anywhere: after this check every
	// byte is printable ASCII or space, which is what RFC 5321 4.1.2 allows
	// even inside a Quoted-string.
	for i := 0; i < len(arg); i++ {
		if c := arg[i]; c < ' ' || c > '~' {
			return Addr{}, "", fmt.Errorf("%w: byte 0x%02x at offset %d", ErrBadChar, c, i)
		}
	}
	s := strings.TrimLeft(arg, " ")
	var (
		m    rawMailbox
		rest string
		null bool
	)
	switch {
	case s == "":
		return Addr{}, "", fmt.Errorf("%w: no address", ErrSyntax)
	case strings.HasPrefix(s, "<>"):
		null, rest = true, s[2:]
	case s[0] == '<':
		body, err := stripSourceRoute(s[1:])
		if err != nil {
			return Addr{}, "", err
		}
		var end int
		m, end, err = scanMailbox(body, inBrackets)
		if err != nil {
			return Addr{}, "", err
		}
		rest = body[end+1:] // body[end] is the closing '>'
	default:
		var end int
		var err error
		m, end, err = scanMailbox(s, bare)
		if err != nil {
			return Addr{}, "", err
		}
		rest = s[end:]
		// "RCPT TO:Joe <joe@example.com>": qmail takes the bracketed
		// address, we would take "Joe". Refuse rather than pick a reading.
		if strings.IndexByte(rest, '<') >= 0 {
			return Addr{}, "", fmt.Errorf("%w: '<' after an address without brackets", ErrSyntax)
		}
	}
	params, err := splitParams(rest)
	if err != nil {
		return Addr{}, "", err
	}
	if null {
		if !opts.AllowNull {
			return Addr{}, "", fmt.Errorf("%w here", ErrNull)
		}
		return Addr{}, params, nil
	}
	a, err := m.canonical(opts)
	if err != nil {
		return Addr{}, "", err
	}
	return a, params, nil
}

// splitParams checks what follows the path: nothing, or at least one space
// and then the ESMTP parameters (RFC 5321 4.1.2 Mail-parameters).
func splitParams(rest string) (string, error) {
	if rest == "" {
		return "", nil
	}
	if rest[0] != ' ' {
		return "", fmt.Errorf("%w: %q right after the address", ErrSyntax, rest[0])
	}
	return strings.Trim(rest, " "), nil
}

// stripSourceRoute removes an RFC 5321 4.1.2 A-d-l ("@a,@b:") from the
// start of s, the text after '<'. RFC 5321 4.1.1.3 and appendix C say to
// ignore it; we only check it loosely so that it cannot hide the mailbox.
// Text starting with '@' that is not a route is an empty local part.
func stripSourceRoute(s string) (string, error) {
	if s == "" || s[0] != '@' {
		return s, nil
	}
	if i := strings.IndexAny(s, ":>"); i < 0 || s[i] == '>' {
		return "", fmt.Errorf("%w: empty local part", ErrSyntax)
	}
	i := 0
	for {
		i++ // skip '@'
		n := routeDomainLen(s[i:])
		if n == 0 {
			return "", fmt.Errorf("%w: malformed source route", ErrSyntax)
		}
		i += n
		switch {
		case i < len(s) && s[i] == ':':
			return s[i+1:], nil
		case i+1 < len(s) && s[i] == ',' && s[i+1] == '@':
			i++
		default:
			return "", fmt.Errorf("%w: malformed source route", ErrSyntax)
		}
	}
}

// routeDomainLen returns the length of the route domain at the start of s:
// a bracketed literal without brackets or backslashes inside (dcontent), or
// letters, digits, '-', '.' and '_'. Since the route is discarded, being
// loose here costs nothing.
func routeDomainLen(s string) int {
	if s != "" && s[0] == '[' {
		for i := 1; i < len(s); i++ {
			switch s[i] {
			case ']':
				if i == 1 {
					return 0
				}
				return i + 1
			case '[', '\\', ' ':
				return 0
			}
		}
		return 0
	}
	i := 0
	for i < len(s) {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			break
		}
		i++
	}
	return i
}
