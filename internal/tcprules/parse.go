package tcprules

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// SyntaxError is a line of the rules file that tcprules(1) would refuse, or
// that names an address no client can have. The whole file is refused: a
// half-loaded access policy could open a relay or lock out a customer.
type SyntaxError struct {
	Line int    // 1-based
	Text string // what is wrong
	Err  error  // underlying cause, if any
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Text) }
func (e *SyntaxError) Unwrap() error { return e.Err }

// SyntaxErrors is every bad line of a file, so that one check shows the
// administrator all of them (errors.As finds each *SyntaxError).
type SyntaxErrors []*SyntaxError

func (es SyntaxErrors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

func (es SyntaxErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Parse reads rules in tcprules(1) syntax. Syntax errors are returned as
// SyntaxErrors, a *SyntaxError for every bad line. Rules that are valid but can never match
// here (=host, =.suffix, =, info@..., and rules whose every address is
// already claimed by an earlier line) are left out and reported as Warnings.
func Parse(r io.Reader) (*Rules, []Warning, error) {
	rs, warns, err := parse(r)
	if err != nil {
		return nil, nil, fmt.Errorf("tcprules: %w", err)
	}
	return rs, warns, nil
}

// ParseFile is Parse on the named file; errors name the file.
func ParseFile(name string) (*Rules, []Warning, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, fmt.Errorf("tcprules: %w", err)
	}
	defer f.Close()
	rs, warns, err := parse(f)
	if err != nil {
		return nil, nil, fmt.Errorf("tcprules: %s: %w", name, err)
	}
	return rs, warns, nil
}

func parse(r io.Reader) (*Rules, []Warning, error) {
	rs := newRules()
	var warns []Warning
	var bad SyntaxErrors
	br := bufio.NewReader(r)
	for lineno := 1; ; lineno++ {
		line, readErr := br.ReadString('\n')
		if readErr != nil && readErr != io.EOF {
			return nil, nil, fmt.Errorf("line %d: %w", lineno, readErr)
		}
		if line == "" && readErr == io.EOF {
			break
		}
		rule, k, err := parseLine(line, lineno)
		var se *SyntaxError
		switch {
		case errors.Is(err, errUnsupported):
			warns = append(warns, Warning{Line: lineno, Text: err.Error() + "; rule ignored"})
		case errors.As(err, &se):
			bad = append(bad, se)
		case err != nil:
			return nil, nil, err
		case rule != nil:
			if by, ok := rs.add(*rule, k); !ok {
				warns = append(warns, Warning{Line: lineno, Text: fmt.Sprintf(
					"every address of %q is already matched by line %d (the first rule wins); rule ignored",
					rule.Source, by)})
			}
		}
		if readErr == io.EOF {
			break
		}
	}
	if len(bad) > 0 {
		return nil, nil, bad
	}
	return rs, warns, nil
}

// parseLine parses one line. It returns a nil rule for blank and comment
// lines, and errUnsupported (wrapped) for rules that need DNS or ident.
func parseLine(line string, lineno int) (*Rule, keys, error) {
	bad := func(err error, format string, args ...any) (*Rule, keys, error) {
		return nil, keys{}, &SyntaxError{Line: lineno, Text: fmt.Sprintf(format, args...), Err: err}
	}
	// tcprules strips trailing blanks; we strip a CR too, for files that
	// were edited on Windows.
	line = strings.TrimRight(line, " \t\r\n")
	if t := strings.TrimLeft(line, " \t"); t == "" || t[0] == '#' {
		return nil, keys{}, nil
	}
	if strings.IndexByte(line, 0) >= 0 {
		return bad(nil, "NUL byte in rule")
	}
	colon := instructionColon(line)
	if colon < 0 {
		if !strings.Contains(line, ":") {
			return bad(nil, "missing ':' between address and instructions in %q", line)
		}
		return bad(nil, "unknown instruction in %q: the text after the address's ':' must start with allow or deny", line)
	}
	address, instructions := line[:colon], line[colon+1:]
	rule, err := parseInstructions(instructions)
	if err != nil {
		return bad(err, "%v", err)
	}
	rule.Line, rule.Source = lineno, address
	k, err := parseAddress(address)
	if errors.Is(err, errUnsupported) {
		return nil, keys{}, err
	}
	if err != nil {
		return bad(err, "%v", err)
	}
	return &rule, k, nil
}

// instructionColon finds the ':' that ends the address. tcprules 0.88 takes
// the first ':', but an IPv6 address holds colons of its own; ucspi-tcp6
// takes the last, which breaks on values such as RBLSMTPD="-see http://...".
// We take the first ':' followed by allow or deny: neither word is hex, so
// that colon cannot be inside an IPv6 address, and it comes before any value.
// A ':' after text that cannot be part of an IPv6 address (=host, info@)
// ends the address whatever follows, so that a bad instruction there is
// reported instead of being mistaken for part of the address.
func instructionColon(line string) int {
	for i := 0; i < len(line); i++ {
		if line[i] != ':' {
			continue
		}
		rest := line[i+1:]
		if strings.HasPrefix(rest, "allow") || strings.HasPrefix(rest, "deny") {
			return i
		}
		if strings.Trim(line[:i], "0123456789abcdefABCDEF:./") != "" {
			return i
		}
	}
	return -1
}

// parseInstructions reads `allow` or `deny` followed by zero or more
// `,NAME=<q>value<q>` where <q> is whatever byte follows '=' and the value
// runs to the next occurrence of that byte (tcprules.c; "any repeated
// character may be used as the quote").
func parseInstructions(s string) (Rule, error) {
	var rule Rule
	word, _, _ := strings.Cut(s, ",")
	switch word {
	case "allow":
		rule.Allow = true
	case "deny":
	default:
		return Rule{}, fmt.Errorf("unknown instruction %q: want allow or deny", word)
	}
	s = s[len(word):]
	for s != "" {
		// s starts with ',' here: after the word by construction, after a
		// value by the check at the end of the loop.
		name, rest, ok := strings.Cut(s[1:], "=")
		if !ok {
			return Rule{}, fmt.Errorf("missing '=' in variable %q", s[1:])
		}
		if !validName(name) {
			return Rule{}, fmt.Errorf("invalid variable name %q: want letters, digits and underscores", name)
		}
		if rest == "" {
			return Rule{}, fmt.Errorf("missing value for variable %s: write %s=\"\" for an empty value", name, name)
		}
		quote := rest[0]
		end := strings.IndexByte(rest[1:], quote)
		if end < 0 {
			return Rule{}, fmt.Errorf("unterminated value for variable %s: no closing %q", name, string(quote))
		}
		value := rest[1 : 1+end]
		if name == "DATABYTES" && !isNumber(value) {
			// qmail-smtpd (and goqmail) would ignore it: no limit at all.
			return Rule{}, fmt.Errorf("DATABYTES=%q is not a number of bytes: write a whole number such as DATABYTES=\"10485760\" (0 = no limit)", value)
		}
		rule.Vars = append(rule.Vars, Var{Name: name, Value: value})
		s = rest[1+end+1:]
		if s != "" && s[0] != ',' {
			junk, _, _ := strings.Cut(s, ",")
			return Rule{}, fmt.Errorf("unexpected %q after the value of %s: want ,NAME=\"value\"", junk, name)
		}
	}
	if !rule.Allow {
		rule.Vars = nil // tcpserver ignores a deny rule's variables
	}
	return rule, nil
}

// isNumber: decimal digits, at most 18 of them (an int64).
func isNumber(s string) bool {
	if s == "" || len(s) > 18 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func validName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
