package route

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

func TestParseRoutesLine(t *testing.T) {
	for _, tc := range []struct {
		line, key string
		want      Route
		bad       bool
	}{
		{line: "example.com:relay.example.net", key: "example.com", want: Route{Relay: "relay.example.net", Port: 25}},
		{line: "Example.COM:Relay.Example.NET.:2525", key: "example.com", want: Route{Relay: "relay.example.net", Port: 2525}},
		{line: ".example.org:10.0.0.1", key: ".example.org", want: Route{Relay: "10.0.0.1", Port: 25}},
		{line: ":smarthost:587 alice s3cret pass", key: "", want: Route{Relay: "smarthost", Port: 587, User: "alice", Password: "s3cret pass"}},
		{line: ":smarthost\talice\tpw\tx", key: "", want: Route{Relay: "smarthost", Port: 25, User: "alice", Password: "pw\tx"}},
		{line: "mx.example:", key: "mx.example", want: Route{Port: 25}},
		{line: "v6.example:[2001:db8::1]:26", key: "v6.example", want: Route{Relay: "2001:db8::1", Port: 26}},
		{line: "v6.example:[IPv6:2001:db8::2]", key: "v6.example", want: Route{Relay: "2001:db8::2", Port: 25}},
		{line: "v6.example:2001:db8::3", key: "v6.example", want: Route{Relay: "2001:db8::3", Port: 25}},
		{line: "[192.0.2.1]:relay", key: "[192.0.2.1]", want: Route{Relay: "relay", Port: 25}},
		{line: "no colon at all", bad: true},
		{line: "a b:relay", bad: true},
		{line: "x:relay:0", bad: true},
		{line: "x:relay:65536", bad: true},
		{line: "x:relay:port", bad: true},
		{line: "x:[2001:db8::1", bad: true},
		{line: "x:[2001:db8::1]x", bad: true},
		{line: "x:[not-an-ip]", bad: true},
		{line: "x:re lay", bad: true},            // "lay" would be a user without password
		{line: "x:relay user", bad: true},        // no password
		{line: "x: user pass", bad: true},        // credentials without relay
		{line: "x:-bad-.example", bad: true},     // not LDH
		{line: "x:a..b", bad: true},              // empty label
		{line: "x:fe80::1%eth0", bad: true},      // zones make no sense in a route
		{line: "x:relay:25 u p\x00w", bad: true}, // NUL in password
	} {
		key, got, err := parseLine(tc.line)
		if tc.bad {
			if err == nil || !errors.Is(err, ErrBadRoute) {
				t.Errorf("%q: accepted as %q %+v, want ErrBadRoute", tc.line, key, got)
			}
			continue
		}
		if err != nil || key != tc.key || got != tc.want {
			t.Errorf("%q: got %q %+v %v, want %q %+v", tc.line, key, got, err, tc.key, tc.want)
		}
	}
}

func TestParseRoutesReportsAndFirstWins(t *testing.T) {
	r, errs := ParseRoutes([]string{"a.example:one", "bad", "A.example:two", "b.example:three"})
	if len(errs) != 2 {
		t.Fatalf("errors %v, want 2 (bad line, duplicate)", errs)
	}
	if !strings.Contains(errs[0].Error(), "line 2") || !strings.Contains(errs[1].Error(), "line 3") {
		t.Errorf("errors do not name their lines: %v", errs)
	}
	if rt, _ := r.Lookup("a.example"); rt.Relay != "one" {
		t.Errorf("duplicate key: got relay %q, want the first line's", rt.Relay)
	}
	if r.Len() != 2 {
		t.Errorf("Len %d, want 2", r.Len())
	}
}

func TestRoutesLookupOrder(t *testing.T) {
	r, errs := ParseRoutes([]string{
		"exact.example:r-exact",
		".example:r-suffix",
		".sub.example:r-longer-suffix",
		"bymx.sub.example:",
		":r-default",
		"[192.0.2.9]:r-literal",
	})
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	for _, tc := range []struct {
		domain, relay string
		ok            bool
	}{
		{"exact.example", "r-exact", true},
		{"EXACT.Example", "r-exact", true},
		{"x.exact.example", "r-suffix", true},
		{"example", "r-default", true}, // ".example" does not match the bare domain
		{"a.sub.example", "r-longer-suffix", true},
		{"sub.example", "r-suffix", true},
		{"bymx.sub.example", "", false}, // empty relay: MX, even with a default route
		{"other.test", "r-default", true},
		{"[192.0.2.9]", "r-literal", true},
		{"[192.0.2.10]", "r-default", true},
	} {
		rt, ok := r.Lookup(tc.domain)
		if ok != tc.ok || rt.Relay != tc.relay {
			t.Errorf("%s: got %q %v, want %q %v", tc.domain, rt.Relay, ok, tc.relay, tc.ok)
		}
	}
	var nilRoutes *Routes
	if _, ok := nilRoutes.Lookup("x"); ok || nilRoutes.Len() != 0 {
		t.Error("nil Routes matched")
	}
	noDefault, _ := ParseRoutes([]string{"a.example:r"})
	if _, ok := noDefault.Lookup("b.example"); ok {
		t.Error("matched without a default route")
	}
}

// formatRoute writes a route back in smtproutes syntax.
func formatRoute(key string, r Route) string {
	relay := r.Relay
	if ip, err := netip.ParseAddr(relay); err == nil && ip.Is6() {
		relay = "[" + relay + "]"
	}
	s := key + ":" + relay
	if r.Relay != "" {
		s += ":" + strconv.Itoa(int(r.Port))
	}
	if r.HasAuth() {
		s += " " + r.User + " " + r.Password
	}
	return s
}

func FuzzParseRoutes(f *testing.F) {
	for _, s := range []string{
		"example.com:relay.example.net:2525", ":smarthost:587 user pass word", ".x:[IPv6:::1]:26",
		"x:", "x:2001:db8::1", "[1.2.3.4]:r", "a:b:c:d", "x:[1.2.3.4]:", "x:\t u p",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		key, rt, err := parseLine(line)
		if err != nil {
			return
		}
		if rt.Port == 0 {
			t.Fatalf("%q: port 0", line)
		}
		if rt.Relay != "" {
			if _, perr := netip.ParseAddr(rt.Relay); perr != nil && !validHost(rt.Relay) {
				t.Fatalf("%q: invalid relay %q accepted", line, rt.Relay)
			}
		}
		if (rt.User == "") != (rt.Password == "") || rt.HasAuth() && rt.Relay == "" {
			t.Fatalf("%q: half credentials %+v", line, rt)
		}
		if strings.ContainsAny(rt.User+rt.Password, "\x00\r\n") || strings.ContainsAny(rt.User, " \t") {
			t.Fatalf("%q: bad bytes in credentials %+v", line, rt)
		}
		// Round trip: what we would write reads back the same.
		again := formatRoute(key, rt)
		k2, rt2, err := parseLine(again)
		if err != nil || k2 != key || rt2 != rt {
			// Leading/trailing blanks of the password are not representable.
			if strings.TrimSpace(rt.Password) == rt.Password {
				t.Fatalf("%q -> %q -> %q %+v %v, want %q %+v", line, again, k2, rt2, err, key, rt)
			}
		}
	})
}

// TestParseRoutesAtNamesFileLines: with comments skipped, errors name the
// line of the file, not the position in the list (it said "line 1" for
// the third line of a file starting with two comments).
func TestParseRoutesAtNamesFileLines(t *testing.T) {
	_, errs := ParseRoutesAt([]string{"a.example:one", "bad"}, []int{3, 7})
	var le *LineError
	if len(errs) != 1 || !errors.As(errs[0], &le) || le.Line != 7 || !strings.HasPrefix(errs[0].Error(), "smtproutes line 7: ") {
		t.Fatalf("errors %v", errs)
	}
}
