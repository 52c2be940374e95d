// Package dnstest runs a small DNS server on loopback for tests: it
// answers from a zone given as text, the way a recursive resolver would
// (CNAME chains followed inside the answer), and can be told to fail.
// It exists so that route and remote tests exercise the real resolver
// (route.DNS) over real UDP and TCP, not only a fake.
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
	drop     map[string]bool // never answered: the client times out
	secure   map[string]bool // names whose answers carry AD; "*" for all
	queries  int
}

// Start serves zone, one resource record per line in zone-file syntax
// with absolute names ("mx.example.test. 300 IN MX 10 a.example.test.");
// blank lines and lines starting with ';' are skipped. It stops when the
// test ends.
func Start(t testing.TB, zone string) *Server {
	t.Helper()
	s := &Server{records: map[string][]dns.RR{}, servfail: map[string]bool{}, drop: map[string]bool{}, secure: map[string]bool{}}
	for _, rr := range parseZone(t, zone) {
		name := strings.ToLower(rr.Header().Name)
		s.records[name] = append(s.records[name], rr)
	}
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

// ServFail makes every query for name (absolute, any type) fail with
// SERVFAIL.
func (s *Server) ServFail(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.servfail[strings.ToLower(name)] = true
}

// Drop makes every query for name (absolute, any type) go unanswered, as
// a server that is down or a packet filter would: the client times out.
func (s *Server) Drop(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drop[strings.ToLower(name)] = true
}

// Set replaces every record of the names zone holds (same syntax as
// Start) with zone's records for them, while the server runs.
func (s *Server) Set(t testing.TB, zone string) {
	t.Helper()
	rrs := parseZone(t, zone)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rr := range rrs {
		delete(s.records, strings.ToLower(rr.Header().Name))
	}
	for _, rr := range rrs {
		name := strings.ToLower(rr.Header().Name)
		s.records[name] = append(s.records[name], rr)
	}
}

// Remove deletes every record of name (absolute): it no longer exists.
func (s *Server) Remove(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.records, strings.ToLower(name))
}

func parseZone(t testing.TB, zone string) []dns.RR {
	var out []dns.RR
	for _, line := range strings.Split(zone, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == ';' {
			continue
		}
		rr, err := dns.NewRR(line)
		if err != nil {
			t.Fatalf("dnstest: %q: %v", line, err)
		}
		out = append(out, rr)
	}
	return out
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
	rrs := parseZone(t, zone)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rr := range rrs {
		name := strings.ToLower(rr.Header().Name)
		s.records[name] = append(s.records[name], rr)
	}
}

// RemoveType drops every record of name and type (dns.TypeTLSA, ...).
func (s *Server) RemoveType(name string, qtype uint16) {
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
	if s.drop[strings.ToLower(q.Name)] {
		s.mu.Unlock()
		return
	}
	s.queries++
	if s.drop[strings.ToLower(q.Name)] {
		s.mu.Unlock()
		return
	}
	qname := strings.ToLower(q.Name)
	rcode := s.answer(m, qname, q.Qtype)
	if len(m.Answer) == 0 && (rcode == dns.RcodeNameError || rcode == dns.RcodeSuccess) {
		s.addSOA(m, qname)
	}
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

// addSOA puts the SOA record of the closest enclosing name that has one
// in the authority section of a negative answer, as an authoritative
// server does (RFC 2308 section 3): it tells resolvers how long they may
// cache the negative answer. Zones without an SOA get none.
func (s *Server) addSOA(m *dns.Msg, name string) {
	for {
		for _, rr := range s.records[name] {
			if soa, ok := rr.(*dns.SOA); ok {
				m.Ns = append(m.Ns, soa)
				return
			}
		}
		_, rest, ok := strings.Cut(name, ".")
		if !ok || rest == "" {
			return
		}
		name = rest
	}
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
