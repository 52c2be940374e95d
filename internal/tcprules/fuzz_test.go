package tcprules

import (
	"crypto/sha256"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"127.:allow,RELAYCLIENT=\"\"\n192.168.1.:allow,RELAYCLIENT=\"\"\n:allow\n",
		"1.2.3.37-53:allow,DATABYTES=\"1000\"\n1.2.3-5.:deny\n10.0.0.0/8:allow\n:deny\n",
		"::1:allow\n2001:db8::/32:allow,X='a\"b'\n::ffff:10.0.0.0/104:deny\n",
		"=host.example:allow\n=.example:deny\n=:allow\njoe@1.2.3.4:allow\n",
		"# comment\r\n\r\n1.2.3.4:allow,A=|x|,A=,y,\r\n1.2.3.4:deny\n",
		"1.2.3.4:allow,X=\"\n",
		"1.2.3:allow\n",
		"1.2.3.4:allow,RBLSMTPD=\"-see http://example.org/\"\n",
		"10.:deny\n10.1.:allow\n10.1.2.0/23:deny\n10.1.2.3/32:allow\n10.1.2.3:deny\n2001:db8::/32:allow\n2001:db8::/48:deny\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data string) {
		rs, warns, err := Parse(strings.NewReader(data))
		lines := strings.Count(data, "\n") + 1
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Line < 1 || se.Line > lines {
				t.Fatalf("error %v is not a SyntaxError with a line in 1..%d", err, lines)
			}
			if rs != nil || warns != nil {
				t.Fatal("failed Parse returned rules or warnings")
			}
			return
		}
		prev := 0
		for _, w := range warns {
			if w.Line <= prev || w.Line > lines || w.Text == "" {
				t.Fatalf("bad warning %+v after line %d", w, prev)
			}
			prev = w.Line
		}
		all := rs.All()
		checkRules(t, all, lines)
		ips := probeIPs(data, all)
		for _, ip := range ips {
			r1, ok1 := rs.Lookup(ip)
			r2, ok2 := rs.Lookup(ip)
			if ok1 != ok2 || !sameRule(r1, r2) {
				t.Fatalf("Lookup(%v) not deterministic: %+v %v / %+v %v", ip, r1, ok1, r2, ok2)
			}
			ref, refOK := referenceLookup(t, all, ip)
			if ok1 != refOK || (ok1 && !sameRule(r1, ref)) {
				t.Fatalf("Lookup(%v) = %+v %v; reference says %+v %v", ip, r1, ok1, ref, refOK)
			}
		}
		checkRoundTrip(t, rs, all, ips)
	})
}

func checkRules(t *testing.T, all []Rule, lines int) {
	prev, defaults := 0, 0
	for _, r := range all {
		if r.Line <= prev || r.Line > lines {
			t.Fatalf("rule line %d out of order or range (previous %d, %d lines)", r.Line, prev, lines)
		}
		prev = r.Line
		if r.Source == "" {
			defaults++
		}
		if !r.Allow && len(r.Vars) != 0 {
			t.Fatalf("deny rule on line %d kept variables %v", r.Line, r.Vars)
		}
		for _, v := range r.Vars {
			if !validName(v.Name) || strings.ContainsAny(v.Value, "\n\x00") {
				t.Fatalf("rule on line %d has a bad variable %+v", r.Line, v)
			}
		}
	}
	if defaults > 1 {
		t.Fatalf("%d rules with an empty Source; only the one default rule may have it", defaults)
	}
}

// referenceLookup is the specification by brute force: every rule's keys,
// the most specific match wins, the earliest line on a tie.
func referenceLookup(t *testing.T, all []Rule, ip netip.Addr) (Rule, bool) {
	ip = ip.Unmap().WithZone("")
	best, bestScore := -1, -2
	for i, r := range all {
		k, err := parseAddress(r.Source)
		if err != nil {
			t.Fatalf("accepted rule %q does not reparse: %v", r.Source, err)
		}
		score := -2
		if k.any {
			score = -1
		}
		for _, p := range k.prefixes {
			if p.Contains(ip) && p.Bits() > score {
				score = p.Bits()
			}
		}
		if slices.Contains(k.exact, ip) {
			score = 1000
		}
		if score > bestScore {
			best, bestScore = i, score
		}
	}
	if best < 0 || !ip.IsValid() {
		return Rule{}, false
	}
	return all[best], true
}

// probeIPs returns addresses that hit the rules' edges (each key, its
// neighbours) and a few pseudo-random ones derived from data.
func probeIPs(data string, all []Rule) []netip.Addr {
	ips := []netip.Addr{{}, netip.MustParseAddr("fe80::1%eth0")}
	sum := sha256.Sum256([]byte(data))
	ips = append(ips,
		netip.AddrFrom4([4]byte(sum[0:4])),
		netip.AddrFrom16([16]byte(sum[4:20])),
		netip.AddrFrom16([16]byte(sum[16:32])).Unmap(),
	)
	v4 := [4]byte(sum[20:24])
	ips = append(ips, netip.AddrFrom4(v4), netip.AddrFrom16(netip.AddrFrom4(v4).As16()))
	for _, r := range all {
		k, err := parseAddress(r.Source)
		if err != nil {
			continue
		}
		addrs := slices.Clone(k.exact)
		for _, p := range k.prefixes {
			addrs = append(addrs, p.Addr())
		}
		for _, a := range addrs[:min(len(addrs), 4)] {
			ips = append(ips, a, a.Next(), a.Prev(), netip.AddrFrom16(a.As16()))
		}
		if n := len(addrs); n > 4 {
			ips = append(ips, addrs[n-1], addrs[n-1].Next())
		}
	}
	return ips
}

// checkRoundTrip writes the accepted rules back out in tcprules syntax and
// checks that the result parses to the same rules and the same answers.
func checkRoundTrip(t *testing.T, rs *Rules, all []Rule, ips []netip.Addr) {
	var b strings.Builder
	for _, r := range all {
		b.WriteString(r.Source)
		b.WriteString(map[bool]string{true: ":allow", false: ":deny"}[r.Allow])
		for _, v := range r.Vars {
			q := quoteFor(v.Value)
			if q == 0 {
				return // the value uses every candidate quote; nothing to check
			}
			b.WriteString("," + v.Name + "=" + string(q) + v.Value + string(q))
		}
		b.WriteString("\n")
	}
	rs2, warns, err := Parse(strings.NewReader(b.String()))
	if err != nil || len(warns) != 0 {
		t.Fatalf("rewritten rules %q: err %v, warnings %v", b.String(), err, warns)
	}
	all2 := rs2.All()
	if len(all2) != len(all) {
		t.Fatalf("round trip kept %d rules, want %d", len(all2), len(all))
	}
	for i := range all {
		a, c := all[i], all2[i]
		if a.Allow != c.Allow || a.Source != c.Source || !slices.Equal(a.Vars, c.Vars) || c.Line != i+1 {
			t.Fatalf("round trip rule %d: %+v became %+v", i, a, c)
		}
	}
	for _, ip := range ips {
		r1, ok1 := rs.Lookup(ip)
		r2, ok2 := rs2.Lookup(ip)
		if ok1 != ok2 || (ok1 && !slices.Equal(r1.Vars, r2.Vars)) || (ok1 && r1.Source != r2.Source) {
			t.Fatalf("Lookup(%v) differs after round trip: %+v / %+v", ip, r1, r2)
		}
	}
}

func quoteFor(value string) byte {
	for _, q := range []byte("\"'|%#!/^~") {
		if strings.IndexByte(value, q) < 0 {
			return q
		}
	}
	return 0
}

func sameRule(a, b Rule) bool {
	return a.Allow == b.Allow && a.Line == b.Line && a.Source == b.Source && slices.Equal(a.Vars, b.Vars)
}
