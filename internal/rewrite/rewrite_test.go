package rewrite

import (
	"errors"
	"testing"
)

func TestRoute(t *testing.T) {
	r := Build("example.test",
		[]string{"example.test", "Mail.Example.Test"},
		[]string{"example.test", "relay.test"},
		[]string{
			"virt.test:joe",
			"sales@virt.test:sales",
			".sub.test:subs",
			".deep.sub.test:deep",
			"notvirtual.test:",
			"nocolon.test",
			"virt.test:second", // duplicate: first wins
		})
	cases := []struct {
		in, addr, prepend string
		ch                Channel
	}{
		{"demo@example.test", "demo@example.test", "", Local},
		{"demo@EXAMPLE.TEST", "demo@EXAMPLE.TEST", "", Local},
		{"postmaster", "postmaster@example.test", "", Local},
		{"demo@mail.example.test", "demo@mail.example.test", "", Local},
		{"a@virt.test", "joe-a@virt.test", "joe", Local},
		{"Sales@Virt.Test", "sales-Sales@Virt.Test", "sales", Local},
		{"x@a.sub.test", "subs-x@a.sub.test", "subs", Local},
		{"x@a.deep.sub.test", "deep-x@a.deep.sub.test", "deep", Local},
		{"x@sub.test", "x@sub.test", "", Remote}, // .sub.test is subdomains only
		{"x@notvirtual.test", "x@notvirtual.test", "", Remote},
		{"x@nocolon.test", "x@nocolon.test", "", Remote},
		{"x@elsewhere.test", "x@elsewhere.test", "", Remote},
		// percenthack, repeatedly, then the ordinary rules
		{"u%virt.test@example.test", "joe-u@virt.test", "joe", Local},
		{"u%far.test@relay.test", "u@far.test", "", Remote},
		{"u%b.test%relay.test@relay.test", "u@b.test", "", Remote},
		{"u%far.test@other.test", "u%far.test@other.test", "", Remote}, // not listed
	}
	for _, c := range cases {
		got := r.Route(c.in)
		if got.Addr != c.addr || got.Channel != c.ch || got.Prepend != c.prepend {
			t.Errorf("Route(%q) = %+v, want %s %q prepend %q", c.in, got, c.ch, c.addr, c.prepend)
		}
	}
}

func TestCatchAllAndLocalsFirst(t *testing.T) {
	r := Build("h.test", []string{"h.test"}, nil, []string{":catch", "h.test:never"})
	if got := r.Route("a@h.test"); got.Channel != Local || got.Addr != "a@h.test" {
		t.Errorf("locals must win over virtualdomains: %+v", got)
	}
	if got := r.Route("a@any.test"); got.Addr != "catch-a@any.test" || got.Channel != Local {
		t.Errorf("catch-all: %+v", got)
	}
}

type fakeDir map[string]bool

func (f fakeDir) IsDomain(name string) (bool, error) {
	if name == "broken.example" {
		return false, errors.New("unreadable")
	}
	return f[name], nil
}

func TestDirectoryDomains(t *testing.T) {
	r := Build("h.test", []string{"h.test"}, nil, []string{"virt.example:v"}).WithDirectory(fakeDir{"vd.example": true, "h.test": true})
	for _, c := range []struct {
		in      string
		virtual bool
		ch      Channel
	}{
		{"a@vd.example", true, Local},
		{"a@VD.Example", true, Local},
		{"a@h.test", false, Local},       // locals first
		{"a@virt.example", false, Local}, // virtualdomains still work
		{"a@broken.example", true, Local},
		{"a@far.example", false, Remote},
	} {
		got := r.Route(c.in)
		if got.Virtual != c.virtual || got.Channel != c.ch {
			t.Errorf("Route(%q) = %+v", c.in, got)
		}
	}
}
