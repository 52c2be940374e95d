package relaygrant

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Grant lets one client address relay until Expires.
type Grant struct {
	IP      netip.Addr // normalised: IPv4-mapped IPv6 becomes IPv4, no zone
	Expires time.Time  // whole seconds
	Source  string     // who earned it, e.g. "pop3:bob@example.com"; no spaces
}

// Limits on one line: the file is read per SMTP connection, so nothing in
// it may make a read expensive.
const (
	maxSource = 256
	maxLine   = 512
	maxFile   = 8 << 20 // bytes; beyond this the file is refused, not parsed
)

var errBadLine = errors.New("relaygrant: malformed grant line")

// Normalize makes the address form used as a key: an IPv4 client seen
// through an IPv6 socket (::ffff:a.b.c.d) is the same client as a.b.c.d,
// and a zone says nothing about who the client is.
func Normalize(ip netip.Addr) netip.Addr { return ip.Unmap().WithZone("") }

// CleanSource makes a source label safe for the one-line format: printable
// ASCII without spaces, bounded.
func CleanSource(s string) string {
	if len(s) > maxSource {
		s = s[:maxSource]
	}
	b := []byte(s)
	for i, c := range b {
		if c <= 0x20 || c > 0x7e {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "-"
	}
	return string(b)
}

// formatLine writes "IP EXPIRY-UNIX SOURCE\n" (design: ROOT/relay/grants).
func formatLine(b []byte, g Grant) []byte {
	b = g.IP.AppendTo(b)
	b = append(b, ' ')
	b = strconv.AppendInt(b, g.Expires.Unix(), 10)
	b = append(b, ' ')
	b = append(b, CleanSource(g.Source)...)
	return append(b, '\n')
}

// parseLine reads one line without its newline. It is strict: exactly three
// fields separated by single spaces, an address without zone, a positive
// decimal expiry, a clean source. The file is written only by this package,
// so anything else is damage and is skipped rather than guessed at.
func parseLine(line string) (Grant, error) {
	if len(line) > maxLine {
		return Grant{}, fmt.Errorf("%w: %d bytes", errBadLine, len(line))
	}
	f := strings.Split(line, " ")
	if len(f) != 3 {
		return Grant{}, fmt.Errorf("%w: %d fields", errBadLine, len(f))
	}
	ip, err := netip.ParseAddr(f[0])
	if err != nil || ip.Zone() != "" {
		return Grant{}, fmt.Errorf("%w: address %q", errBadLine, f[0])
	}
	if f[1] == "" || f[1][0] < '1' || f[1][0] > '9' {
		return Grant{}, fmt.Errorf("%w: expiry %q", errBadLine, f[1])
	}
	exp, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil || exp > 1<<40 {
		return Grant{}, fmt.Errorf("%w: expiry %q", errBadLine, f[1])
	}
	if f[2] == "" || CleanSource(f[2]) != f[2] {
		return Grant{}, fmt.Errorf("%w: source %q", errBadLine, f[2])
	}
	return Grant{IP: Normalize(ip), Expires: time.Unix(exp, 0), Source: f[2]}, nil
}

// parseFile returns every well-formed grant, keeping the latest expiry per
// address, and the number of lines it skipped.
func parseFile(data []byte) (map[netip.Addr]Grant, int) {
	m := map[netip.Addr]Grant{}
	bad := 0
	for len(data) > 0 {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		if len(line) == 0 {
			continue
		}
		g, err := parseLine(string(line))
		if err != nil {
			bad++
			continue
		}
		if old, ok := m[g.IP]; !ok || g.Expires.After(old.Expires) {
			m[g.IP] = g
		}
	}
	return m, bad
}

// sorted lists grants by address so the file and `goqmail relay list` are
// stable.
func sorted(m map[netip.Addr]Grant) []Grant {
	out := make([]Grant, 0, len(m))
	for _, g := range m {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].IP.Less(out[j].IP) })
	return out
}

func formatFile(gs []Grant) []byte {
	var b []byte
	for _, g := range gs {
		b = formatLine(b, g)
	}
	return b
}
