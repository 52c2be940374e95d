package route

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// fakeDNS is an in-memory Resolver: "mx:"+domain -> MX list, "ip:"+host
// -> addresses; a missing key is ErrNotFound, a key in fail is temporary.
type fakeDNS struct {
	mx   map[string][]MX
	ip   map[string][]string
	fail map[string]bool
}

var errTemp = errors.New("server failure")

func (f fakeDNS) LookupMX(_ context.Context, d string) ([]MX, error) {
	if f.fail["mx:"+d] {
		return nil, fmt.Errorf("MX %s: %w", d, errTemp)
	}
	mx, ok := f.mx[d]
	if !ok {
		return nil, fmt.Errorf("MX %s: %w", d, ErrNotFound)
	}
	return mx, nil
}

func (f fakeDNS) LookupIP(_ context.Context, h string) ([]netip.Addr, error) {
	if f.fail["ip:"+h] {
		return nil, fmt.Errorf("IP %s: %w", h, errTemp)
	}
	ss, ok := f.ip[h]
	if !ok {
		return nil, fmt.Errorf("IP %s: %w", h, ErrNotFound)
	}
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out, nil
}

func targetsString(ts []Target) string {
	var parts []string
	for _, t := range ts {
		parts = append(parts, fmt.Sprintf("%s/%s:%d", t.Name, t.Addr, t.Port))
	}
	return strings.Join(parts, " ")
}

func TestFind(t *testing.T) {
	dns := fakeDNS{
		mx: map[string][]MX{
			"multi.test":   {{"b.test", 20}, {"a.test", 10}, {"v6.test", 30}},
			"null.test":    {{".", 0}},
			"nullmix.test": {{".", 0}, {"a.test", 10}},
			"me.test":      {{"me.example", 10}, {"b.test", 20}},
			"mebest.test":  {{"a.test", 10}, {"myip.test", 5}},
			"meworse.test": {{"a.test", 10}, {"myip.test", 50}},
			"gone.test":    {{"nohost.test", 10}},
			"tmpmx.test":   {{"tmp.test", 10}},
			"halftmp.test": {{"tmp.test", 10}, {"b.test", 20}},
			"dupes.test":   {{"a.test", 10}, {"a2.test", 20}},
			"ipmx.test":    {{"192.0.2.77", 10}},
			"empty.test":   {},
		},
		ip: map[string][]string{
			"a.test": {"192.0.2.1"}, "a2.test": {"192.0.2.1", "192.0.2.2"}, "b.test": {"192.0.2.2"},
			"v6.test": {"2001:db8::1", "::ffff:192.0.2.3"}, "nomx.test": {"192.0.2.4"},
			"myip.test": {"198.51.100.1"}, "selfa.test": {"198.51.100.1"}, "relay.test": {"192.0.2.9"},
			"empty.test": {"192.0.2.5"},
		},
		fail: map[string]bool{"mx:tmpdomain.test": true, "ip:tmp.test": true, "ip:tmprelay.test": true, "ip:tmpa.test": true},
	}
	routes, errs := ParseRoutes([]string{"routed.test:relay.test:2525 u p", ".ip.test:[2001:db8::9]", "exempt.routed.test:", "tmprouted.test:tmprelay.test", "selfroute.test:198.51.100.1"})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	noShuffle := func(int, func(i, j int)) {}
	f := &Finder{Resolver: dns, Routes: routes, LocalNames: []string{"me.example."}, LocalAddrs: []netip.Addr{netip.MustParseAddr("198.51.100.1")}, Shuffle: noShuffle}
	for _, tc := range []struct {
		domain string
		want   string // targets; or "perm:substring" / "temp:substring"
		auth   bool
	}{
		{domain: "multi.test", want: "a.test/192.0.2.1:25 b.test/192.0.2.2:25 v6.test/2001:db8::1:25 v6.test/192.0.2.3:25"},
		{domain: "MULTI.test.", want: "a.test/192.0.2.1:25 b.test/192.0.2.2:25 v6.test/2001:db8::1:25 v6.test/192.0.2.3:25"},
		{domain: "noMX.test", want: "nomx.test/192.0.2.4:25"},
		{domain: "empty.test", want: "empty.test/192.0.2.5:25"},
		{domain: "nxdomain.test", want: "perm:couldn't find any host named nxdomain.test. (#5.1.2)"},
		{domain: "null.test", want: "perm:(null MX). (#5.1.10)"},
		{domain: "nullmix.test", want: "a.test/192.0.2.1:25"},
		{domain: "me.test", want: "perm:best-preference MX"},
		{domain: "mebest.test", want: "perm:best-preference MX"},
		{domain: "meworse.test", want: "a.test/192.0.2.1:25"},
		{domain: "selfa.test", want: "perm:best-preference MX or A"},
		{domain: "gone.test", want: "temp:#4.4.3"},
		{domain: "tmpmx.test", want: "temp:#4.4.3"},
		{domain: "halftmp.test", want: "b.test/192.0.2.2:25"},
		{domain: "tmpdomain.test", want: "temp:MX records of tmpdomain.test"},
		{domain: "dupes.test", want: "a.test/192.0.2.1:25 a2.test/192.0.2.2:25"},
		{domain: "ipmx.test", want: "192.0.2.77/192.0.2.77:25"},
		{domain: "[192.0.2.50]", want: "/192.0.2.50:25"},
		{domain: "[IPv6:2001:db8::50]", want: "/2001:db8::50:25"},
		{domain: "[ipv6:192.0.2.1]", want: "perm:not a valid address literal"},
		{domain: "[2001:db8::1]", want: "perm:not a valid address literal"},
		{domain: "[198.51.100.1]", want: "perm:#5.4.6"},
		{domain: "[0.0.0.0]", want: "perm:#5.4.6"},
		{domain: "bad domain", want: "perm:not a valid domain"},
		{domain: "routed.test", want: "relay.test/192.0.2.9:2525", auth: true},
		{domain: "exempt.routed.test", want: "perm:couldn't find any host named exempt.routed.test"},
		{domain: "x.ip.test", want: "/2001:db8::9:25"},
		{domain: "tmprouted.test", want: "temp:smtproutes relay tmprelay.test"},
		{domain: "selfroute.test", want: "/198.51.100.1:25"}, // routes are exempt from the self check
	} {
		plan, err := f.Find(context.Background(), tc.domain)
		var got string
		var rerr *Error
		switch {
		case errors.As(err, &rerr) && rerr.Permanent:
			got = "perm:" + rerr.Text
		case errors.As(err, &rerr):
			got = "temp:" + rerr.Text
		case err != nil:
			t.Errorf("%s: untyped error %v", tc.domain, err)
			continue
		default:
			got = targetsString(plan.Targets)
		}
		if strings.HasPrefix(tc.want, "perm:") || strings.HasPrefix(tc.want, "temp:") {
			if got[:5] != tc.want[:5] || !strings.Contains(got, tc.want[5:]) {
				t.Errorf("%s: got %q, want %q", tc.domain, got, tc.want)
			}
			continue
		}
		if got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.domain, got, tc.want)
		}
		if auth := plan.Route != nil && plan.Route.HasAuth(); auth != tc.auth {
			t.Errorf("%s: credentials %v, want %v", tc.domain, auth, tc.auth)
		}
	}
}

// TestFindShufflesEqualPreferences checks that equal preferences come out
// in every order over many runs while the preference order never breaks.
func TestFindShufflesEqualPreferences(t *testing.T) {
	dns := fakeDNS{
		mx: map[string][]MX{"eq.test": {{"a.test", 10}, {"b.test", 10}, {"c.test", 10}, {"z.test", 5}, {"y.test", 50}}},
		ip: map[string][]string{"a.test": {"192.0.2.1"}, "b.test": {"192.0.2.2"}, "c.test": {"192.0.2.3"}, "z.test": {"192.0.2.26"}, "y.test": {"192.0.2.25"}},
	}
	f := &Finder{Resolver: dns}
	seen := map[string]bool{}
	for range 300 {
		plan, err := f.Find(context.Background(), "eq.test")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, tg := range plan.Targets {
			names = append(names, tg.Name)
		}
		if names[0] != "z.test" || names[4] != "y.test" {
			t.Fatalf("preference order broken: %v", names)
		}
		mid := slices.Clone(names[1:4])
		slices.Sort(mid)
		if !slices.Equal(mid, []string{"a.test", "b.test", "c.test"}) {
			t.Fatalf("equal-preference hosts lost: %v", names)
		}
		seen[strings.Join(names[1:4], ",")] = true
	}
	if len(seen) != 6 {
		t.Errorf("saw %d of 6 orders of equal-preference MX hosts: %v", len(seen), seen)
	}
}

func TestFindCapsTargets(t *testing.T) {
	dns := fakeDNS{mx: map[string][]MX{}, ip: map[string][]string{}}
	var mxs []MX
	for i := range 40 {
		h := fmt.Sprintf("h%d.test", i)
		mxs = append(mxs, MX{h, uint16(i)})
		dns.ip[h] = []string{fmt.Sprintf("192.0.2.%d", i+1), fmt.Sprintf("2001:db8::%d", i+1)}
	}
	dns.mx["big.test"] = mxs
	plan, err := (&Finder{Resolver: dns}).Find(context.Background(), "big.test")
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Targets) != maxTargets {
		t.Errorf("%d targets, want the cap %d", len(plan.Targets), maxTargets)
	}
	if plan.Targets[0].Name != "h0.test" || plan.Targets[len(plan.Targets)-1].Pref > maxMXHosts {
		t.Errorf("cap kept the wrong targets: %s", targetsString(plan.Targets))
	}
}
