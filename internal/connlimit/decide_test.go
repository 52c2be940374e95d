package connlimit

import (
	"net/netip"
	"testing"
)

func TestDecide(t *testing.T) {
	std := Limits{Total: 100, PerClient: 20, Rate: 300}
	for _, tc := range []struct {
		name string
		f    Facts
		l    Limits
		want Verdict
	}{
		{"first connection", Facts{Attempts: 1}, std, Admit},
		{"below every limit", Facts{Sessions: 99, Client: 19, Attempts: 300}, std, Admit},
		{"budget used up", Facts{Sessions: 100, Attempts: 1}, std, OverTotal},
		{"budget used up, trusted client too", Facts{Sessions: 100, Attempts: 1, Exempt: true}, std, OverTotal},
		{"client at its limit", Facts{Sessions: 50, Client: 20, Attempts: 21}, std, OverClient},
		{"client over its rate", Facts{Sessions: 50, Client: 1, Attempts: 301}, std, OverRate},
		{"rate named before concurrency", Facts{Sessions: 50, Client: 20, Attempts: 301}, std, OverRate},
		{"trusted client past both", Facts{Sessions: 50, Client: 80, Attempts: 5000, Exempt: true}, std, Admit},
		{"no per-client limit", Facts{Sessions: 50, Client: 80, Attempts: 5}, Limits{Total: 100, Rate: 300}, Admit},
		{"no rate limit", Facts{Sessions: 50, Client: 1, Attempts: 5000}, Limits{Total: 100, PerClient: 20}, Admit},
		{"no limits at all", Facts{Sessions: 1e6, Client: 1e6, Attempts: 1e6}, Limits{}, Admit},
		{"per-client limit of 1", Facts{Sessions: 3, Client: 1, Attempts: 2}, Limits{Total: 10, PerClient: 1}, OverClient},
		{"total of 1", Facts{Sessions: 1, Attempts: 1}, Limits{Total: 1}, OverTotal},
	} {
		if got := Decide(tc.f, tc.l); got != tc.want {
			t.Errorf("%s: Decide(%+v, %+v) = %v, want %v", tc.name, tc.f, tc.l, got, tc.want)
		}
	}
}

func TestStressed(t *testing.T) {
	for _, tc := range []struct {
		sessions, total, percent int
		was, want                bool
	}{
		{0, 1000, 80, false, false},
		{799, 1000, 80, false, false},
		{800, 1000, 80, false, true},
		{1000, 1000, 80, false, true},
		{799, 1000, 80, true, true}, // once on, it stays on down to 720
		{720, 1000, 80, true, true},
		{719, 1000, 80, true, false},
		{0, 1000, 80, true, false},
		{1, 1, 100, false, true},
		{0, 1, 100, true, false},
		{3, 4, 75, false, true},
		{2, 4, 75, false, false},
		{2, 4, 50, false, true},
		{1, 4, 50, true, false},  // 1.8 is the floor: one session is below it
		{5, 0, 80, false, false}, // no budget: never stressed
		{5, 10, 0, true, false},  // no threshold
	} {
		if got := Stressed(tc.sessions, tc.total, tc.percent, tc.was); got != tc.want {
			t.Errorf("Stressed(%d, %d, %d%%, was %v) = %v, want %v", tc.sessions, tc.total, tc.percent, tc.was, got, tc.want)
		}
	}
}

func TestKey(t *testing.T) {
	for _, tc := range []struct{ ip, want string }{
		{"192.0.2.7", "192.0.2.7/32"},
		{"::ffff:192.0.2.7", "192.0.2.7/32"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"::1", "::/64"},
	} {
		if got := Key(netip.MustParseAddr(tc.ip)); got.String() != tc.want {
			t.Errorf("Key(%s) = %s, want %s", tc.ip, got, tc.want)
		}
	}
	if got := Key(netip.Addr{}); got != (netip.Prefix{}) {
		t.Errorf("Key(invalid) = %v, want the zero prefix", got)
	}
	if Key(netip.MustParseAddr("2001:db8::1")) != Key(netip.MustParseAddr("2001:db8::ffff:2")) {
		t.Error("two addresses of one /64 are two clients")
	}
}
