// Package dnstest runs a small DNS server on loopback for tests: it
// answers from a zone given as text, the way a recursive resolver would
// (CNAME chains followed inside the answer), and can be told to fail.
// It exists so that route and remote tests exercise the real resolver
// (route.DNS) over real UDP and TCP, not only a fake.
//
// It can also play a DNSSEC-validating resolver (unbound) for DANE and
// MTA-STS tests: answers for names marked Secure carry the AD bit, as a
// validator sets it on data it validated (RFC 4035 3.2.3). It signs
// nothing: the client trusts its validator's AD bit, and that is the
// part under test.
package dnstest

import (
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// Server is a running test DNS server.
type Server struct {
	// Addr is "127.0.0.1:PORT", the same port over UDP and TCP.
	Addr string

	mu       sync.Mutex
	records  map[string][]dns.RR // by lower-case FQDN
	servfail map[string]bool
	secure   map[string]bool // names whose answers carry AD; "*" for all
	queries  int
}

// Start serves zone, one resource record per line in zone-file syntax
// with absolute names ("mx.example.test. 300 IN MX 10 a.example.test.");
// blank lines and lines starting with ';' are skipped. It stops when the
// test ends.
func Start(t testing.TB, zone string) *Server {
	t.Helper()
	s := &Server{records: map[string][]dns.RR{}, servfail: map[string]bool{}, secure: map[string]bool{}}
	s.parse(t, zone)
	var pc net.PacketConn
	var ln net.Listener
	for tries := 0; ; tries++ {
		var err error
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("dnstest: %v", err)
		}
		ln, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			break
		}
		pc.Close()
		if tries > 20 {
			t.Fatalf("dnstest: no port free for both UDP and TCP: %v", err)
		}
	}
	s.Addr = pc.LocalAddr().String()
	udp := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(s.serve)}
	tcp := &dns.Server{Listener: ln, Handler: dns.HandlerFunc(s.serve)}
	var started sync.WaitGroup
	started.Add(2)
	udp.NotifyStartedFunc = started.Done
	tcp.NotifyStartedFunc = started.Done
	go udp.ActivateAndServe()
	go tcp.ActivateAndServe()
	started.Wait()
	t.Cleanup(func() {
		udp.Shutdown()
		tcp.Shutdown()
	})
	return s
}

func (s *Server) parse(t testing.TB, zone string) {
	for _, line := range strings.Split(zone, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == ';' {
			continue
		}
		rr, err := dns.NewRR(line)
		if err != nil {
			t.Fatalf("dnstest: %q: %v", line, err)
		}
		name := strings.ToLower(rr.Header().Name)
		s.records[name] = append(s.records[name], rr)
	}
}

// ServFail makes every query for name (absolute, any type) fail with
// SERVFAIL.
func (s *Server) ServFail(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.servfail[strings.ToLower(name)] = true
}

// Secure marks names (absolute; "*" for every name) as validated: their
// answers, NXDOMAIN and NODATA included, carry the AD bit when the query
// set AD or DO (RFC 6840 5.7), as a validating resolver answers.
func (s *Server) Secure(names ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range names {
		s.secure[strings.ToLower(n)] = true
	}
}

// Add adds records (zone-file lines, as for Start) while the server runs.
func (s *Server) Add(t testing.TB, zone string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.parse(t, zone)
}

// Remove drops every record of name and type (dns.TypeTLSA, ...).
func (s *Server) Remove(name string, qtype uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name = strings.ToLower(name)
	var keep []dns.RR
	for _, rr := range s.records[name] {
		if rr.Header().Rrtype != qtype {
			keep = append(keep, rr)
		}
	}
	if len(keep) == 0 {
		delete(s.records, name)
	} else {
		s.records[name] = keep
	}
}

// Queries returns how many queries were answered so far.
func (s *Server) Queries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queries
}

func (s *Server) serve(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.RecursionAvailable = true
	if len(req.Question) != 1 {
		m.SetRcode(req, dns.RcodeFormatError)
		w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	s.mu.Lock()
	s.queries++
	qname := strings.ToLower(q.Name)
	rcode := s.answer(m, qname, q.Qtype)
	wantsAD := req.AuthenticatedData || req.IsEdns0() != nil && req.IsEdns0().Do()
	m.AuthenticatedData = wantsAD && rcode != dns.RcodeServerFailure && (s.secure["*"] || s.secure[qname])
	s.mu.Unlock()
	m.Rcode = rcode
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		size := dns.MinMsgSize
		if opt := req.IsEdns0(); opt != nil {
			size = int(opt.UDPSize())
		}
		m.Truncate(size)
	}
	w.WriteMsg(m)
}

// answer fills m like a recursive resolver: records of the asked type, or
// a CNAME followed to its target (up to 8 links). NXDOMAIN when the name
// holds no record at all, NOERROR with no answer (NODATA) otherwise.
func (s *Server) answer(m *dns.Msg, name string, qtype uint16) int {
	for hops := 0; hops < 8; hops++ {
		if s.servfail[name] {
			m.Answer = nil
			return dns.RcodeServerFailure
		}
		rrs, ok := s.records[name]
		if !ok {
			if hops > 0 {
				return dns.RcodeSuccess // a dangling CNAME: the chain is the answer
			}
			return dns.RcodeNameError
		}
		var cname *dns.CNAME
		for _, rr := range rrs {
			if rr.Header().Rrtype == qtype {
				m.Answer = append(m.Answer, rr)
			} else if c, ok := rr.(*dns.CNAME); ok {
				cname = c
			}
		}
		if len(m.Answer) > 0 && m.Answer[len(m.Answer)-1].Header().Rrtype == qtype || cname == nil || qtype == dns.TypeCNAME {
			return dns.RcodeSuccess
		}
		m.Answer = append(m.Answer, cname)
		name = strings.ToLower(cname.Target)
	}
	return dns.RcodeServerFailure
}
