package policydns

import (
	"testing"
	"time"

	"github.com/miekg/dns"
)

// FuzzAnswer: whatever a DNS server sends back (parsed by miekg/dns), the
// records picked are of the type asked, their TTL is no longer than the
// longest a record can say, and nothing panics: the answers come from the
// network.
func FuzzAnswer(f *testing.F) {
	for _, m := range []*dns.Msg{
		func() *dns.Msg {
			m := new(dns.Msg)
			m.SetQuestion("a.test.", dns.TypeA)
			a, _ := dns.NewRR("a.test. 300 IN CNAME b.test.")
			b, _ := dns.NewRR("b.test. 60 IN A 192.0.2.1")
			m.Answer = []dns.RR{a, b}
			return m
		}(),
		func() *dns.Msg {
			m := new(dns.Msg)
			m.SetQuestion("x.test.", dns.TypeTXT)
			m.Rcode = dns.RcodeNameError
			soa, _ := dns.NewRR("test. 3600 IN SOA ns.test. a.test. 1 1 1 1 30")
			m.Ns = []dns.RR{soa}
			return m
		}(),
	} {
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint16(m.Question[0].Qtype))
	}
	f.Fuzz(func(t *testing.T, b []byte, qtype uint16) {
		m := new(dns.Msg)
		if m.Unpack(b) != nil || len(m.Question) != 1 {
			return
		}
		rrs, ttl := answerOf(m, m.Question[0].Name, qtype)
		for _, rr := range rrs {
			if rr.Header().Rrtype != qtype {
				t.Fatalf("picked a %d record for a %d question", rr.Header().Rrtype, qtype)
			}
		}
		if ttl < 0 || ttl > (1<<32-1)*time.Second {
			t.Fatalf("TTL %v", ttl)
		}
		if n := negativeTTL(m); n < 0 {
			t.Fatalf("negative TTL %v", n)
		}
	})
}
