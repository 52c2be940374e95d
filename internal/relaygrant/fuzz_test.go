package relaygrant

import "testing"

// FuzzParseLine: whatever a damaged file holds, parsing never panics, and a
// line it accepts formats back to exactly itself (modulo IPv4-mapped
// normalisation), so rewriting the file never changes a grant.
func FuzzParseLine(f *testing.F) {
	f.Add("192.0.2.1 1700000000 pop3:bob@example.com")
	f.Add("2001:db8::1 1700000000 smtp:x")
	f.Add("::ffff:192.0.2.1 1 a")
	f.Add("fe80::1%eth0 5 z")
	f.Add("1.2.3.4 0001 a")
	f.Add("1.2.3.4 99999999999999999999 a")
	f.Add("1.2.3.4 5 a b")
	f.Fuzz(func(t *testing.T, line string) {
		g, err := parseLine(line)
		if err != nil {
			return
		}
		if !g.IP.IsValid() || g.IP.Zone() != "" || g.IP.Is4In6() {
			t.Fatalf("accepted address %v", g.IP)
		}
		if g.Expires.Unix() <= 0 || g.Source == "" || len(g.Source) > maxSource {
			t.Fatalf("accepted grant %+v", g)
		}
		out := string(formatLine(nil, g))
		g2, err := parseLine(out[:len(out)-1])
		if err != nil || g2 != g {
			t.Fatalf("round trip %q -> %q: %+v, %v", line, out, g2, err)
		}
	})
}

// FuzzParseFile: a whole file parses to grants that survive a rewrite.
func FuzzParseFile(f *testing.F) {
	f.Add([]byte("192.0.2.1 1700000000 a\n192.0.2.1 1700000001 b\n\n"))
	f.Add([]byte("x\n\n\n2001:db8::1 7 c"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, _ := parseFile(data)
		again, bad := parseFile(formatFile(sorted(m)))
		if bad != 0 || len(again) != len(m) {
			t.Fatalf("rewrite changed the grants: %d bad, %d vs %d", bad, len(again), len(m))
		}
		for ip, g := range m {
			if again[ip] != g {
				t.Fatalf("grant for %v changed: %+v vs %+v", ip, g, again[ip])
			}
		}
	})
}
