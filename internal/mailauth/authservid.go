package mailauth

import (
	"strings"
)

// AuthServID returns the authserv-id of an Authentication-Results field's
// value (RFC 8601 2.2: [CFWS] authserv-id, a token or a quoted-string,
// before the optional version and the first ';'), or "" when there is
// none. Comments and folding before it are skipped, and a quoted id is
// unquoted, so no spelling of this host's name escapes RFC 8601 5's
// "MUST ... delete" of fields that claim it.
func AuthServID(value string) string {
	s := skipCFWS(value)
	if strings.HasPrefix(s, `"`) {
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			switch c := s[i]; c {
			case '\\':
				if i+1 < len(s) {
					i++
					b.WriteByte(s[i])
				}
			case '"':
				return b.String()
			default:
				b.WriteByte(c)
			}
		}
		return b.String()
	}
	end := strings.IndexFunc(s, func(r rune) bool {
		return r == ';' || r == '(' || r == ' ' || r == '\t' || r == '\r' || r == '\n'
	})
	if end < 0 {
		end = len(s)
	}
	return s[:end]
}

// skipCFWS skips white space, line breaks and (nested) comments.
func skipCFWS(s string) string {
	depth := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && depth > 0:
			i++
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth > 0, c == ' ', c == '\t', c == '\r', c == '\n':
		default:
			return s[i:]
		}
	}
	return ""
}

// ClaimsID reports whether an Authentication-Results field (whole, with
// its name) names id as its authserv-id, ignoring case (a domain name).
func ClaimsID(field []byte, id string) bool {
	name, value, ok := strings.Cut(string(field), ":")
	if !ok || !strings.EqualFold(strings.TrimRight(name, " \t"), "Authentication-Results") {
		return false
	}
	got := AuthServID(value)
	return got != "" && strings.EqualFold(strings.TrimSuffix(got, "."), strings.TrimSuffix(id, "."))
}
