package address

import (
	"fmt"
	"strings"
)

// scanMode says where a mailbox ends.
type scanMode int

const (
	inBrackets scanMode = iota // RFC 5321 Path: at the closing '>'
	bare                       // RFC 821-era "MAIL FROM:a@b": at a space or the end
)

func (m scanMode) isEnd(c byte) bool {
	if m == inBrackets {
		return c == '>'
	}
	return c == ' '
}

// rawMailbox is a scanned mailbox before policy and domain checks.
type rawMailbox struct {
	local  string // unquoted, unescaped
	domain string // raw text after the '@'
	hasAt  bool
}

// scanMailbox reads an RFC 5321 4.1.2 Mailbox at the start of s and returns
// it with the index where it ended: the closing '>' in brackets, the space
// or len(s) when bare. The '@' that starts the domain is the only unquoted,
// unescaped '@'; a second one is refused rather than guessed at, since
// qmail (last '@') and other MTAs (first '@') would route it differently.
func scanMailbox(s string, mode scanMode) (rawMailbox, int, error) {
	var local strings.Builder
	var i int
	var err error
	if s != "" && s[0] == '"' {
		i, err = scanQuoted(s, &local)
		if err == nil && i < len(s) && s[i] != '@' && !mode.isEnd(s[i]) {
			err = fmt.Errorf("%w: %q after quoted local part", ErrSyntax, s[i])
		}
	} else {
		i, err = scanDotString(s, mode, &local)
	}
	if err != nil {
		return rawMailbox{}, 0, err
	}
	m := rawMailbox{local: local.String()}
	if i < len(s) && s[i] == '@' {
		m.hasAt = true
		start := i + 1
		for i = start; i < len(s) && !mode.isEnd(s[i]); i++ {
			switch s[i] {
			case '@':
				return rawMailbox{}, 0, fmt.Errorf("%w: more than one '@'", ErrSyntax)
			case '<', '>':
				return rawMailbox{}, 0, fmt.Errorf("%w: unbalanced angle brackets", ErrSyntax)
			case ' ':
				return rawMailbox{}, 0, fmt.Errorf("%w: space in domain", ErrSyntax)
			}
		}
		m.domain = s[start:i]
	}
	if mode == inBrackets && i >= len(s) {
		return rawMailbox{}, 0, fmt.Errorf("%w: missing '>'", ErrSyntax)
	}
	return m, i, nil
}

// scanDotString reads an unquoted local part into local and returns where
// it stopped ('@' or the end of the mailbox). It is lenient about dots
// (".a", "a.", "a..b" exist in the wild and stay inside the local part, so
// they cannot open a relay) and, like qmail's addrparse, takes a
// backslash-escaped byte literally: a\@b@c has local part "a@b".
func scanDotString(s string, mode scanMode, local *strings.Builder) (int, error) {
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == '@' || mode.isEnd(c):
			return i, nil
		case c == '\\':
			if i+1 >= len(s) {
				return 0, fmt.Errorf("%w: backslash at end of address", ErrSyntax)
			}
			local.WriteByte(s[i+1])
			i += 2
			continue
		case isAtext(c) || c == '.':
			local.WriteByte(c)
		case c == '<' || c == '>':
			return 0, fmt.Errorf("%w: unbalanced angle brackets", ErrSyntax)
		case c == '"':
			return 0, fmt.Errorf("%w: quote inside unquoted local part", ErrSyntax)
		default:
			return 0, fmt.Errorf("%w: %q in unquoted local part", ErrSyntax, c)
		}
		i++
	}
	return i, nil
}

// scanQuoted reads an RFC 5321 Quoted-string at the start of s (s[0] is
// '"'), writes its content without quotes and quoted-pair backslashes to
// local, and returns the index after the closing quote. ParsePath has
// already refused every byte outside printable ASCII and space, which is
// exactly qtextSMTP plus the quoted-pair range.
func scanQuoted(s string, local *strings.Builder) (int, error) {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '"':
			return i + 1, nil
		case '\\':
			if i+1 >= len(s) {
				return 0, fmt.Errorf("%w: backslash at end of address", ErrSyntax)
			}
			i++
		}
		local.WriteByte(s[i])
	}
	return 0, fmt.Errorf("%w: unterminated quoted string", ErrSyntax)
}

// canonical applies the length limits, the no-domain policy and the domain
// checks, and returns the Addr that is both relay-checked and queued.
func (m rawMailbox) canonical(opts Options) (Addr, error) {
	switch {
	case m.local == "":
		return Addr{}, fmt.Errorf("%w: empty local part", ErrSyntax)
	case len(m.local) > MaxLocalLen:
		return Addr{}, fmt.Errorf("%w: local part is %d bytes, limit %d", ErrTooLong, len(m.local), MaxLocalLen)
	}
	if !m.hasAt {
		if !opts.AllowNoDomain {
			return Addr{}, fmt.Errorf("%w here", ErrNoDomain)
		}
		// The internal form would then be split at this '@' (Split,
		// qmail-send), giving a domain the caller never saw.
		if strings.IndexByte(m.local, '@') >= 0 {
			return Addr{}, fmt.Errorf("%w: '@' in the local part of an address without domain", ErrSyntax)
		}
		return Addr{Local: m.local}, nil
	}
	domain, err := canonicalDomain(m.domain)
	if err != nil {
		return Addr{}, err
	}
	return Addr{Local: m.local, Domain: domain}, nil
}
