package route

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// DefaultPort is the SMTP port used when a route names none (RFC 5321 4.5.4.2).
const DefaultPort = 25

// ErrBadRoute marks an smtproutes line that cannot be used.
var ErrBadRoute = errors.New("route: bad smtproutes line")

// Route is the right-hand side of one smtproutes line.
type Route struct {
	// Relay is the host to send to: a host name (looked up by A/AAAA, never
	// MX, as qmail-remote's dns_ip does) or an IP address. "" means "use the
	// MX records of the recipient domain", which lets a more specific line
	// exempt a domain from a default route.
	Relay string
	// Port is the relay's TCP port, DefaultPort unless the line gave one.
	Port uint16
	// User and Password are the AUTH PLAIN credentials of a smarthost that
	// needs them (a goqmail addition); both empty means no AUTH.
	User, Password string
}

// HasAuth reports whether the route carries credentials.
func (r Route) HasAuth() bool { return r.User != "" }

// Routes is a parsed smtproutes file. The zero value and nil have no routes.
type Routes struct {
	byKey map[string]Route // keys lower-case: "host", ".suffix", or "" (the default route)
}

// ParseRoutes reads the lines of control/smtproutes (blank lines and
// comments already removed by control.List). qmail's syntax:
//
//	domain:relay[:port]   mail for domain goes to relay
//	.suffix:relay[:port]  mail for any domain ending in .suffix
//	:relay[:port]         mail for every other domain (smarthost)
//	domain:               an empty relay: deliver by MX after all
//
// A relay that is an IPv6 address is written in brackets, "[2001:db8::1]"
// or "[IPv6:2001:db8::1]", so its colons are not read as a port. goqmail
// adds credentials after whitespace: `domain:relay:port user password`
// (the password is the rest of the line and may hold spaces; trailing
// whitespace was already removed). Bad lines are left out and reported, one
// *LineError each; when a key repeats, the first line wins, as in qmail's
// constmap, and the repeat is reported. goqmail-remote refuses a file with
// any error (a route left out would send mail to the MX instead).
func ParseRoutes(lines []string) (*Routes, []error) { return ParseRoutesAt(lines, nil) }

// ParseRoutesAt is ParseRoutes with the file line number of each line
// (lineNos[i] for lines[i]; nil counts from 1), for a file whose blank and
// comment lines were skipped.
func ParseRoutesAt(lines []string, lineNos []int) (*Routes, []error) {
	r := &Routes{byKey: make(map[string]Route, len(lines))}
	var errs []error
	first := map[string]int{}
	for i, line := range lines {
		n := i + 1
		if lineNos != nil {
			n = lineNos[i]
		}
		key, rt, err := parseLine(line)
		if err != nil {
			errs = append(errs, &LineError{Line: n, Err: err})
			continue
		}
		if at, dup := first[key]; dup {
			errs = append(errs, &LineError{Line: n, Err: fmt.Errorf("%w: %q repeats line %d, which wins", ErrBadRoute, key, at)})
			continue
		}
		first[key] = n
		r.byKey[key] = rt
	}
	return r, errs
}

// LineError is a bad smtproutes line.
type LineError struct {
	Line int // 1-based line in the file
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("smtproutes line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

func parseLine(line string) (string, Route, error) {
	line = strings.TrimSpace(line)
	key, rest, ok := strings.Cut(line, ":")
	if !ok {
		return "", Route{}, fmt.Errorf("%w: no ':' in %q", ErrBadRoute, line)
	}
	key = strings.ToLower(key)
	if strings.ContainsAny(key, " \t") {
		return "", Route{}, fmt.Errorf("%w: space in domain %q", ErrBadRoute, key)
	}
	relayPart, creds, hasCreds := cutSpace(rest)
	rt := Route{Port: DefaultPort}
	host, port, err := splitRelay(relayPart)
	if err != nil {
		return "", Route{}, err
	}
	rt.Relay, rt.Port = host, port
	if hasCreds {
		creds = strings.TrimLeft(creds, " \t")
		user, pass, _ := cutSpace(creds)
		pass = strings.TrimLeft(pass, " \t")
		if user == "" || pass == "" {
			return "", Route{}, fmt.Errorf("%w: credentials need both a user and a password", ErrBadRoute)
		}
		if rt.Relay == "" {
			return "", Route{}, fmt.Errorf("%w: credentials on a route without a relay", ErrBadRoute)
		}
		if strings.ContainsAny(user+pass, "\x00\r\n") {
			return "", Route{}, fmt.Errorf("%w: control character in credentials", ErrBadRoute)
		}
		rt.User, rt.Password = user, pass
	}
	return key, rt, nil
}

// cutSpace cuts s at its first space or tab.
func cutSpace(s string) (before, after string, found bool) {
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, "", false
}

// splitRelay splits "host", "host:port", "[ip]", "[ip]:port" or a bare
// IPv6 address. An empty string is the "use MX" relay.
func splitRelay(s string) (string, uint16, error) {
	if s == "" {
		return "", DefaultPort, nil
	}
	var host, port string
	switch {
	case s[0] == '[':
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", 0, fmt.Errorf("%w: unclosed '[' in relay %q", ErrBadRoute, s)
		}
		inner := s[1:end]
		if len(inner) > 5 && strings.EqualFold(inner[:5], "IPv6:") {
			inner = inner[5:]
		}
		ip, err := netip.ParseAddr(inner)
		if err != nil || ip.Zone() != "" {
			return "", 0, fmt.Errorf("%w: bad address literal %q", ErrBadRoute, s)
		}
		host = ip.Unmap().String()
		after := s[end+1:]
		if after != "" {
			p, ok := strings.CutPrefix(after, ":")
			if !ok {
				return "", 0, fmt.Errorf("%w: junk after address literal in %q", ErrBadRoute, s)
			}
			port = p
		}
	case strings.Count(s, ":") > 1:
		ip, err := netip.ParseAddr(s)
		if err != nil || ip.Zone() != "" {
			return "", 0, fmt.Errorf("%w: relay %q: write an IPv6 address in brackets", ErrBadRoute, s)
		}
		host = ip.String()
	default:
		host, port, _ = strings.Cut(s, ":")
		host = strings.ToLower(strings.TrimSuffix(host, "."))
		if !validHost(host) {
			return "", 0, fmt.Errorf("%w: bad relay host %q", ErrBadRoute, host)
		}
	}
	p := uint64(DefaultPort)
	if port != "" {
		var err error
		p, err = strconv.ParseUint(port, 10, 16)
		if err != nil || p == 0 {
			return "", 0, fmt.Errorf("%w: bad port %q", ErrBadRoute, port)
		}
	}
	return host, uint16(p), nil
}

// validHost accepts an LDH host name or an IPv4 address: what a relay or an
// MX target may be. Underscores are allowed because real internal names
// have them.
func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// Lookup finds the route for a recipient domain the way qmail-remote
// searches smtproutes: the domain itself, then each parent suffix with its
// leading dot, longest first (".b.c" before ".c"), then the default route
// "". Matching is ASCII case-insensitive. An address literal ("[1.2.3.4]")
// only matches itself or the default route. ok is false when no line
// matches or the matching line has an empty relay (deliver by MX).
func (r *Routes) Lookup(domain string) (Route, bool) {
	if r == nil || len(r.byKey) == 0 {
		return Route{}, false
	}
	d := strings.ToLower(domain)
	try := func(key string) (Route, bool, bool) {
		rt, found := r.byKey[key]
		return rt, found && rt.Relay != "", found
	}
	if rt, ok, found := try(d); found {
		return rt, ok
	}
	if !strings.HasPrefix(d, "[") {
		for i := 0; i < len(d); i++ {
			if d[i] == '.' {
				if rt, ok, found := try(d[i:]); found {
					return rt, ok
				}
			}
		}
	}
	rt, ok, _ := try("")
	return rt, ok
}

// Len returns the number of routes.
func (r *Routes) Len() int {
	if r == nil {
		return 0
	}
	return len(r.byKey)
}
