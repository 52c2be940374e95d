package dnsadvice

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

// ErrNotFound is a definite "no such record" (NXDOMAIN or NODATA); every
// other error means the answer is unknown.
var ErrNotFound = errors.New("no such record")

// Resolver is the DNS the check needs, kept small so another resolver
// (issue 13's policy resolver) can stand in. Names are absolute or not,
// without a difference; results are in lower case without the final dot.
type Resolver interface {
	TXT(ctx context.Context, name string) ([]string, error)
	MX(ctx context.Context, name string) ([]MX, error)
	Addrs(ctx context.Context, host string) ([]netip.Addr, error) // A and AAAA, CNAMEs followed
	SRV(ctx context.Context, name string) ([]SRV, error)
	PTR(ctx context.Context, ip netip.Addr) ([]string, error)
}

// MX is one mail exchanger.
type MX struct {
	Pref uint16
	Host string
}

// SRV is one service record (RFC 2782).
type SRV struct {
	Priority, Weight, Port uint16
	Target                 string
}

// Client is the Resolver on github.com/miekg/dns: it asks one server
// (host:port), or the first of /etc/resolv.conf, with recursion desired,
// over UDP and again over TCP when the answer is truncated.
type Client struct {
	Server string
}

func (c *Client) server() (string, error) {
	if c.Server != "" {
		return c.Server, nil
	}
	conf, err := dns.ClientConfigFromFile("/etc/resolv.conf")
	if err != nil || len(conf.Servers) == 0 {
		return "", fmt.Errorf("no DNS server: /etc/resolv.conf: %v (give one in GOQMAIL_DNS=host:port)", err)
	}
	return net.JoinHostPort(conf.Servers[0], conf.Port), nil
}

func (c *Client) query(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	srv, err := c.server()
	if err != nil {
		return nil, err
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.SetEdns0(4096, false)
	cl := &dns.Client{Timeout: 5 * time.Second}
	r, _, err := cl.ExchangeContext(ctx, m, srv)
	if err == nil && r.Truncated {
		cl.Net = "tcp"
		r, _, err = cl.ExchangeContext(ctx, m, srv)
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", dns.TypeToString[qtype], name, err)
	}
	switch r.Rcode {
	case dns.RcodeSuccess:
	case dns.RcodeNameError:
		return nil, fmt.Errorf("%s %s: %w (NXDOMAIN)", dns.TypeToString[qtype], name, ErrNotFound)
	default:
		return nil, fmt.Errorf("%s %s: %s", dns.TypeToString[qtype], name, dns.RcodeToString[r.Rcode])
	}
	var out []dns.RR
	for _, rr := range r.Answer {
		if rr.Header().Rrtype == qtype {
			out = append(out, rr)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s %s: %w", dns.TypeToString[qtype], name, ErrNotFound)
	}
	return out, nil
}

func host(s string) string { return strings.ToLower(strings.TrimSuffix(s, ".")) }

func (c *Client) TXT(ctx context.Context, name string) ([]string, error) {
	rrs, err := c.query(ctx, name, dns.TypeTXT)
	var out []string
	for _, rr := range rrs {
		out = append(out, strings.Join(rr.(*dns.TXT).Txt, "")) // RFC 7208 3.3, RFC 6376 3.6.2.2
	}
	return out, err
}

func (c *Client) MX(ctx context.Context, name string) ([]MX, error) {
	rrs, err := c.query(ctx, name, dns.TypeMX)
	var out []MX
	for _, rr := range rrs {
		mx := rr.(*dns.MX)
		out = append(out, MX{Pref: mx.Preference, Host: host(mx.Mx)})
	}
	return out, err
}

func (c *Client) Addrs(ctx context.Context, name string) ([]netip.Addr, error) {
	var out []netip.Addr
	var errs []error
	for _, t := range []uint16{dns.TypeA, dns.TypeAAAA} {
		rrs, err := c.query(ctx, name, t)
		if err != nil {
			errs = append(errs, err)
		}
		for _, rr := range rrs {
			var ip net.IP
			switch r := rr.(type) {
			case *dns.A:
				ip = r.A
			case *dns.AAAA:
				ip = r.AAAA
			}
			if a, ok := netip.AddrFromSlice(ip); ok {
				out = append(out, a.Unmap())
			}
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	for _, e := range errs {
		if !errors.Is(e, ErrNotFound) {
			return nil, e
		}
	}
	return nil, fmt.Errorf("address of %s: %w", name, ErrNotFound)
}

func (c *Client) SRV(ctx context.Context, name string) ([]SRV, error) {
	rrs, err := c.query(ctx, name, dns.TypeSRV)
	var out []SRV
	for _, rr := range rrs {
		s := rr.(*dns.SRV)
		out = append(out, SRV{Priority: s.Priority, Weight: s.Weight, Port: s.Port, Target: host(s.Target)})
	}
	return out, err
}

func (c *Client) PTR(ctx context.Context, ip netip.Addr) ([]string, error) {
	name, err := dns.ReverseAddr(ip.String())
	if err != nil {
		return nil, err
	}
	rrs, err := c.query(ctx, name, dns.TypePTR)
	var out []string
	for _, rr := range rrs {
		out = append(out, host(rr.(*dns.PTR).Ptr))
	}
	return out, err
}
