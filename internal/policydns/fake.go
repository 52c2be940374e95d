package policydns

import (
	"context"
	"net"
	"strings"
	"sync"

	"github.com/miekg/dns"
)

// Fake is a Resolver whose answers come from a zone in memory instead of
// the network: the cache, the CNAME chasing and the errors are the real
// ones. For tests of the code that asks (DESIGN.md: DNS behind an
// interface with an in-process fake); the resolver itself is tested
// against internal/route/dnstest over real sockets.
type Fake struct {
	*Resolver

	mu      sync.Mutex
	records map[string][]dns.RR // by lower-case FQDN
	fail    map[string]bool
	queries int
}

// NewFake answers from zone: one record per line in zone-file syntax with
// absolute names ("2.0.0.127.bl.test. 300 IN A 127.0.0.2"); blank lines and
// lines starting with ';' are skipped. A line that does not parse panics:
// zones are test data.
func NewFake(zone string) *Fake {
	f := &Fake{records: map[string][]dns.RR{}, fail: map[string]bool{}}
	for _, line := range strings.Split(zone, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == ';' {
			continue
		}
		rr, err := dns.NewRR(line)
		if err != nil {
			panic("policydns.NewFake: " + line + ": " + err.Error())
		}
		name := strings.ToLower(rr.Header().Name)
		f.records[name] = append(f.records[name], rr)
	}
	f.Resolver = New([]string{"fake:53"}, 0, 0)
	f.Resolver.transport = f.answer
	return f
}

// Fail makes every question about name (absolute) fail as a SERVFAIL
// would: a temporary error.
func (f *Fake) Fail(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[strings.ToLower(name)] = true
}

// Queries returns how many questions reached the fake (past the cache).
func (f *Fake) Queries() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.queries
}

func (f *Fake) answer(_ context.Context, _ []string, name string, qtype uint16) (*dns.Msg, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries++
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	for hops := 0; hops < 8; hops++ {
		if f.fail[name] {
			return nil, "", &net.DNSError{Err: "server misbehaving", Name: name, Server: "fake", IsTemporary: true}
		}
		rrs, ok := f.records[name]
		if !ok {
			if hops == 0 {
				m.Rcode = dns.RcodeNameError
				f.addSOA(m, name)
			}
			return m, "fake", nil
		}
		var cname string
		found := false
		for _, rr := range rrs {
			switch {
			case rr.Header().Rrtype == qtype:
				m.Answer = append(m.Answer, rr)
				found = true
			case rr.Header().Rrtype == dns.TypeCNAME:
				cname = strings.ToLower(rr.(*dns.CNAME).Target)
				m.Answer = append(m.Answer, rr)
			}
		}
		if found || cname == "" {
			if !found && hops == 0 {
				f.addSOA(m, name)
			}
			return m, "fake", nil
		}
		name = cname
	}
	return m, "fake", nil
}

// addSOA gives a negative answer the SOA of the closest enclosing name
// that has one, so it is cached as a real one would be (RFC 2308).
func (f *Fake) addSOA(m *dns.Msg, name string) {
	for name != "" {
		for _, rr := range f.records[name] {
			if soa, ok := rr.(*dns.SOA); ok {
				m.Ns = append(m.Ns, soa)
				return
			}
		}
		_, name, _ = strings.Cut(name, ".")
	}
}
