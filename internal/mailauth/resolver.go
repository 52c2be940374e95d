package mailauth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Resolver is the DNS the checks need. Its method set is *net.Resolver's,
// which is also what blitiri.com.ar/go/spf takes (spf.DNSResolver), so
// goqmail's policy resolver (with its cache) or Go's own can be plugged in
// unchanged.
//
// Errors must be *net.DNSError, unwrapped, because both libraries look at
// them with a type assertion: IsNotFound for a definite "no such record"
// (NXDOMAIN, or a name without records of that type), IsTemporary or
// IsTimeout for a failure worth trying again (SERVFAIL, no answer in time).
// The checks turn the first into none or permerror and the second into
// temperror (RFC 7208 2.6.6, RFC 6376 6.1.2): a resolver must never report
// a failure as not found.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

// DNS is a plain Resolver on github.com/miekg/dns: one server, UDP with
// EDNS0, TCP when an answer is truncated, no cache. It stands in for the
// policy resolver of issue 13 item 1 (cache, control file), which
// satisfies the same interface.
type DNS struct {
	// Server is "host:port".
	Server string
	// Timeout bounds each query (the caller's context may end it sooner).
	Timeout time.Duration
}

// DefaultQueryTimeout bounds one query: a server that does not answer in
// that time is not going to.
const DefaultQueryTimeout = 5 * time.Second

// NewDNS returns a resolver asking server ("127.0.0.1:5353"), or the
// first nameserver of /etc/resolv.conf when server is "", or 127.0.0.1:53
// without one (as Go's and libc's stub resolvers do): a missing server is
// then a lookup failure (temperror), never a silent "no record". Only a
// server that is not host:port is an error.
func NewDNS(server string) (*DNS, error) {
	if server == "" {
		server = "127.0.0.1:53"
		if cc, err := dns.ClientConfigFromFile("/etc/resolv.conf"); err == nil && len(cc.Servers) > 0 {
			server = net.JoinHostPort(cc.Servers[0], cc.Port)
		}
	}
	if _, _, err := net.SplitHostPort(server); err != nil {
		return nil, fmt.Errorf("DNS server %q is not host:port: %w", server, err)
	}
	return &DNS{Server: server, Timeout: DefaultQueryTimeout}, nil
}

// query asks one question and returns the answer's records of that type
// (a CNAME chain the server followed is skipped).
func (d *DNS) query(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = DefaultQueryTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.SetEdns0(1232, false)
	c := &dns.Client{Net: "udp", UDPSize: 1232}
	in, _, err := c.ExchangeContext(ctx, m, d.Server)
	if err == nil && in.Truncated {
		c.Net = "tcp"
		in, _, err = c.ExchangeContext(ctx, m, d.Server)
	}
	if err != nil {
		var ne net.Error
		timeout := errors.As(err, &ne) && ne.Timeout() || ctx.Err() != nil
		return nil, &net.DNSError{Err: err.Error(), Name: name, Server: d.Server, IsTimeout: timeout, IsTemporary: true}
	}
	switch in.Rcode {
	case dns.RcodeSuccess:
	case dns.RcodeNameError:
		return nil, notFound(name, d.Server)
	default:
		return nil, &net.DNSError{Err: "server answered " + dns.RcodeToString[in.Rcode], Name: name, Server: d.Server, IsTemporary: true}
	}
	var out []dns.RR
	for _, rr := range in.Answer {
		if rr.Header().Rrtype == qtype {
			out = append(out, rr)
		}
	}
	if len(out) == 0 {
		return nil, notFound(name, d.Server) // NODATA
	}
	return out, nil
}

func notFound(name, server string) error {
	return &net.DNSError{Err: "no such host", Name: name, Server: server, IsNotFound: true}
}

// LookupTXT returns each TXT record's strings joined, as net.LookupTXT does
// (RFC 7208 3.3 and RFC 6376 3.6.2.2 both join them).
func (d *DNS) LookupTXT(ctx context.Context, name string) ([]string, error) {
	rrs, err := d.query(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		out = append(out, strings.Join(rr.(*dns.TXT).Txt, ""))
	}
	return out, nil
}

// LookupMX returns the MX records (host names fully qualified, with the
// trailing dot, as net.LookupMX).
func (d *DNS) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	rrs, err := d.query(ctx, name, dns.TypeMX)
	if err != nil {
		return nil, err
	}
	out := make([]*net.MX, 0, len(rrs))
	for _, rr := range rrs {
		mx := rr.(*dns.MX)
		out = append(out, &net.MX{Host: mx.Mx, Pref: mx.Preference})
	}
	return out, nil
}

// LookupIPAddr returns the A and AAAA addresses of host. It is not found
// only when neither type exists; a failure of one type is a failure unless
// the other gave addresses.
func (d *DNS) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	var out []net.IPAddr
	var firstErr error
	for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
		rrs, err := d.query(ctx, host, qt)
		if err != nil {
			var de *net.DNSError
			if firstErr == nil || errors.As(firstErr, &de) && de.IsNotFound {
				firstErr = err
			}
			continue
		}
		for _, rr := range rrs {
			switch a := rr.(type) {
			case *dns.A:
				out = append(out, net.IPAddr{IP: a.A})
			case *dns.AAAA:
				out = append(out, net.IPAddr{IP: a.AAAA})
			}
		}
	}
	if len(out) == 0 {
		return nil, firstErr
	}
	return out, nil
}

// LookupAddr returns the names of an address (PTR), for SPF's ptr
// mechanism and %{p} macro.
func (d *DNS) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return nil, &net.DNSError{Err: "not an IP address", Name: addr}
	}
	rev, err := dns.ReverseAddr(ip.Unmap().String())
	if err != nil {
		return nil, &net.DNSError{Err: err.Error(), Name: addr}
	}
	rrs, err := d.query(ctx, rev, dns.TypePTR)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		out = append(out, rr.(*dns.PTR).Ptr)
	}
	return out, nil
}

// txtLookup adapts a Resolver to go-msgauth's LookupTXT option, which
// has no context: ctx is bound here.
func txtLookup(ctx context.Context, r Resolver) func(string) ([]string, error) {
	return func(name string) ([]string, error) { return r.LookupTXT(ctx, name) }
}

// dnsTemporary reports whether err is a DNS failure worth retrying.
func dnsTemporary(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && (de.IsTemporary || de.IsTimeout)
}
