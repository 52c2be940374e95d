// Package policydns is the DNS resolver of every policy lookup smtpd makes
// (DNS blocklists and allowlists, reverse DNS, and SPF, DKIM and DMARC):
// one cache for all of them, which respects the records' TTLs (RFC 1035
// 3.2.1) and negative TTLs (RFC 2308 section 5) and is bounded in size,
// and lookups bounded in time (control/dnstimeout), so a dead DNS server
// costs a session seconds, never minutes.
//
// It is built on github.com/miekg/dns rather than Go's net.Resolver,
// which hides TTLs: a blocklist answer would have to be cached for a
// guessed time or not at all. It speaks to recursive resolvers only
// (control/dnsservers, else /etc/resolv.conf; GOQMAIL_DNS in tests), with
// EDNS0 and TCP after a truncated answer, and never reads /etc/hosts:
// policy names are DNS names.
//
// Its methods have the signatures of *net.Resolver's and return errors the
// way net does, as *net.DNSError values (IsNotFound for NXDOMAIN and
// "no records of that type", IsTemporary and IsTimeout for everything
// else), unwrapped: blitiri.com.ar/go/spf (WithResolver) and
// emersion/go-msgauth (LookupTXT options, through TXTFunc) type-assert
// *net.DNSError to tell "none" from "temperror". The cause is kept in the
// error's UnwrapErr.
package policydns

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// DNS is what policy code asks of a resolver. *Resolver implements it, and
// so does *net.Resolver; Fake is the in-process one for tests. The method
// set is blitiri.com.ar/go/spf's DNSResolver plus LookupNetIP.
type DNS interface {
	// LookupTXT returns the TXT records of name, each record's strings
	// joined into one (as net does; SPF and DKIM records need that).
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	// LookupIPAddr returns the A and AAAA records of host.
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	// LookupAddr returns the PTR names of an IP address, fully qualified
	// with the trailing dot.
	LookupAddr(ctx context.Context, addr string) ([]string, error)
	// LookupNetIP returns host's addresses: network "ip4" asks for A
	// records only (DNS blocklists), "ip6" for AAAA, "ip" for both.
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// TXTFunc adapts d to the LookupTXT option of emersion/go-msgauth (dkim
// VerifyOptions, dmarc LookupOptions), whose function takes no context:
// every lookup it makes is bounded by ctx.
func TXTFunc(ctx context.Context, d DNS) func(name string) ([]string, error) {
	return func(name string) ([]string, error) { return d.LookupTXT(ctx, name) }
}

// Defaults of a Resolver.
const (
	DefaultTimeout   = 5 * time.Second
	DefaultCacheSize = 10000
	// failTTL is how long a failed lookup (SERVFAIL, timeout) is
	// remembered: long enough that a dead server is not asked again by
	// every session for a while, short enough that a blip passes (RFC 2308
	// section 7 allows up to 5 minutes).
	failTTL = 5 * time.Second
	// maxTTL caps what a record may ask for (as resolvers do), so a
	// mistaken TTL cannot pin an answer for weeks.
	maxTTL = 24 * time.Hour
)

// Resolver asks recursive DNS servers and caches their answers. It is safe
// for concurrent use.
type Resolver struct {
	// Now is the clock of the cache's TTLs (tests move it); nil: time.Now.
	// Timeouts always run on the real clock.
	Now func() time.Time

	mu       sync.Mutex
	servers  []string
	timeout  time.Duration
	cache    *cache
	inflight map[key]*call
	// transport asks the question; nil: exchange, over the network (Fake
	// answers in memory).
	transport func(ctx context.Context, servers []string, name string, qtype uint16) (*dns.Msg, string, error)
}

// New returns a resolver that asks servers (host:port, or an IP address
// for port 53; empty: the nameservers of /etc/resolv.conf, or
// 127.0.0.1:53 without any) and gives each lookup timeout in all (0:
// DefaultTimeout), caching up to size answers (0: DefaultCacheSize).
func New(servers []string, timeout time.Duration, size int) *Resolver {
	if size <= 0 {
		size = DefaultCacheSize
	}
	r := &Resolver{cache: newCache(size), inflight: map[key]*call{}}
	r.Configure(servers, timeout)
	return r
}

// Configure changes the servers and the timeout (a reloaded control/);
// the cache stays.
func (r *Resolver) Configure(servers []string, timeout time.Duration) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if len(servers) == 0 {
		servers = systemServers()
	}
	list := make([]string, 0, len(servers))
	for _, s := range servers {
		list = append(list, withPort(s))
	}
	r.mu.Lock()
	r.servers, r.timeout = list, timeout
	r.mu.Unlock()
}

// Servers returns the servers asked, in order.
func (r *Resolver) Servers() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.servers)
}

// systemServers reads /etc/resolv.conf as the C library does; without a
// nameserver line the C library asks 127.0.0.1.
func systemServers() []string {
	cc, err := dns.ClientConfigFromFile("/etc/resolv.conf")
	if err != nil || len(cc.Servers) == 0 {
		return []string{"127.0.0.1:53"}
	}
	out := make([]string, 0, len(cc.Servers))
	for _, s := range cc.Servers {
		out = append(out, net.JoinHostPort(s, cc.Port))
	}
	return out
}

// withPort adds port 53 to a bare address.
func withPort(s string) string {
	if _, _, err := net.SplitHostPort(s); err == nil {
		return s
	}
	return net.JoinHostPort(strings.Trim(s, "[]"), "53")
}

func (r *Resolver) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// LookupTXT implements DNS.
func (r *Resolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	rrs, err := r.lookup(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		out = append(out, strings.Join(rr.(*dns.TXT).Txt, ""))
	}
	return out, nil
}

// LookupMX implements DNS; the records come sorted by preference.
func (r *Resolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	rrs, err := r.lookup(ctx, name, dns.TypeMX)
	if err != nil {
		return nil, err
	}
	out := make([]*net.MX, 0, len(rrs))
	for _, rr := range rrs {
		mx := rr.(*dns.MX)
		out = append(out, &net.MX{Host: mx.Mx, Pref: mx.Preference})
	}
	slices.SortStableFunc(out, func(a, b *net.MX) int { return int(a.Pref) - int(b.Pref) })
	return out, nil
}

// LookupAddr implements DNS.
func (r *Resolver) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return nil, &net.DNSError{Err: "unrecognized address", Name: addr}
	}
	arpa, err := dns.ReverseAddr(ip.Unmap().String())
	if err != nil {
		return nil, &net.DNSError{Err: "unrecognized address", Name: addr}
	}
	rrs, err := r.lookup(ctx, arpa, dns.TypePTR)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		out = append(out, rr.(*dns.PTR).Ptr)
	}
	return out, nil
}

// LookupIPAddr implements DNS.
func (r *Resolver) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	ips, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	out := make([]net.IPAddr, 0, len(ips))
	for _, ip := range ips {
		out = append(out, net.IPAddr{IP: ip.AsSlice()})
	}
	return out, nil
}

// LookupNetIP implements DNS. For "ip" both families are asked at once;
// as with net, an answer from one is enough and the other's failure is
// then ignored.
func (r *Resolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	var types []uint16
	switch network {
	case "ip4":
		types = []uint16{dns.TypeA}
	case "ip6":
		types = []uint16{dns.TypeAAAA}
	case "ip":
		types = []uint16{dns.TypeA, dns.TypeAAAA}
	default:
		return nil, &net.DNSError{Err: "unknown network " + network, Name: host}
	}
	rrs := make([][]dns.RR, len(types))
	errs := make([]error, len(types))
	if len(types) == 1 {
		rrs[0], errs[0] = r.lookup(ctx, host, types[0])
	} else {
		var wg sync.WaitGroup
		for i, t := range types {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rrs[i], errs[i] = r.lookup(ctx, host, t)
			}()
		}
		wg.Wait()
	}
	var out []netip.Addr
	for _, set := range rrs {
		for _, rr := range set {
			var ip net.IP
			switch v := rr.(type) {
			case *dns.A:
				ip = v.A
			case *dns.AAAA:
				ip = v.AAAA
			}
			if a, ok := netip.AddrFromSlice(ip); ok {
				out = append(out, a.Unmap())
			}
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	// Both failed: a temporary failure outweighs "not found", which
	// must be sure.
	for _, err := range errs {
		var de *net.DNSError
		if err != nil && (!errors.As(err, &de) || !de.IsNotFound) {
			return nil, err
		}
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return nil, notFound(host, "")
}
