package bounce

import "strings"

// quoteAddr writes addr for a header, quoting its local part when it is not
// a dot-atom, as qmail's quote() does for From:, To: and Return-Path:
// (RFC 5322 3.4.1; UTF-8 is atext under RFC 6532). The domain, after the
// last '@', is left as it is, and so is the empty address.
func quoteAddr(addr string) string {
	if addr == "" {
		return "" // the null path stays "<>"
	}
	local, domain := addr, ""
	if at := strings.LastIndexByte(addr, '@'); at >= 0 {
		local, domain = addr[:at], addr[at:]
	}
	if isDotAtom(local) {
		return addr
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range local {
		if r == '"' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String() + domain
}

func isDotAtom(s string) bool {
	if s == "" {
		return false
	}
	for _, atom := range strings.Split(s, ".") {
		if atom == "" {
			return false
		}
		for _, r := range atom {
			if !isAtext(r) {
				return false
			}
		}
	}
	return true
}

// isAtext is RFC 5322 3.2.3 atext, extended by RFC 6532 3.2 to non-ASCII.
func isAtext(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	case r >= 0x80:
		return true
	}
	return strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", r)
}
