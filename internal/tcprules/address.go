package tcprules

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// keys are the lookup keys one address field stands for, in the order
// tcprules would store them.
type keys struct {
	exact    []netip.Addr
	prefixes []netip.Prefix
	any      bool // the empty address: matches every client
}

// errUnsupported marks an address form that is valid tcprules but needs a
// lookup goqmail does not do; the rule is dropped with a Warning.
var errUnsupported = errors.New("unsupported address form")

// parseAddress turns the address field of a rule into lookup keys.
//
// Anything that is not one of the forms below is an error, even where
// tcprules would quietly store a key that can never match (a leading zero,
// an octet of 300, "1.2.3" without the final dot): the admin meant something
// by that line and must be told it does nothing.
func parseAddress(s string) (keys, error) {
	switch {
	case s == "":
		return keys{any: true}, nil
	case s == "=":
		return keys{}, fmt.Errorf("%w: %q matches any client with a reverse DNS name, and goqmail does no reverse DNS", errUnsupported, s)
	case strings.HasPrefix(s, "=."):
		return keys{}, fmt.Errorf("%w: %q matches a reverse DNS name suffix, and goqmail does no reverse DNS", errUnsupported, s)
	case strings.HasPrefix(s, "="):
		return keys{}, fmt.Errorf("%w: %q matches a reverse DNS name, and goqmail does no reverse DNS", errUnsupported, s)
	case strings.Contains(s, "@"):
		return keys{}, fmt.Errorf("%w: %q matches ident (RFC 1413) information, and goqmail does no ident lookups", errUnsupported, s)
	case strings.Contains(s, "/"):
		return parseCIDR(s)
	case strings.Contains(s, ":"):
		return parseIPv6(s)
	default:
		return parseDotted(s)
	}
}

// parseCIDR reads the ucspi-tcp6 CIDR form. Host bits below the prefix are
// ignored, as ucspi-tcp6 does (it keeps only the first bits of the address).
// A mapped IPv4 prefix (::ffff:10.0.0.0/104) becomes the IPv4 prefix it
// covers, since clients are matched as IPv4.
func parseCIDR(s string) (keys, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return keys{}, fmt.Errorf("invalid CIDR %q: %w", s, err)
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return keys{prefixes: []netip.Prefix{p.Masked()}}, nil
}

func parseIPv6(s string) (keys, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		if strings.HasSuffix(s, ":") {
			return keys{}, fmt.Errorf("invalid IPv6 address %q (write an IPv6 prefix in CIDR form, such as 2001:db8::/32): %w", s, err)
		}
		return keys{}, fmt.Errorf("invalid IPv6 address %q: %w", s, err)
	}
	if a.Zone() != "" {
		return keys{}, fmt.Errorf("invalid IPv6 address %q: a zone is not allowed in a rule", s)
	}
	return keys{exact: []netip.Addr{a.Unmap()}}, nil
}

// parseDotted reads tcprules' own IPv4 forms: an exact address (1.2.3.4), a
// prefix ending in a dot (10., 192.168.1.), either with at most one
// component written as a range lo-hi (1.2.3.37-53, 1.2.3-5.). tcprules
// expands a range into one key per value, substituting it in place, so the
// range may stand in any component; we do the same.
func parseDotted(s string) (keys, error) {
	if strings.IndexFunc(s, isLetter) >= 0 {
		return keys{}, fmt.Errorf("invalid address %q: not an IPv4 address (a host name rule is written =host)", s)
	}
	body, isPrefix := strings.CutSuffix(s, ".")
	comps := strings.Split(body, ".")
	switch {
	case isPrefix && len(comps) > 3:
		return keys{}, fmt.Errorf("invalid address %q: an IPv4 prefix has at most 3 components before the final dot", s)
	case !isPrefix && len(comps) != 4:
		return keys{}, fmt.Errorf("invalid address %q: an IPv4 address has 4 components, and a prefix must end in a dot", s)
	}
	var lo, hi [4]int
	ranged := -1
	for i, c := range comps {
		var err error
		if a, b, ok := strings.Cut(c, "-"); ok {
			if ranged >= 0 {
				return keys{}, fmt.Errorf("invalid address %q: at most one component may be a range", s)
			}
			ranged = i
			lo[i], hi[i], err = parseRange(a, b)
		} else {
			lo[i], err = parseOctet(c)
			hi[i] = lo[i]
		}
		if err != nil {
			return keys{}, fmt.Errorf("invalid address %q: %w", s, err)
		}
	}
	var k keys
	if ranged < 0 {
		ranged = 0 // one pass over lo == hi
	}
	for v := lo[ranged]; v <= hi[ranged]; v++ {
		var b [4]byte
		for i := range comps {
			b[i] = byte(lo[i])
		}
		b[ranged] = byte(v)
		a := netip.AddrFrom4(b)
		if isPrefix {
			k.prefixes = append(k.prefixes, netip.PrefixFrom(a, 8*len(comps)))
		} else {
			k.exact = append(k.exact, a)
		}
	}
	return k, nil
}

// parseOctet reads one component as tcpserver writes TCPREMOTEIP: decimal,
// 0-255, no leading zeros (a key "010." could never match).
func parseOctet(s string) (int, error) {
	if len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("component %q has a leading zero", s)
	}
	return parseDecimal(s)
}

// parseRange reads the bounds of lo-hi. tcprules reads the bounds with
// scan_ulong and writes each key with fmt_ulong, so leading zeros in the
// bounds are harmless there and are accepted here too.
func parseRange(a, b string) (lo, hi int, err error) {
	if lo, err = parseDecimal(strings.TrimLeft(a, "0") + zeroIfAll(a)); err != nil {
		return 0, 0, fmt.Errorf("range start: %w", err)
	}
	if hi, err = parseDecimal(strings.TrimLeft(b, "0") + zeroIfAll(b)); err != nil {
		return 0, 0, fmt.Errorf("range end: %w", err)
	}
	if lo > hi {
		return 0, 0, fmt.Errorf("range %s-%s is empty", a, b)
	}
	return lo, hi, nil
}

// zeroIfAll keeps one "0" when s is made only of zeros, so that trimming
// leading zeros leaves a number.
func zeroIfAll(s string) string {
	if s != "" && strings.TrimLeft(s, "0") == "" {
		return "0"
	}
	return ""
}

func parseDecimal(s string) (int, error) {
	if s == "" {
		return 0, errors.New("empty component")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("component %q is not a decimal number", s)
		}
	}
	if len(s) > 3 {
		return 0, fmt.Errorf("component %q is out of range 0-255", s)
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("component %q: %w", s, err)
	}
	if n > 255 {
		return 0, fmt.Errorf("component %q is out of range 0-255", s)
	}
	return n, nil
}

func isLetter(r rune) bool { return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' }
