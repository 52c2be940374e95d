package policy

import (
	"testing"

	"goqmail/internal/control"
)

func TestCheckRcptTable(t *testing.T) {
	hosts := control.NewDomainSet([]string{"example.org", ".example.net"})
	cfg := RelayConfig{RcptHosts: hosts, MaxRcpt: 3}
	empty := RelayConfig{RcptHosts: control.NewDomainSet(nil), MaxRcpt: 3}
	for _, tc := range []struct {
		name string
		f    RcptFacts
		cfg  RelayConfig
		want int
	}{
		{"listed domain", RcptFacts{Domain: "example.org"}, cfg, 250},
		{"subdomain by .suffix", RcptFacts{Domain: "mx.example.net"}, cfg, 250},
		{"bare suffix domain is not its own subdomain", RcptFacts{Domain: "example.net"}, cfg, 553},
		{"foreign domain", RcptFacts{Domain: "evil.com"}, cfg, 553},
		{"lookalike suffix", RcptFacts{Domain: "badexample.org"}, cfg, 553},
		{"address literal", RcptFacts{Domain: "[192.0.2.1]"}, cfg, 553},
		{"empty domain", RcptFacts{Domain: ""}, cfg, 553},
		{"relay client anywhere", RcptFacts{Domain: "evil.com", RelayClient: true}, cfg, 250},
		{"missing rcpthosts is no open relay", RcptFacts{Domain: "example.org"}, empty, 553},
		{"missing rcpthosts still lets relay clients", RcptFacts{Domain: "x.com", RelayClient: true}, empty, 250},
		{"nil rcpthosts", RcptFacts{Domain: "example.org"}, RelayConfig{}, 553},
		{"bare postmaster is always ours (RFC 5321 4.5.1)", RcptFacts{Domain: "not-listed.example", Postmaster: true}, empty, 250},
		{"recipient limit", RcptFacts{Domain: "example.org", Accepted: 3}, cfg, 452},
		{"recipient limit applies to relay clients", RcptFacts{Domain: "example.org", Accepted: 3, RelayClient: true}, cfg, 452},
		{"authenticated client anywhere", RcptFacts{Domain: "evil.com", Authenticated: true}, cfg, 250},
		{"POP-before-SMTP grant anywhere", RcptFacts{Domain: "evil.com", RelayGrant: true}, empty, 250},
		{"authenticated client has the recipient limit", RcptFacts{Domain: "x.com", Authenticated: true, Accepted: 3}, cfg, 452},
		{"virtual directory domain", RcptFacts{Domain: "virt.example", Virtual: true}, cfg, 250},
		{"virtual directory domain without rcpthosts", RcptFacts{Domain: "virt.example", Virtual: true}, empty, 250},
		{"virtual domain still has the recipient limit", RcptFacts{Domain: "virt.example", Virtual: true, Accepted: 3}, cfg, 452},
		{"unreadable directory: maybe ours, try later", RcptFacts{Domain: "virt.example", VirtualUnknown: true}, cfg, 451},
		{"unreadable directory does not matter for rcpthosts", RcptFacts{Domain: "example.org", VirtualUnknown: true}, cfg, 250},
		{"unreadable directory does not matter for relay clients", RcptFacts{Domain: "x.com", VirtualUnknown: true, RelayClient: true}, cfg, 250},
	} {
		if got := CheckRcpt(tc.f, tc.cfg); got.Code != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, got.Code, got.Text, tc.want)
		}
	}
}
