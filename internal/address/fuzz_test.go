package address

import (
	"strings"
	"testing"
)

// FuzzParsePath checks the invariants the relay decision relies on for any
// input: no panic, nothing but printable ASCII (and space in the local
// part) in an accepted address, lengths within the caps, a lower-case
// domain, and the round trip through SMTP() and String()/Split.
func FuzzParsePath(f *testing.F) {
	for _, tc := range acceptedCases {
		f.Add(tc.arg, tc.opts.AllowNull, tc.opts.AllowNoDomain)
	}
	for _, tc := range rejectedCases {
		if len(tc.arg) <= 300 {
			f.Add(tc.arg, tc.opts.AllowNull, tc.opts.AllowNoDomain)
		}
	}
	f.Fuzz(func(t *testing.T, arg string, allowNull, allowNoDomain bool) {
		opts := Options{AllowNull: allowNull, AllowNoDomain: allowNoDomain}
		a, params, err := ParsePath(arg, opts)
		if err != nil {
			if a != (Addr{}) || params != "" {
				t.Fatalf("error %v with result %#v, %q", err, a, params)
			}
			return
		}
		checkPrintable(t, "local part", a.Local, true)
		checkPrintable(t, "domain", a.Domain, false)
		checkPrintable(t, "params", params, true)
		if len(a.Local) > MaxLocalLen || len(a.Domain) > MaxDomainLen || len(params) > MaxArgLen {
			t.Fatalf("%#v, %q exceeds a length cap", a, params)
		}
		checkDomainCase(t, a.Domain)
		switch {
		case a.IsNull() && !allowNull:
			t.Fatalf("null path accepted without AllowNull from %q", arg)
		case a.Local == "" && a.Domain != "":
			t.Fatalf("empty local part accepted from %q", arg)
		case !a.IsNull() && a.Domain == "" && !allowNoDomain:
			t.Fatalf("address without domain accepted without AllowNoDomain from %q", arg)
		case strings.Contains(a.Domain, "@"):
			t.Fatalf("'@' in domain %q", a.Domain)
		case strings.HasSuffix(a.Domain, "."):
			t.Fatalf("trailing dot in domain %q", a.Domain)
		}
		if strings.HasPrefix(a.Domain, "[") {
			if _, ok := a.LiteralIP(); !ok {
				t.Fatalf("literal domain %q has no IP", a.Domain)
			}
		}
		checkRoundTrip(t, a, opts)
	})
}

func checkPrintable(t *testing.T, what, s string, spaceOK bool) {
	t.Helper()
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c > '~' || c < ' ' || c == ' ' && !spaceOK {
			t.Fatalf("%s %q has byte 0x%02x", what, s, c)
		}
	}
}

// checkDomainCase asserts the domain is lower-case; only the literal tag
// "IPv6:" keeps its RFC 5321 spelling.
func checkDomainCase(t *testing.T, domain string) {
	t.Helper()
	rest := strings.TrimPrefix(domain, "["+ipv6Tag)
	if rest != strings.ToLower(rest) {
		t.Fatalf("domain %q is not lower-case", domain)
	}
}
