package smtpd

import (
	"io"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"goqmail/internal/address"
	"goqmail/internal/control"
	"goqmail/internal/greylist"
	"goqmail/internal/logline"
	"goqmail/internal/policy"
	"goqmail/internal/policydns"
)

// BenchmarkCheckSet is the CPU the whole check set costs one message of
// one recipient from a client nothing lists, in a session of its own (as
// smtp-source sends), with every DNS answer in the cache: MAIL's rate
// limit, RCPT's badmailfrom, badrcptto, client checks (two blocklists, an
// allowlist, forward-confirmed reverse DNS, badhelo), greylisting and
// rate limit, and the counting at the end. `make bench -checks -cpu`
// measures the same from outside (docs/bench.md).
func BenchmarkCheckSet(b *testing.B) {
	d := policydns.NewFake(`
example.                 3600 IN SOA ns.example. admin.example. 1 3600 600 86400 3600
7.2.0.192.in-addr.arpa.  3600 IN PTR mx.client.example.
mx.client.example.       3600 IN A 192.0.2.7
`)
	zone := func(l string, allow bool) control.ZoneLine {
		z, err := control.ParseZoneLine(l, allow)
		if err != nil {
			b.Fatal(err)
		}
		return z
	}
	cfg := &Config{Checks: Checks{
		DNSTimeout: 5 * time.Second,
		DNSBL:      []control.ZoneLine{zone("zen.bl.example", false), zone("bl2.example*2", false)},
		DNSWL:      []control.ZoneLine{zone("list.wl.example", true)},
		Client: policy.ClientConfig{BadHelo: control.NewDomainSet([]string{"localhost", ".dynamic.example"}),
			RequireRDNS: 2, Threshold: 2},
		BadMailFrom: control.NewAddrSet([]string{"spammer@example.com", "@spam.example"}),
		BadRcptTo:   control.NewAddrSet([]string{"former@example.test", "@closed.example.test"}),
		RateWindow:  time.Hour, MsgPerIP: 10000000, RcptPerIP: 10000000,
		Grey: policy.GreyConfig{Delay: 5 * time.Minute, Retry: policy.GreyRetry, Lifetime: policy.GreyLifetime},
	}}
	srv := &Server{Log: logline.NewTo(io.Discard, "smtpd"), DNS: d, Now: time.Now}
	srv.cfg.Store(cfg)
	st, _, err := greylist.Open(filepath.Join(b.TempDir(), "state"), 0)
	if err != nil {
		b.Fatal(err)
	}
	srv.greylist.Store(st)
	remote := netip.MustParseAddrPort("192.0.2.7:40000")
	rcpt, _, err := address.ParsePath("<user@example.test>", address.Options{})
	if err != nil {
		b.Fatal(err)
	}
	// The triplet has passed greylisting already.
	k := greylist.KeyOf(remote.Addr(), "sender@example.org", rcpt.String())
	st.Check(k, time.Now().Add(-time.Hour), cfg.Checks.Grey)
	st.Check(k, time.Now().Add(-50*time.Minute), cfg.Checks.Grey)
	one := func() {
		s := &session{srv: srv, cfg: cfg, remote: remote, helo: "mx.client.example"}
		if v := s.checkMailRate(); v.Refused() {
			b.Fatal(v.Reply)
		}
		s.tx = &transaction{sender: "sender@example.org", seen: map[string]bool{}}
		if v, _ := s.checkRcptFirst(rcpt, false); v.Refused() {
			b.Fatal(v.Reply)
		}
		if v, _ := s.checkRcptLast(rcpt, false); v.Refused() {
			b.Fatal(v.Reply)
		}
		s.tx.rcpts = append(s.tx.rcpts, rcpt.String())
		s.chargeRates(s.tx)
	}
	one() // fills the cache
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		one()
	}
}
