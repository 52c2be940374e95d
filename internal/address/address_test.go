package address

import (
	"net/netip"
	"testing"
)

func TestAddrForms(t *testing.T) {
	tests := []struct {
		addr     Addr
		internal string
		wire     string
		null     bool
	}{
		{Addr{}, "", "<>", true},
		{Addr{"a", "b.example"}, "a@b.example", "<a@b.example>", false},
		{Addr{"postmaster", ""}, "postmaster", "<postmaster>", false},
		{Addr{"a b", "c.example"}, "a b@c.example", "<\"a b\"@c.example>", false},
		{Addr{"a@b", "c.example"}, "a@b@c.example", "<\"a@b\"@c.example>", false},
		{Addr{"a\"b\\c", "d.example"}, "a\"b\\c@d.example", "<\"a\\\"b\\\\c\"@d.example>", false},
		{Addr{".a", "b.example"}, ".a@b.example", "<\".a\"@b.example>", false},
		{Addr{"a.", "b.example"}, "a.@b.example", "<\"a.\"@b.example>", false},
		{Addr{"a..b", "c.example"}, "a..b@c.example", "<\"a..b\"@c.example>", false},
		{Addr{"first.last+tag", "c.example"}, "first.last+tag@c.example", "<first.last+tag@c.example>", false},
		{Addr{"u", "[IPv6:::1]"}, "u@[IPv6:::1]", "<u@[IPv6:::1]>", false},
	}
	for _, tc := range tests {
		if got := tc.addr.String(); got != tc.internal {
			t.Errorf("%#v.String() = %q, want %q", tc.addr, got, tc.internal)
		}
		if got := tc.addr.SMTP(); got != tc.wire {
			t.Errorf("%#v.SMTP() = %q, want %q", tc.addr, got, tc.wire)
		}
		if got := tc.addr.IsNull(); got != tc.null {
			t.Errorf("%#v.IsNull() = %v, want %v", tc.addr, got, tc.null)
		}
	}
}

func TestSplit(t *testing.T) {
	tests := []struct{ in, local, domain string }{
		{"a@b", "a", "b"},
		{"a@b@c", "a@b", "c"},
		{"postmaster", "postmaster", ""},
		{"", "", ""},
		{"a@", "a", ""},
		{"@b", "", "b"},
	}
	for _, tc := range tests {
		if l, d := Split(tc.in); l != tc.local || d != tc.domain {
			t.Errorf("Split(%q) = %q, %q; want %q, %q", tc.in, l, d, tc.local, tc.domain)
		}
	}
}

func TestLiteralIP(t *testing.T) {
	tests := []struct {
		domain string
		ip     string // "" for not a literal
	}{
		{"[192.0.2.1]", "192.0.2.1"},
		{"[IPv6:2001:db8::1]", "2001:db8::1"},
		{"[IPv6:::1]", "::1"},
		{"example.com", ""},
		{"[2001:db8::1]", ""},                   // IPv6 needs its tag
		{"[IPv6:192.0.2.1]", ""},                // and IPv4 must not have it
		{"[192.0.2.1", ""},                      // hand-built, unclosed
		{"[x-tag:whatever]", ""},                // general literal
		{"", ""},                                // null or no domain
		{"[IPv6:fe80::1%eth0]", "fe80::1%eth0"}, // only ParsePath refuses zones
	}
	for _, tc := range tests {
		ip, ok := Addr{"u", tc.domain}.LiteralIP()
		if tc.ip == "" {
			if ok {
				t.Errorf("LiteralIP of %q = %v, want none", tc.domain, ip)
			}
			continue
		}
		if want := netip.MustParseAddr(tc.ip); !ok || ip != want {
			t.Errorf("LiteralIP of %q = %v, %v; want %v", tc.domain, ip, ok, want)
		}
	}
}

// TestLiteralIPFromParse ties LiteralIP to the parser's canonical form.
func TestLiteralIPFromParse(t *testing.T) {
	for arg, want := range map[string]string{
		"<u@[127.0.0.1]>":          "127.0.0.1",
		"<u@[IPV6:2001:DB8::0:1]>": "2001:db8::1",
	} {
		a, _, err := ParsePath(arg, Options{})
		if err != nil {
			t.Fatalf("ParsePath(%q): %v", arg, err)
		}
		if ip, ok := a.LiteralIP(); !ok || ip != netip.MustParseAddr(want) {
			t.Errorf("LiteralIP of %q = %v, %v; want %v", arg, ip, ok, want)
		}
	}
}
