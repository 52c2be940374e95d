package vdir

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckDomain(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"Example.COM", "example.com", ""},
		{"a-b.c0.org", "a-b.c0.org", ""},
		{"", "", "empty domain name"},
		{"localhost", "", "has no dot"},
		{"a..b", "", "empty label"},
		{".a.b", "", "empty label"},
		{"a.b.", "", "empty label"},
		{"-a.b", "", "starts or ends with '-'"},
		{"a-.b", "", "starts or ends with '-'"},
		{"a_b.c", "", "character '_' not allowed"},
		{"../etc.x", "", "empty label"},
		{"a/b.c", "", "character '/' not allowed"},
		{strings.Repeat("a", 64) + ".com", "", "longer than 63"},
		{strings.Repeat("a.", 127) + "com", "", "at most 253"},
	} {
		got, err := CheckDomain(tc.in)
		if tc.err == "" {
			if err != nil || got != tc.want {
				t.Errorf("CheckDomain(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
			continue
		}
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("CheckDomain(%q) error %v; want %q", tc.in, err, tc.err)
		}
	}
}

func TestCheckLocal(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"Bob", "bob", ""},
		{"first.last+tag_x-y", "first.last+tag_x-y", ""},
		{"postmaster", "postmaster", ""},
		{"", "", "empty local part"},
		{".bob", "", "starts with '.'"},
		{"-bob", "", "starts with '-'"},
		{"bob.", "", "ends with '.'"},
		{"a..b", "", "two dots"},
		{"a b", "", "character ' ' not allowed"},
		{"a/b", "", "character '/' not allowed"},
		{"a@b", "", "character '@' not allowed"},
		{"default", "", "reserved"},
		{strings.Repeat("x", 65), "", "at most 64"},
	} {
		got, err := CheckLocal(tc.in)
		if tc.err == "" {
			if err != nil || got != tc.want {
				t.Errorf("CheckLocal(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
			continue
		}
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("CheckLocal(%q) error %v; want %q", tc.in, err, tc.err)
		}
	}
}

func TestParseCatchall(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Catchall
		err  string
	}{
		{"bounce", Catchall{Kind: CatchBounce}, ""},
		{"REJECT", Catchall{Kind: CatchReject}, ""},
		{"mailbox:Bob", Catchall{CatchMailbox, "bob"}, ""},
		{"forward:a@B.org,c", Catchall{CatchForward, "a@b.org,c@example.com"}, ""},
		{"forward: a@b.org , c@d.org ", Catchall{CatchForward, "a@b.org,c@d.org"}, ""},
		{"bounce:x", Catchall{}, "takes no argument"},
		{"mailbox:", Catchall{}, "empty local part"},
		{"forward:", Catchall{}, "empty target"},
		{"forward:a@b.org,,c@d.org", Catchall{}, "empty target"},
		{"forward:a@@b", Catchall{}, "not a valid address"},
		{"forward:\"a b\"@c.org", Catchall{}, "need quoting"},
		{"forward:a@b.org> SIZE=1", Catchall{}, "text after the address"},
		{"forward:\\(@a.org", Catchall{}, "need quoting"},
		{"forward:.a@b.org", Catchall{}, "need quoting"},
		{"forward:x@[IPv6:2001:db8::1]", Catchall{CatchForward, "x@[IPv6:2001:db8::1]"}, ""},
		{"forward:a@b.org>,c@d.org", Catchall{}, "not a valid address"},
		{"deliver", Catchall{}, "want bounce, reject, mailbox:USER or forward:ADDRESS"},
	} {
		got, err := ParseCatchall(tc.in, "example.com")
		if tc.err == "" {
			if err != nil || got != tc.want {
				t.Errorf("ParseCatchall(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			}
			if again, err := ParseCatchall(got.String(), "example.com"); err != nil || again != got {
				t.Errorf("round trip of %q: %+v, %v", tc.in, again, err)
			}
			continue
		}
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("ParseCatchall(%q) error %v; want %q", tc.in, err, tc.err)
		}
	}
}

func TestSplitAddress(t *testing.T) {
	l, d, err := SplitAddress("Bob@Example.Com")
	if err != nil || l != "bob" || d != "example.com" {
		t.Errorf("got %q %q %v", l, d, err)
	}
	for in, frag := range map[string]string{
		"bob":          "has no '@'",
		"@example.com": "empty local part",
		"bob@":         "empty domain name",
		"b b@x.org":    "character ' '",
	} {
		if _, _, err := SplitAddress(in); err == nil || !strings.Contains(err.Error(), frag) {
			t.Errorf("SplitAddress(%q) = %v, want %q", in, err, frag)
		}
	}
}
