// Package address is goqmail's one parser of SMTP envelope addresses.
//
// The relay decision (rcpthosts) is made on the Addr that ParsePath returns
// and the address that is queued is the same Addr, so a recipient can never
// be checked under one reading and routed under another. qmail-smtpd's
// addrparse was lenient everywhere (qmail.md §6.1); this parser keeps the
// leniency real clients need (bare addresses, source routes, odd dots,
// backslash escapes) and is strict wherever a second reading could change
// the domain: exactly one unquoted '@', LDH domains, canonical literals.
package address

import (
	"net/netip"
	"strings"
)

// Size limits. RFC 5321 4.5.3.1.1 says 64 octets for a local part, but
// VERP and SRS addresses exceed it and Postfix does not enforce it, so we
// allow 256. The domain limit is RFC 5321 4.5.3.1.2. The argument limit
// bounds the work per command; qmail-smtpd refused addresses over 900.
const (
	MaxLocalLen  = 256
	MaxDomainLen = 255
	MaxArgLen    = 1000
	maxLabelLen  = 63
)

// Error is the type of the sentinel errors below. It is a string type so
// the sentinels are constants; detail is added by wrapping them with %w, and
// callers test them with errors.Is to pick the SMTP reply.
type Error string

func (e Error) Error() string { return string(e) }

// The failures ParsePath reports. A source route is not among them: it is
// stripped, as RFC 5321 4.1.1.3 and appendix C ask.
const (
	ErrSyntax     Error = "address syntax error"
	ErrTooLong    Error = "address too long"
	ErrBadChar    Error = "invalid character in address"
	ErrNull       Error = "null address not allowed"
	ErrNoDomain   Error = "address without domain not allowed"
	ErrBadDomain  Error = "invalid domain"
	ErrBadLiteral Error = "invalid address literal"
)

// Addr is an envelope address in canonical form. The zero Addr is the null
// reverse-path <>; ParsePath never returns an empty Local otherwise.
type Addr struct {
	// Local is the local part, unquoted and unescaped: the mailbox name
	// bytes. It may contain '@' (from "a@b"@c or a\@b@c), never controls.
	Local string
	// Domain is a lower-case ASCII domain without trailing dot, or a
	// canonical address literal "[192.0.2.1]" / "[IPv6:2001:db8::1]";
	// "" for the null path or an address given without domain.
	Domain string
}

// IsNull reports whether a is the null reverse-path <> (RFC 5321 4.5.5).
func (a Addr) IsNull() bool { return a.Local == "" && a.Domain == "" }

// String returns qmail's internal form, Local "@" Domain without quoting,
// as stored in the queue's envelope. qmail splits it again at the last '@'
// (see Split), which is why Domain can never contain '@'.
func (a Addr) String() string {
	if a.Domain == "" {
		return a.Local
	}
	return a.Local + "@" + a.Domain
}

// SMTP returns the address as an RFC 5321 4.1.2 Path, angle brackets
// included. The local part is written as a Dot-string when it is a strict
// one and as a Quoted-string otherwise, so that the peer (and ParsePath)
// reads back exactly Local.
func (a Addr) SMTP() string {
	if a.IsNull() {
		return "<>"
	}
	var b strings.Builder
	b.Grow(len(a.Local) + len(a.Domain) + 4)
	b.WriteByte('<')
	if isDotString(a.Local) {
		b.WriteString(a.Local)
	} else {
		writeQuoted(&b, a.Local)
	}
	if a.Domain != "" {
		b.WriteByte('@')
		b.WriteString(a.Domain)
	}
	b.WriteByte('>')
	return b.String()
}

// LiteralIP returns the IP address of an address-literal domain, for the
// caller's "is this one of my addresses" check (qmail's localiphost).
func (a Addr) LiteralIP() (netip.Addr, bool) {
	inner, ok := strings.CutPrefix(a.Domain, "[")
	if !ok {
		return netip.Addr{}, false
	}
	inner, ok = strings.CutSuffix(inner, "]")
	if !ok {
		return netip.Addr{}, false
	}
	inner, isV6 := strings.CutPrefix(inner, ipv6Tag)
	ip, err := netip.ParseAddr(inner)
	if err != nil || ip.Is6() != isV6 {
		return netip.Addr{}, false
	}
	return ip, true
}

// Split splits an address in internal form at its last '@', as qmail-send
// and rcpthosts do; without '@' the whole string is the local part.
func Split(s string) (local, domain string) {
	i := strings.LastIndexByte(s, '@')
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i+1:]
}

// isAtext reports whether c is atext (RFC 5322 3.2.3, used by RFC 5321
// 4.1.2 for Atom).
func isAtext(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// isDotString reports whether s is a strict RFC 5321 Dot-string:
// Atom *("." Atom), so no leading, trailing or doubled dots.
func isDotString(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '.' && !isAtext(s[i]) {
			return false
		}
	}
	return true
}

// writeQuoted writes s as an RFC 5321 Quoted-string: '"' and '\' become
// quoted-pairs, everything else (printable ASCII and space) is qtextSMTP.
func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
}
