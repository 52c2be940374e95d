package route

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// ErrNotFound is what a Resolver returns, wrapped, when DNS says for sure
// that there is no such record: NXDOMAIN, or a name without records of the
// type asked (NODATA). Every other lookup error is temporary: qmail treats
// only these answers as hard (dns.c, DNS_HARD) and defers on the rest.
var ErrNotFound = errors.New("no such DNS record")

// MX is one mail exchanger record.
type MX struct {
	// Host is the exchanger's name in lower case without the trailing dot,
	// or "." for the root, which a lone record turns into a null MX
	// (RFC 7505).
	Host string
	Pref uint16
}

// Resolver is the DNS the router needs. Implementations return errors that
// wrap ErrNotFound for a definite "no such record" and anything else for a
// failure worth retrying later; the router turns the first into a bounce
// and the second into a deferral, so a resolver must never report a
// network failure as ErrNotFound.
type Resolver interface {
	// LookupMX returns the MX records of domain in any order; the router
	// sorts and shuffles them itself.
	LookupMX(ctx context.Context, domain string) ([]MX, error)
	// LookupIP returns the IPv4 and IPv6 addresses of host (A and AAAA,
	// following CNAMEs), IPv4-mapped addresses unmapped.
	LookupIP(ctx context.Context, host string) ([]netip.Addr, error)
}

// DNS is the real Resolver: Go's own stub resolver (net.Resolver with
// PreferGo), optionally pointed at one server. It sends EDNS0 and retries
// over TCP when an answer is truncated, so big MX sets are not cut at 512
// bytes as in netqmail. Names are queried fully qualified (a trailing dot
// is added), so resolv.conf search domains never apply. Host lookups
// consult /etc/hosts first, as every Go and libc lookup does.
//
// The TLS policy lookups (dnssec.go) go through github.com/miekg/dns to
// the same server, since Go's resolver hides the AD bit and TLSA records.
type DNS struct {
	r      *net.Resolver
	server string // "" = resolv.conf
}

// NewDNS returns a resolver that queries server ("127.0.0.1:5353";
// IPv6 as "[::1]:53"), or the servers of /etc/resolv.conf when server is
// "". Tests point it at a DNS server on loopback.
func NewDNS(server string) *DNS {
	r := &net.Resolver{PreferGo: true}
	if server != "" {
		r.Dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, server)
		}
	}
	return &DNS{r: r, server: server}
}

func fqdn(name string) string {
	if strings.HasSuffix(name, ".") {
		return name
	}
	return name + "."
}

// classify maps Go's DNS errors onto ErrNotFound or a temporary error.
func classify(op, name string, err error) error {
	var de *net.DNSError
	if errors.As(err, &de) && de.IsNotFound {
		return fmt.Errorf("%s %s: %w", op, name, ErrNotFound)
	}
	return fmt.Errorf("%s %s: %w", op, name, err)
}

// LookupMX implements Resolver.
func (d *DNS) LookupMX(ctx context.Context, domain string) ([]MX, error) {
	recs, err := d.r.LookupMX(ctx, fqdn(domain))
	// Go drops malformed records and reports an error beside the good
	// ones; the good ones are still worth using.
	if err != nil && len(recs) == 0 {
		return nil, classify("MX lookup", domain, err)
	}
	out := make([]MX, 0, len(recs))
	for _, mx := range recs {
		host := strings.ToLower(mx.Host)
		if host != "." {
			host = strings.TrimSuffix(host, ".")
		}
		out = append(out, MX{Host: host, Pref: mx.Pref})
	}
	return out, nil
}

// LookupIP implements Resolver.
func (d *DNS) LookupIP(ctx context.Context, host string) ([]netip.Addr, error) {
	ips, err := d.r.LookupNetIP(ctx, "ip", fqdn(host))
	if err != nil {
		return nil, classify("address lookup", host, err)
	}
	out := make([]netip.Addr, 0, len(ips))
	for _, ip := range ips {
		out = append(out, ip.Unmap())
	}
	return out, nil
}
