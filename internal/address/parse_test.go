package address

import (
	"errors"
	"strings"
	"testing"
)

var (
	mailOpts = Options{AllowNull: true}
	rcptOpts = Options{AllowNoDomain: true}
	strict   = Options{}
)

type parseCase struct {
	name   string
	arg    string
	opts   Options
	want   Addr
	params string
	err    error
}

// acceptedCases are addresses ParsePath must accept, with their canonical
// form and parameters.
var acceptedCases = []parseCase{
	{"plain", "<user@example.com>", strict, Addr{"user", "example.com"}, "", nil},
	{"leading spaces", "   <user@example.com>", strict, Addr{"user", "example.com"}, "", nil},
	{"domain lower-cased, local kept", "<User@EXAMPLE.Com>", strict, Addr{"User", "example.com"}, "", nil},
	{"null with AllowNull", "<>", mailOpts, Addr{}, "", nil},
	{"null with params", "<> SIZE=100", mailOpts, Addr{}, "SIZE=100", nil},
	{"params", "<a@example.com> SIZE=1000 BODY=8BITMIME", mailOpts, Addr{"a", "example.com"}, "SIZE=1000 BODY=8BITMIME", nil},
	{"params trimmed", "<a@example.com>   BODY=7BIT  ", mailOpts, Addr{"a", "example.com"}, "BODY=7BIT", nil},
	{"only spaces after path", "<a@example.com>   ", mailOpts, Addr{"a", "example.com"}, "", nil},
	{"params any printable", "<a@example.com> X=<\"\\>", mailOpts, Addr{"a", "example.com"}, "X=<\"\\>", nil},
	{"no domain with AllowNoDomain", "<postmaster>", rcptOpts, Addr{"postmaster", ""}, "", nil},
	{"no domain quoted", "<\"post master\">", rcptOpts, Addr{"post master", ""}, "", nil},
	{"bare mailbox", "user@example.com", strict, Addr{"user", "example.com"}, "", nil},
	{"bare mailbox after spaces with params", " user@example.com SIZE=5", strict, Addr{"user", "example.com"}, "SIZE=5", nil},
	{"bare no domain", "postmaster", rcptOpts, Addr{"postmaster", ""}, "", nil},
	{"bare quoted with space", "\"a b\"@example.com", strict, Addr{"a b", "example.com"}, "", nil},
	{"percent hack stays local", "<user%other@example.com>", strict, Addr{"user%other", "example.com"}, "", nil},
	{"bang path stays local", "<a!b@example.com>", strict, Addr{"a!b", "example.com"}, "", nil},
	{"quoted @", "<\"a@b\"@example.com>", strict, Addr{"a@b", "example.com"}, "", nil},
	{"escaped @ (qmail)", "<a\\@b@example.com>", strict, Addr{"a@b", "example.com"}, "", nil},
	{"escaped @ user@other", "<user\\@other@example.com>", strict, Addr{"user@other", "example.com"}, "", nil},
	{"escaped space and quote", "<a\\ b\\\"c@example.com>", strict, Addr{"a b\"c", "example.com"}, "", nil},
	{"quoted pairs", "<\"a\\\"b\\\\c\"@example.com>", strict, Addr{"a\"b\\c", "example.com"}, "", nil},
	{"quoted > and space", "<\"a> b\"@example.com>", strict, Addr{"a> b", "example.com"}, "", nil},
	{"leading dot", "<.a@example.com>", strict, Addr{".a", "example.com"}, "", nil},
	{"trailing dot in local", "<a.@example.com>", strict, Addr{"a.", "example.com"}, "", nil},
	{"double dot", "<a..b@example.com>", strict, Addr{"a..b", "example.com"}, "", nil},
	{"all atext", "<!#$%&'*+-/=?^_`{|}~@example.com>", strict, Addr{"!#$%&'*+-/=?^_`{|}~", "example.com"}, "", nil},
	{"source route stripped", "<@evil.com:user@example.com>", strict, Addr{"user", "example.com"}, "", nil},
	{"long source route", "<@a.example,@[192.0.2.1],@b_c.example:user@example.com>", strict, Addr{"user", "example.com"}, "", nil},
	{"source route ipv6", "<@[IPv6:::1]:user@example.com>", strict, Addr{"user", "example.com"}, "", nil},
	{"ipv4 literal", "<user@[127.0.0.1]>", strict, Addr{"user", "[127.0.0.1]"}, "", nil},
	{"ipv6 literal", "<user@[IPv6:::1]>", strict, Addr{"user", "[IPv6:::1]"}, "", nil},
	{"ipv6 literal canonicalised", "<user@[ipv6:2001:DB8:0:0:0:0:0:1]>", strict, Addr{"user", "[IPv6:2001:db8::1]"}, "", nil},
	{"ipv6 with embedded ipv4", "<user@[IPv6:2001:db8::192.0.2.1]>", strict, Addr{"user", "[IPv6:2001:db8::c000:201]"}, "", nil},
	{"single label", "<root@localhost>", strict, Addr{"root", "localhost"}, "", nil},
	{"digits inside domain", "<a@3com.example>", strict, Addr{"a", "3com.example"}, "", nil},
	{"numeric non-top labels", "<a@1.2.3.example>", strict, Addr{"a", "1.2.3.example"}, "", nil},
	{"hyphen inside label", "<a@x-y.example>", strict, Addr{"a", "x-y.example"}, "", nil},
	{"local part at limit", "<" + strings.Repeat("l", MaxLocalLen) + "@example.com>", strict, Addr{strings.Repeat("l", MaxLocalLen), "example.com"}, "", nil},
	{"domain at limit", "<a@" + longDomain(MaxDomainLen) + ">", strict, Addr{"a", longDomain(MaxDomainLen)}, "", nil},
	{"label at limit", "<a@" + strings.Repeat("x", 63) + ".example>", strict, Addr{"a", strings.Repeat("x", 63) + ".example"}, "", nil},
}

// rejectedCases are inputs ParsePath must refuse, with the sentinel error.
var rejectedCases = []parseCase{
	{"empty", "", mailOpts, Addr{}, "", ErrSyntax},
	{"only spaces", "   ", mailOpts, Addr{}, "", ErrSyntax},
	{"null without AllowNull", "<>", rcptOpts, Addr{}, "", ErrNull},
	{"no domain without AllowNoDomain", "<postmaster>", mailOpts, Addr{}, "", ErrNoDomain},
	{"bare no domain without AllowNoDomain", "postmaster", strict, Addr{}, "", ErrNoDomain},
	{"two @", "<a@b@example.com>", strict, Addr{}, "", ErrSyntax},
	{"two @ bare", "a@b@example.com", strict, Addr{}, "", ErrSyntax},
	{"escaped @ without domain", "<a\\@example.com>", rcptOpts, Addr{}, "", ErrSyntax},
	{"quoted @ without domain", "<\"a@example.com\">", rcptOpts, Addr{}, "", ErrSyntax},
	{"empty local part", "<@example.com>", strict, Addr{}, "", ErrSyntax},
	{"empty local part bare", "@example.com", strict, Addr{}, "", ErrSyntax},
	{"empty quoted local part", "<\"\"@example.com>", strict, Addr{}, "", ErrSyntax},
	{"empty after route", "<@a:@example.com>", strict, Addr{}, "", ErrSyntax},
	{"route without mailbox", "<@a:>", mailOpts, Addr{}, "", ErrSyntax},
	{"malformed route", "<@a,b:user@example.com>", strict, Addr{}, "", ErrSyntax},
	{"route empty domain", "<@:user@example.com>", strict, Addr{}, "", ErrSyntax},
	{"route bad char", "<@a!b:user@example.com>", strict, Addr{}, "", ErrSyntax},
	{"route unclosed literal", "<@[1.2.3.4:user@example.com>", strict, Addr{}, "", ErrSyntax},
	{"missing >", "<user@example.com", strict, Addr{}, "", ErrSyntax},
	{"missing > local", "<user", rcptOpts, Addr{}, "", ErrSyntax},
	{"missing <", "user@example.com>", strict, Addr{}, "", ErrSyntax},
	{"bare then bracketed", "Joe <joe@example.com>", rcptOpts, Addr{}, "", ErrSyntax},
	{"bare then bracketed with domain", "a@example.com <b@example.org>", strict, Addr{}, "", ErrSyntax},
	{"double brackets", "<<user@example.com>>", strict, Addr{}, "", ErrSyntax},
	{"< in domain", "<user@exa<mple.com>", strict, Addr{}, "", ErrSyntax},
	{"unterminated quote", "<\"user@example.com>", strict, Addr{}, "", ErrSyntax},
	{"junk after >", "<user@example.com>x", strict, Addr{}, "", ErrSyntax},
	{"second path after >", "<user@example.com><a@b.example>", strict, Addr{}, "", ErrSyntax},
	{"junk after null", "<>x", mailOpts, Addr{}, "", ErrSyntax},
	{"space in local", "<us er@example.com>", strict, Addr{}, "", ErrSyntax},
	{"space before >", "<user@example.com >", strict, Addr{}, "", ErrSyntax},
	{"space after <", "< user@example.com>", strict, Addr{}, "", ErrSyntax},
	{"text after quoted local", "<\"a\"b@example.com>", strict, Addr{}, "", ErrSyntax},
	{"quote inside local", "<a\"b\"@example.com>", strict, Addr{}, "", ErrSyntax},
	{"special in local", "<a,b@example.com>", strict, Addr{}, "", ErrSyntax},
	{"colon in local", "<a:b@example.com>", strict, Addr{}, "", ErrSyntax},
	{"trailing backslash", "<a\\", strict, Addr{}, "", ErrSyntax},
	{"trailing backslash bare", "a\\", rcptOpts, Addr{}, "", ErrSyntax},
	{"NUL", "<a\x00b@example.com>", strict, Addr{}, "", ErrBadChar},
	{"CR", "<a@example.com>\r", strict, Addr{}, "", ErrBadChar},
	{"LF", "<a@exa\nmple.com>", strict, Addr{}, "", ErrBadChar},
	{"tab", "\t<a@example.com>", strict, Addr{}, "", ErrBadChar},
	{"DEL", "<a\x7f@example.com>", strict, Addr{}, "", ErrBadChar},
	{"8-bit local", "<j\xc3\xb6rg@example.com>", strict, Addr{}, "", ErrBadChar},
	{"8-bit quoted", "<\"\xff\"@example.com>", strict, Addr{}, "", ErrBadChar},
	{"escaped control", "<a\\\x01@example.com>", strict, Addr{}, "", ErrBadChar},
	{"control in params", "<a@example.com> SIZE=1\x01", strict, Addr{}, "", ErrBadChar},
	{"8-bit in params", "<a@example.com> X=\x80", strict, Addr{}, "", ErrBadChar},
	{"argument too long", "<a@example.com> " + strings.Repeat("X", MaxArgLen), strict, Addr{}, "", ErrTooLong},
	{"local part too long", "<" + strings.Repeat("l", MaxLocalLen+1) + "@example.com>", strict, Addr{}, "", ErrTooLong},
	{"quoted local part too long", "<\"" + strings.Repeat("l", MaxLocalLen+1) + "\"@example.com>", strict, Addr{}, "", ErrTooLong},
	{"domain too long", "<a@" + longDomain(MaxDomainLen+1) + ">", strict, Addr{}, "", ErrTooLong},
	{"label too long", "<a@" + strings.Repeat("x", 64) + ".example>", strict, Addr{}, "", ErrBadDomain},
	{"trailing dot", "<user@example.com.>", strict, Addr{}, "", ErrBadDomain},
	{"bare IPv4", "<user@1.2.3.4>", strict, Addr{}, "", ErrBadDomain},
	{"decimal IPv4", "<user@2130706433>", strict, Addr{}, "", ErrBadDomain},
	{"hex IPv4", "<user@0x7f.1>", strict, Addr{}, "", ErrBadDomain},
	{"hex single label", "<user@0x7F000001>", strict, Addr{}, "", ErrBadDomain},
	{"empty domain", "<user@>", strict, Addr{}, "", ErrBadDomain},
	{"empty domain bare", "user@ SIZE=1", strict, Addr{}, "", ErrBadDomain},
	{"leading dot domain", "<user@.example.com>", strict, Addr{}, "", ErrBadDomain},
	{"double dot domain", "<user@example..com>", strict, Addr{}, "", ErrBadDomain},
	{"leading hyphen", "<user@-example.com>", strict, Addr{}, "", ErrBadDomain},
	{"trailing hyphen", "<user@example-.com>", strict, Addr{}, "", ErrBadDomain},
	{"underscore", "<user@ex_ample.com>", strict, Addr{}, "", ErrBadDomain},
	{"quote in domain", "<user@\"example.com\">", strict, Addr{}, "", ErrBadDomain},
	{"backslash in domain", "<user@exam\\ple.com>", strict, Addr{}, "", ErrBadDomain},
	{"percent in domain", "<user@a%b.example>", strict, Addr{}, "", ErrBadDomain},
	{"general literal", "<user@[x-tag:foo]>", strict, Addr{}, "", ErrBadLiteral},
	{"empty literal", "<user@[]>", strict, Addr{}, "", ErrBadLiteral},
	{"unclosed literal", "<user@[127.0.0.1>", strict, Addr{}, "", ErrBadLiteral},
	{"junk after literal", "<user@[127.0.0.1]x>", strict, Addr{}, "", ErrBadLiteral},
	{"leading zeros literal", "<user@[127.0.0.01]>", strict, Addr{}, "", ErrBadLiteral},
	{"short ipv4 literal", "<user@[127.1]>", strict, Addr{}, "", ErrBadLiteral},
	{"untagged ipv6 literal", "<user@[::1]>", strict, Addr{}, "", ErrBadLiteral},
	{"ipv4 under IPv6 tag", "<user@[IPv6:127.0.0.1]>", strict, Addr{}, "", ErrBadLiteral},
	{"ipv6 zone", "<user@[IPv6:fe80::1%eth0]>", strict, Addr{}, "", ErrBadLiteral},
	{"ipv4-mapped", "<user@[IPv6:::ffff:127.0.0.1]>", strict, Addr{}, "", ErrBadLiteral},
	{"hostname literal", "<user@[example.com]>", strict, Addr{}, "", ErrBadLiteral},
}

// longDomain returns a valid domain of exactly n bytes.
func longDomain(n int) string {
	var b strings.Builder
	for b.Len() < n {
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		label := min(n-b.Len(), 63)
		if n-b.Len()-label == 1 { // never leave room for just a dot
			label--
		}
		b.WriteString(strings.Repeat("a", label))
	}
	return b.String()
}

func TestLongDomainHelper(t *testing.T) {
	for _, n := range []int{1, 63, 64, 65, 127, 128, 255, 256} {
		d := longDomain(n)
		if len(d) != n || strings.HasSuffix(d, ".") || strings.Contains(d, "..") {
			t.Errorf("longDomain(%d) = %q (len %d)", n, d, len(d))
		}
	}
}

func TestParsePathAccepts(t *testing.T) {
	for _, tc := range acceptedCases {
		t.Run(tc.name, func(t *testing.T) {
			got, params, err := ParsePath(tc.arg, tc.opts)
			if err != nil {
				t.Fatalf("ParsePath(%q) error %v", tc.arg, err)
			}
			if got != tc.want || params != tc.params {
				t.Fatalf("ParsePath(%q) = %#v, %q; want %#v, %q", tc.arg, got, params, tc.want, tc.params)
			}
			checkRoundTrip(t, got, tc.opts)
		})
	}
}

func TestParsePathRejects(t *testing.T) {
	for _, tc := range rejectedCases {
		t.Run(tc.name, func(t *testing.T) {
			got, params, err := ParsePath(tc.arg, tc.opts)
			if !errors.Is(err, tc.err) {
				t.Fatalf("ParsePath(%q) = %#v, %q, %v; want error %v", tc.arg, got, params, err, tc.err)
			}
			if got != (Addr{}) || params != "" {
				t.Errorf("ParsePath(%q) returned %#v, %q alongside its error", tc.arg, got, params)
			}
		})
	}
}

// TestErrorsCarryDetail checks that the sentinels are wrapped, not bare,
// so the log says what was wrong.
func TestErrorsCarryDetail(t *testing.T) {
	_, _, err := ParsePath("<a@b@example.com>", strict)
	if err == nil || err == error(ErrSyntax) || !strings.Contains(err.Error(), "'@'") {
		t.Errorf("error %v lacks detail", err)
	}
}

// checkRoundTrip asserts rule 10: the wire form parses back to the same
// Addr under the same options, and the internal form splits back into it.
func checkRoundTrip(t *testing.T, a Addr, opts Options) {
	t.Helper()
	wire := a.SMTP()
	back, params, err := ParsePath(wire, opts)
	if err != nil || back != a || params != "" {
		t.Errorf("ParsePath(%q) = %#v, %q, %v; want %#v back", wire, back, params, err, a)
	}
	if l, d := Split(a.String()); l != a.Local || d != a.Domain {
		t.Errorf("Split(%q) = %q, %q; want %q, %q", a.String(), l, d, a.Local, a.Domain)
	}
}
