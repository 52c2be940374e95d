package address

import (
	"fmt"
	"net/netip"
	"strings"
)

// ipv6Tag is the Standardized-tag of an IPv6 address literal, in the
// spelling we write (RFC 5321 4.1.3; ABNF strings match case-insensitively).
const ipv6Tag = "IPv6:"

// canonicalDomain validates the text after the '@' and returns it in the
// form that is both relay-checked and routed: a lower-case LDH name or a
// canonical address literal. Nothing is normalised away that could make the
// two differ, which is why a trailing dot is refused instead of dropped.
func canonicalDomain(raw string) (string, error) {
	switch {
	case raw == "":
		return "", fmt.Errorf("%w: empty domain", ErrBadDomain)
	case len(raw) > MaxDomainLen:
		return "", fmt.Errorf("%w: domain is %d bytes, limit %d", ErrTooLong, len(raw), MaxDomainLen)
	case raw[0] == '[':
		return canonicalLiteral(raw)
	}
	return canonicalHostname(raw)
}

// canonicalHostname checks RFC 5321 4.1.2 Domain (sub-domains of letters,
// digits and hyphens, RFC 1035 2.3.1 label rules) and lower-cases it.
func canonicalHostname(raw string) (string, error) {
	if raw[len(raw)-1] == '.' {
		return "", fmt.Errorf("%w: trailing dot in %q", ErrBadDomain, raw)
	}
	labels := strings.Split(raw, ".")
	for _, label := range labels {
		if err := checkLabel(label); err != nil {
			return "", fmt.Errorf("%w in %q", err, raw)
		}
	}
	// An all-numeric top label never names a real domain (RFC 3696 2),
	// and C resolvers read such names (1.2.3.4, 2130706433, 0x7f.1) as
	// IPv4 addresses: an IP must be written as a literal [1.2.3.4].
	if top := labels[len(labels)-1]; isNumericLabel(top) {
		return "", fmt.Errorf("%w: numeric top-level label in %q (use an address literal)", ErrBadDomain, raw)
	}
	return strings.ToLower(raw), nil
}

// checkLabel checks one LDH label: 1..63 bytes, no hyphen at either end.
func checkLabel(label string) error {
	switch {
	case label == "":
		return fmt.Errorf("%w: empty label", ErrBadDomain)
	case len(label) > maxLabelLen:
		return fmt.Errorf("%w: label of %d bytes, limit %d", ErrBadDomain, len(label), maxLabelLen)
	case label[0] == '-' || label[len(label)-1] == '-':
		return fmt.Errorf("%w: label %q starts or ends with '-'", ErrBadDomain, label)
	}
	for i := 0; i < len(label); i++ {
		c := label[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return fmt.Errorf("%w: character %q", ErrBadDomain, c)
		}
	}
	return nil
}

// isNumericLabel reports whether inet_aton(3) would read label as a number:
// decimal or octal digits, or 0x followed by hex digits.
func isNumericLabel(label string) bool {
	digits, hex := label, false
	if len(label) >= 2 && label[0] == '0' && (label[1] == 'x' || label[1] == 'X') {
		digits, hex = label[2:], true
	}
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		isHexLetter := 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
		if !('0' <= c && c <= '9' || hex && isHexLetter) {
			return false
		}
	}
	return true
}

// canonicalLiteral checks an RFC 5321 4.1.3 address literal and returns it
// in canonical form: "[a.b.c.d]" or "[IPv6:" + RFC 5952 text + "]". Only
// the IPv4 and IPv6 forms are accepted: a General-address-literal has no
// meaning we could route on. IPv6 zones and IPv4-mapped addresses are
// refused because they would give one IPv4 host a second spelling.
func canonicalLiteral(raw string) (string, error) {
	inner, ok := strings.CutSuffix(raw[1:], "]")
	if !ok {
		return "", fmt.Errorf("%w: %q does not end with ']'", ErrBadLiteral, raw)
	}
	tag, v6text, tagged := strings.Cut(inner, ":")
	if !tagged {
		ip, err := netip.ParseAddr(inner)
		if err != nil || !ip.Is4() {
			return "", fmt.Errorf("%w: %q is not a dotted-quad IPv4 address", ErrBadLiteral, raw)
		}
		return "[" + ip.String() + "]", nil
	}
	if !strings.EqualFold(tag, "IPv6") {
		return "", fmt.Errorf("%w: unsupported address literal tag %q", ErrBadLiteral, tag)
	}
	ip, err := netip.ParseAddr(v6text)
	switch {
	case err != nil || !ip.Is6():
		return "", fmt.Errorf("%w: %q is not an IPv6 address", ErrBadLiteral, raw)
	case ip.Zone() != "":
		return "", fmt.Errorf("%w: IPv6 zone in %q", ErrBadLiteral, raw)
	case ip.Is4In6():
		return "", fmt.Errorf("%w: IPv4-mapped address in %q (write [a.b.c.d])", ErrBadLiteral, raw)
	}
	return "[" + ipv6Tag + ip.String() + "]", nil
}
