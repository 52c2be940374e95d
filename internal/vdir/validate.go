package vdir

import (
	"fmt"
	"strconv"
	"strings"

	"goqmail/internal/address"
)

// dirError carries one of the sentinel errors and a message that says
// exactly what is wrong, without the sentinel's text in front of it.
type dirError struct {
	kind error
	msg  string
}

func (e *dirError) Error() string { return e.msg }
func (e *dirError) Unwrap() error { return e.kind }

func invalidf(format string, args ...any) error {
	return &dirError{ErrInvalid, fmt.Sprintf(format, args...)}
}

func existsf(format string, args ...any) error {
	return &dirError{ErrExists, fmt.Sprintf(format, args...)}
}

func notFoundf(format string, args ...any) error {
	return &dirError{ErrNotFound, fmt.Sprintf(format, args...)}
}

// Limits: RFC 1035 2.3.4 / RFC 5321 4.5.3.1.2 for domains, RFC 5321
// 4.5.3.1.1 for local parts.
const (
	maxDomainLen = 253
	maxLabelLen  = 63
	maxLocalLen  = 64
)

// CheckDomain validates a domain name we serve and returns it in lower
// case: LDH labels (RFC 1123 2.1), at least two of them, at most 253
// characters. The name becomes a directory name, so this is also what
// keeps "..", "/" and dot files out of ROOT/vdir.
func CheckDomain(name string) (string, error) {
	d := strings.ToLower(name)
	switch {
	case d == "":
		return "", invalidf("empty domain name")
	case len(d) > maxDomainLen:
		return "", invalidf("domain name %q is %d characters, at most %d allowed", name, len(d), maxDomainLen)
	case !strings.Contains(d, "."):
		return "", invalidf("domain name %q has no dot: give the full name, e.g. %s.com", name, d)
	}
	for _, label := range strings.Split(d, ".") {
		switch {
		case label == "":
			return "", invalidf("domain name %q has an empty label (a leading, trailing or double dot)", name)
		case len(label) > maxLabelLen:
			return "", invalidf("domain name %q: label %q is longer than %d characters", name, label, maxLabelLen)
		case label[0] == '-' || label[len(label)-1] == '-':
			return "", invalidf("domain name %q: label %q starts or ends with '-'", name, label)
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "", invalidf("domain name %q: character %q not allowed (letters, digits, '-' and '.')", name, c)
			}
		}
	}
	return d, nil
}

// CheckLocal validates the local part of a virtual user or alias and
// returns it in lower case. The set is vpopmail's: [a-z0-9._+-], not
// starting with '.' or '-' (it becomes a directory and a .qmail-<local>
// file name), a dot-atom (no "..", no trailing dot), at most 64
// characters. "default" is refused: .qmail-default is the domain's
// default instructions, so a user of that name could not have its own.
func CheckLocal(local string) (string, error) {
	l := strings.ToLower(local)
	switch {
	case l == "":
		return "", invalidf("empty local part")
	case len(l) > maxLocalLen:
		return "", invalidf("local part %q is %d characters, at most %d allowed", local, len(l), maxLocalLen)
	case l[0] == '.' || l[0] == '-':
		return "", invalidf("local part %q starts with %q", local, l[0])
	case l[len(l)-1] == '.':
		return "", invalidf("local part %q ends with '.'", local)
	case strings.Contains(l, ".."):
		return "", invalidf("local part %q has two dots in a row", local)
	case l == "default":
		return "", invalidf("local part \"default\" is reserved: .qmail-default holds the domain's default delivery")
	}
	for i := 0; i < len(l); i++ {
		if c := l[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '+' || c == '-') {
			return "", invalidf("local part %q: character %q not allowed (letters, digits, '.', '_', '+', '-')", local, c)
		}
	}
	return l, nil
}

// SplitAddress splits "local@domain" at the last '@' and checks both
// halves (CheckLocal, CheckDomain).
func SplitAddress(addr string) (local, domain string, err error) {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return "", "", invalidf("address %q has no '@': give local@domain", addr)
	}
	if local, err = CheckLocal(addr[:at]); err != nil {
		return "", "", fmt.Errorf("address %q: %w", addr, err)
	}
	if domain, err = CheckDomain(addr[at+1:]); err != nil {
		return "", "", fmt.Errorf("address %q: %w", addr, err)
	}
	return local, domain, nil
}

// checkTarget validates a forwarding target (alias, catch-all forward,
// postmaster address) with goqmail's SMTP address parser and returns it
// as a full lower-case-domain address. A bare local part means
// local@domain. Local parts that are not a plain dot-string (that would
// need quoting or escapes) are refused: the files separate targets by
// commas and spaces, and store them unquoted.
func checkTarget(t, domain string) (string, error) {
	t = strings.TrimSpace(t)
	if t == "" {
		return "", invalidf("empty target address")
	}
	if !strings.Contains(t, "@") {
		l, err := CheckLocal(t)
		if err != nil {
			return "", fmt.Errorf("target %q: %w", t, err)
		}
		return l + "@" + domain, nil
	}
	a, params, err := address.ParsePath("<"+t+">", address.Options{})
	if err != nil {
		return "", invalidf("target %q is not a valid address: %v", t, err)
	}
	if params != "" || a.Domain == "" {
		return "", invalidf("target %q is not a valid address: text after the address", t)
	}
	s := a.String()
	if a.SMTP() != "<"+s+">" || strings.ContainsAny(s, "\", \t<>") {
		return "", invalidf("target %q: addresses that need quoting are not supported", t)
	}
	return s, nil
}

// checkTargets validates a list of targets, refusing duplicates and
// self (the alias's own address) so that an alias cannot point at itself.
func checkTargets(targets []string, domain, self string) ([]string, error) {
	if len(targets) == 0 {
		return nil, invalidf("no target addresses")
	}
	seen := map[string]bool{}
	var out []string
	for _, t := range targets {
		full, err := checkTarget(t, domain)
		if err != nil {
			return nil, err
		}
		if strings.EqualFold(full, self) {
			return nil, invalidf("target %q is the alias itself", t)
		}
		if !seen[strings.ToLower(full)] {
			seen[strings.ToLower(full)] = true
			out = append(out, full)
		}
	}
	return out, nil
}

func checkQuota(what string, n int64) error {
	if n < 0 {
		return invalidf("%s %d is negative (0 means unlimited)", what, n)
	}
	return nil
}

// ParseCatchall parses a catch-all rule as written in the domain file and
// on the command line: bounce | reject | mailbox:<local> |
// forward:<addr>[,<addr>...]. Forward targets are checked and returned
// as full addresses (a bare local part means @domain).
func ParseCatchall(s, domain string) (Catchall, error) {
	kind, arg, hasArg := strings.Cut(s, ":")
	switch strings.ToLower(kind) {
	case "bounce", "reject":
		if hasArg {
			return Catchall{}, invalidf("catch-all %q: %s takes no argument", s, kind)
		}
		if strings.ToLower(kind) == "reject" {
			return Catchall{Kind: CatchReject}, nil
		}
		return Catchall{Kind: CatchBounce}, nil
	case "mailbox":
		l, err := CheckLocal(arg)
		if err != nil {
			return Catchall{}, fmt.Errorf("catch-all %q: %w", s, err)
		}
		return Catchall{Kind: CatchMailbox, Target: l}, nil
	case "forward":
		ts, err := checkTargets(strings.Split(arg, ","), domain, "")
		if err != nil {
			return Catchall{}, fmt.Errorf("catch-all %q: %w", s, err)
		}
		return Catchall{Kind: CatchForward, Target: strings.Join(ts, ",")}, nil
	}
	return Catchall{}, invalidf("catch-all %q: want bounce, reject, mailbox:USER or forward:ADDRESS[,ADDRESS...]", s)
}

// String is the rule as ParseCatchall reads it.
func (c Catchall) String() string {
	switch c.Kind {
	case CatchReject:
		return "reject"
	case CatchMailbox:
		return "mailbox:" + c.Target
	case CatchForward:
		return "forward:" + c.Target
	}
	return "bounce"
}

// checkCatchall normalizes c for domain (the Target of a forward rule
// becomes checked full addresses).
func checkCatchall(c Catchall, domain string) (Catchall, error) {
	switch c.Kind {
	case CatchBounce, CatchReject:
		if c.Target != "" {
			return Catchall{}, invalidf("catch-all %s takes no target, got %q", c, c.Target)
		}
		return c, nil
	case CatchMailbox, CatchForward:
		return ParseCatchall(c.String(), domain)
	}
	return Catchall{}, invalidf("unknown catch-all kind %d", c.Kind)
}

// checkPostmaster validates a domain's postmaster setting: a local part
// of the domain or a full address.
func checkPostmaster(p, domain string) (string, error) {
	if p == "" {
		return "", nil
	}
	if !strings.Contains(p, "@") {
		l, err := CheckLocal(p)
		if err != nil {
			return "", fmt.Errorf("postmaster %q: %w", p, err)
		}
		return l, nil
	}
	t, err := checkTarget(p, domain)
	if err != nil {
		return "", fmt.Errorf("postmaster: %w", err)
	}
	return t, nil
}

func parseCount(field, what string) (int64, error) {
	n, err := strconv.ParseInt(field, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s %q is not a number >= 0", what, field)
	}
	return n, nil
}
