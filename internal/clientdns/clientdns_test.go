package clientdns

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"goqmail/internal/control"
	"goqmail/internal/policy"
	"goqmail/internal/policydns"
)

func zones(t *testing.T, allow bool, lines ...string) []control.ZoneLine {
	var out []control.ZoneLine
	for _, l := range lines {
		z, err := control.ParseZoneLine(l, allow)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, z)
	}
	return out
}

func TestName(t *testing.T) {
	if got := Name(netip.MustParseAddr("192.0.2.7"), "bl.example"); got != "7.2.0.192.bl.example" {
		t.Errorf("IPv4: %s", got)
	}
	if got := Name(netip.MustParseAddr("::ffff:192.0.2.7"), "bl.example"); got != "7.2.0.192.bl.example" {
		t.Errorf("mapped IPv4: %s", got)
	}
	// RFC 5782 2.4's example.
	want := "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.bl.example"
	if got := Name(netip.MustParseAddr("4321:0:1:2:3:4:567:89ab"), "bl.example"); got != want {
		t.Errorf("IPv6:\n got %s\nwant %s", got, want)
	}
}

const zone = `
example.               300 IN SOA ns.example. a.example. 1 1 1 1 60
7.2.0.192.bl.example.  300 IN A 127.0.0.2
7.2.0.192.bl.example.  300 IN TXT "listed: see https://bl.example/192.0.2.7"
8.2.0.192.bl.example.  300 IN A 127.0.0.4
7.2.0.192.heavy.example. 300 IN A 127.0.0.3
7.2.0.192.err.example. 300 IN A 127.255.255.254
9.2.0.192.wl.example.  300 IN A 127.0.10.2
7.2.0.192.in-addr.arpa. 300 IN PTR mail.good.example.
8.2.0.192.in-addr.arpa. 300 IN PTR forged.example.
mail.good.example.     300 IN A 192.0.2.7
forged.example.        300 IN A 198.51.100.1
`

func TestLook(t *testing.T) {
	d := policydns.NewFake(zone)
	d.Fail("7.2.0.192.down.example.")
	q := Query{
		DNSBL: zones(t, false, "bl.example=127.0.0.2", "heavy.example*3:heavy text", "err.example", "down.example"),
		DNSWL: zones(t, true, "wl.example"),
		RDNS:  2,
	}
	ctx := context.Background()
	f := Look(ctx, d, netip.MustParseAddr("192.0.2.7"), q)
	want := []policy.Listing{{Zone: "bl.example", Weight: 1, Text: "listed: see https://bl.example/192.0.2.7"}, {Zone: "heavy.example", Weight: 3, Text: "heavy text"}}
	if !slices.Equal(f.Listings, want) {
		t.Errorf("listings %+v\nwant %+v", f.Listings, want)
	}
	if f.RDNS != policy.RDNSOK || f.Allowlisted != "" {
		t.Errorf("rdns %v, allowlisted %q", f.RDNS, f.Allowlisted)
	}
	if len(f.Failures) != 1 || !strings.HasPrefix(f.Failures[0], "dnsbl down.example: ") {
		t.Errorf("failures %q", f.Failures)
	}
	// 127.0.0.4 is not among bl.example's answers that count; the PTR
	// does not resolve back.
	f = Look(ctx, d, netip.MustParseAddr("192.0.2.8"), q)
	if len(f.Listings) != 0 || f.RDNS != policy.RDNSMismatch {
		t.Errorf("192.0.2.8: %+v", f)
	}
	f = Look(ctx, d, netip.MustParseAddr("192.0.2.9"), q)
	if f.Allowlisted != "wl.example" || f.RDNS != policy.RDNSNone {
		t.Errorf("192.0.2.9: %+v", f)
	}
	if f := Look(ctx, d, netip.MustParseAddr("192.0.2.8"), Query{RDNS: 1}); f.RDNS != policy.RDNSOK {
		t.Errorf("requirerdns 1 wants only a PTR: %v", f.RDNS)
	}
	d.Fail("9.2.0.192.in-addr.arpa.")
	if f := Look(ctx, d, netip.MustParseAddr("192.0.2.9"), Query{RDNS: 1}); f.RDNS != policy.RDNSTempFail || len(f.Failures) != 1 {
		t.Errorf("a failed PTR lookup: %+v", f)
	}
	// Asked again, every answer comes from the cache, negative ones and
	// the failure too (for a few seconds).
	n := d.Queries()
	Look(ctx, d, netip.MustParseAddr("192.0.2.7"), q)
	if d.Queries() != n {
		t.Errorf("%d queries the second time", d.Queries()-n)
	}
}
