package aliases

import (
	"errors"
	"fmt"
	"strings"
)

// Kind says how a Target is delivered.
type Kind int

const (
	// Address is a mail address: a bare local name (the caller adds its own
	// domain) or name@host.
	Address Kind = iota
	// Program is a command line that receives the message on stdin
	// (aliases(5) "|command"); Value holds the command without the '|'.
	Program
	// File is an absolute path the message is appended to (aliases(5)
	// "/path/name"); Value holds the path.
	File
)

func (k Kind) String() string {
	switch k {
	case Address:
		return "address"
	case Program:
		return "program"
	case File:
		return "file"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Target is one delivery instruction an alias or .forward resolves to.
type Target struct {
	Kind  Kind
	Value string
}

func (t Target) String() string {
	if t.Kind == Program {
		return "|" + t.Value
	}
	return t.Value
}

// Errors a caller can test with errors.Is on the errors Parse, Load and
// ParseForward report.
var (
	ErrSyntax    = errors.New("syntax error")
	ErrDuplicate = errors.New("duplicate alias")
	ErrEmpty     = errors.New("alias has no targets")
	ErrInclude   = errors.New("cannot include")
	ErrLimit     = errors.New("limit exceeded")
)

// LineError locates a problem in an aliases, include or .forward file.
type LineError struct {
	File string // "" for the reader given to Parse or the data of ParseForward
	Line int    // 1-based
	Err  error
}

func (e *LineError) Error() string {
	if e.File == "" {
		return fmt.Sprintf("line %d: %v", e.Line, e.Err)
	}
	return fmt.Sprintf("%s line %d: %v", e.File, e.Line, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// entry is a parsed target plus what only the parser knows about it.
type entry struct {
	Target
	noExpand bool   // written as \name: deliver locally, never expand (aliases(5), .forward)
	include  string // the path of an ":include:" target, which is not a Target itself
}

const includePrefix = ":include:"

// splitTargets parses a comma-separated target list: the right-hand side of
// an alias, a line of an :include: file, or a line of a .forward.
//
// Commas separate targets; inside a comma-separated segment, unquoted
// whitespace separates further targets, as sendmail does for old-style
// address lists. Exceptions, each following what people write in practice:
//   - an unquoted "|command" runs to the next comma, arguments included
//     (quote it if the command holds a comma);
//   - ":include: /path" may have blanks after the colon (aliases(5) shows it);
//   - "Full Name <user@host>" yields user@host; a "(comment)" is skipped.
//
// A segment with an error is dropped and its error returned; the other
// segments are still returned, which lets Parse keep the rest of a list.
func splitTargets(s string, allowInclude bool) ([]entry, []error) {
	var out []entry
	var errs []error
	for _, seg := range splitCommas(s) {
		ents, err := parseSegment(seg, allowInclude)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, ents...)
	}
	return out, errs
}

// splitCommas cuts s at commas that are outside double quotes; a backslash
// inside quotes escapes the next character.
func splitCommas(s string) []string {
	var segs []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			segs = append(segs, s[start:i])
			start = i + 1
		}
	}
	return append(segs, s[start:])
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// parseSegment parses the targets between two commas.
func parseSegment(seg string, allowInclude bool) ([]entry, error) {
	seg = strings.Trim(seg, " \t")
	if seg == "" {
		return nil, nil // "a,,b" and a trailing comma are harmless
	}
	if seg[0] != '"' && seg[0] != '|' && strings.ContainsRune(seg, '<') {
		return angleAddress(seg)
	}
	var out []entry
	for i := 0; i < len(seg); {
		c := seg[i]
		switch {
		case isBlank(c):
			i++
			continue
		case c == '(':
			end, err := skipComment(seg, i)
			if err != nil {
				return nil, err
			}
			i = end
			continue
		}
		var raw string
		switch {
		case c == '"':
			v, end, err := unquote(seg, i)
			if err != nil {
				return nil, err
			}
			if end < len(seg) && !isBlank(seg[end]) {
				return nil, fmt.Errorf("%w: text after closing quote in %q", ErrSyntax, seg)
			}
			raw, i = v, end
		case c == '|':
			raw, i = strings.TrimRight(seg[i:], " \t"), len(seg)
		case hasIncludePrefix(seg[i:]):
			j := i + len(includePrefix)
			for j < len(seg) && isBlank(seg[j]) {
				j++
			}
			end := wordEnd(seg, j)
			raw, i = includePrefix+seg[j:end], end
		default:
			end := wordEnd(seg, i)
			raw, i = seg[i:end], end
		}
		e, err := classify(raw, allowInclude)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

func wordEnd(s string, i int) int {
	for i < len(s) && !isBlank(s[i]) {
		i++
	}
	return i
}

// hasIncludePrefix compares case-insensitively, as sendmail does.
func hasIncludePrefix(s string) bool {
	return len(s) >= len(includePrefix) && strings.EqualFold(s[:len(includePrefix)], includePrefix)
}

// skipComment returns the index after the RFC 5322 comment starting at
// s[i]=='(' (comments nest).
func skipComment(s string, i int) (int, error) {
	depth := 0
	for ; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i + 1, nil
			}
		}
	}
	return 0, fmt.Errorf("%w: unterminated comment in %q", ErrSyntax, s)
}

// unquote reads the quoted string starting at s[i]=='"' and returns its
// content and the index after the closing quote. \" and \\ stand for " and
// \; any other backslash is kept, so "\user" still means "do not expand".
func unquote(s string, i int) (string, int, error) {
	var b strings.Builder
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; c {
		case '"':
			return b.String(), j + 1, nil
		case '\\':
			if j+1 < len(s) && (s[j+1] == '"' || s[j+1] == '\\') {
				j++
				b.WriteByte(s[j])
				continue
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, fmt.Errorf("%w: unterminated quote in %q", ErrSyntax, s)
}

// angleAddress handles "Display Name <user@host>": only the address in the
// angle brackets counts (RFC 5322 name-addr).
func angleAddress(seg string) ([]entry, error) {
	lt := strings.LastIndexByte(seg, '<')
	gt := strings.IndexByte(seg[lt:], '>')
	if gt < 0 {
		return nil, fmt.Errorf("%w: unterminated <address> in %q", ErrSyntax, seg)
	}
	if rest := strings.Trim(seg[lt+gt+1:], " \t"); rest != "" && rest[0] != '(' {
		return nil, fmt.Errorf("%w: text after <address> in %q", ErrSyntax, seg)
	}
	e, err := classify(strings.Trim(seg[lt+1:lt+gt], " \t"), false)
	if err != nil {
		return nil, err
	}
	if e.Kind != Address {
		return nil, fmt.Errorf("%w: only an address may stand in <> in %q", ErrSyntax, seg)
	}
	return []entry{e}, nil
}

// classify turns one unquoted target into an entry (aliases(5) "addr_n"
// forms) and enforces the invariants every Target keeps.
func classify(raw string, allowInclude bool) (entry, error) {
	if raw == "" {
		return entry{}, fmt.Errorf("%w: empty target", ErrSyntax)
	}
	if c, ok := badControl(raw, true); ok {
		return entry{}, fmt.Errorf("%w: control character %#02x in target", ErrSyntax, c)
	}
	switch {
	case raw[0] == '|':
		cmd := strings.TrimLeft(raw[1:], " \t")
		if cmd == "" {
			return entry{}, fmt.Errorf("%w: empty program", ErrSyntax)
		}
		return entry{Target: Target{Kind: Program, Value: cmd}}, nil
	case raw[0] == '/':
		if strings.ContainsAny(raw, "\t") {
			return entry{}, fmt.Errorf("%w: tab in file name %q", ErrSyntax, raw)
		}
		return entry{Target: Target{Kind: File, Value: raw}}, nil
	case hasIncludePrefix(raw):
		if !allowInclude {
			return entry{}, fmt.Errorf("%w: :include: is not allowed here", ErrSyntax)
		}
		path := raw[len(includePrefix):]
		if !strings.HasPrefix(path, "/") {
			return entry{}, fmt.Errorf("%w: %q: only absolute paths", ErrInclude, path)
		}
		return entry{include: path}, nil
	case raw[0] == '\\':
		if err := checkAddress(raw[1:]); err != nil {
			return entry{}, err
		}
		return entry{Target: Target{Kind: Address, Value: raw[1:]}, noExpand: true}, nil
	}
	if err := checkAddress(raw); err != nil {
		return entry{}, err
	}
	return entry{Target: Target{Kind: Address, Value: raw}}, nil
}

// addressSpecials may not appear in an address target: we take no quoted
// local parts or source routes, and anything else is a typo that would only
// bounce later with a less helpful message.
const addressSpecials = " \t\"<>(),;:\\"

// checkAddress is a light check; the caller's RFC 5321 parser has the last
// word on name@host.
func checkAddress(a string) error {
	if a == "" {
		return fmt.Errorf("%w: empty address", ErrSyntax)
	}
	if strings.ContainsAny(a, addressSpecials) {
		return fmt.Errorf("%w: invalid character in address %q", ErrSyntax, a)
	}
	// A leading '/' or '|' would make the address read as a file or program
	// once written out again ("\/x" must not become a file delivery).
	if strings.IndexByte("./|@", a[0]) >= 0 || a[len(a)-1] == '@' {
		return fmt.Errorf("%w: malformed address %q", ErrSyntax, a)
	}
	return nil
}

// badControl reports the first control character in s (tab allowed when
// allowTab): NUL, CR and LF would break a queue envelope or an environment
// variable, and the others have no business in mail routing.
func badControl(s string, allowTab bool) (byte, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 0x20 && !(allowTab && c == '\t')) || c == 0x7f {
			return c, true
		}
	}
	return 0, false
}
