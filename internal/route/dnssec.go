package route

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// TLSA is one TLSA record (RFC 6698 2.1): how a certificate of the host
// must match, and the data it must match.
type TLSA struct {
	Usage        uint8 // 2 DANE-TA, 3 DANE-EE (RFC 7218); 0 and 1 are unusable for SMTP (RFC 7672 3.1.3)
	Selector     uint8 // 0 the whole certificate, 1 its SubjectPublicKeyInfo
	MatchingType uint8 // 0 exact, 1 SHA-256, 2 SHA-512
	Data         []byte
}

func (t TLSA) String() string {
	return fmt.Sprintf("%d %d %d %s", t.Usage, t.Selector, t.MatchingType, hex.EncodeToString(t.Data))
}

// TLSResolver is the DNS the outbound TLS policies need beyond routing:
// DANE's TLSA records and whether an answer was validated (RFC 7672),
// the TXT records of MTA-STS (RFC 8461 3.1) and TLS-RPT (RFC 8460 3).
//
// Secure answers are the AD bit of the resolver, which goqmail does not
// check itself: like Postfix, mox and maddy it trusts a validating
// resolver the administrator runs on this host (unbound), over loopback
// where nobody can set the bit on the way.
type TLSResolver interface {
	// SecureMX reports whether the MX RRset of domain (or its denial)
	// validated. DANE applies only to MX hosts named by a secure MX
	// RRset (RFC 7672 2.2.1).
	SecureMX(ctx context.Context, domain string) (bool, error)
	// LookupTLSA returns the TLSA records of _PORT._tcp.HOST and whether
	// they validated. A secure "no such record" returns secure true and
	// an error wrapping ErrNotFound.
	LookupTLSA(ctx context.Context, host string, port uint16) ([]TLSA, bool, error)
	// LookupTXT returns the TXT records of name, each one's strings
	// joined (RFC 7208 3.3 style), ErrNotFound wrapped when there are none.
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// exchange sends one query with the DO and AD bits (RFC 6840 5.7: AD in
// a query asks for the AD bit in the answer) to the configured server,
// over UDP and then TCP when the answer is truncated.
func (d *DNS) exchange(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	server, err := d.dnsServer()
	if err != nil {
		return nil, err
	}
	q := new(dns.Msg)
	q.SetQuestion(fqdn(name), qtype)
	q.RecursionDesired = true
	q.AuthenticatedData = true
	q.SetEdns0(1232, true)
	c := &dns.Client{Timeout: 10 * time.Second}
	if dl, ok := ctx.Deadline(); ok {
		c.Timeout = max(time.Until(dl), time.Millisecond)
	}
	r, _, err := c.ExchangeContext(ctx, q, server)
	if err == nil && r.Truncated {
		c.Net = "tcp"
		r, _, err = c.ExchangeContext(ctx, q, server)
	}
	if err != nil {
		return nil, fmt.Errorf("%s lookup %s: %w", dns.TypeToString[qtype], name, err)
	}
	if r.Id != q.Id {
		return nil, fmt.Errorf("%s lookup %s: reply for another query", dns.TypeToString[qtype], name)
	}
	return r, nil
}

// dnsServer is the server of NewDNS, else the first of resolv.conf.
func (d *DNS) dnsServer() (string, error) {
	if d.server != "" {
		return d.server, nil
	}
	cc, err := dns.ClientConfigFromFile("/etc/resolv.conf")
	if err != nil {
		return "", fmt.Errorf("reading /etc/resolv.conf: %w", err)
	}
	if len(cc.Servers) == 0 {
		return "", errors.New("no nameserver in /etc/resolv.conf")
	}
	return net.JoinHostPort(cc.Servers[0], cc.Port), nil
}

// answers returns the records of the asked type in r, with a definite
// "none" (NXDOMAIN, NODATA) as ErrNotFound and anything but NOERROR as a
// temporary error.
func answers(r *dns.Msg, name string, qtype uint16) ([]dns.RR, error) {
	what := dns.TypeToString[qtype] + " lookup " + name
	switch r.Rcode {
	case dns.RcodeSuccess:
	case dns.RcodeNameError:
		return nil, fmt.Errorf("%s: %w", what, ErrNotFound)
	default:
		return nil, fmt.Errorf("%s: %s", what, dns.RcodeToString[r.Rcode])
	}
	var out []dns.RR
	for _, rr := range r.Answer {
		if rr.Header().Rrtype == qtype {
			out = append(out, rr)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return out, nil
}

// SecureMX implements TLSResolver.
func (d *DNS) SecureMX(ctx context.Context, domain string) (bool, error) {
	r, err := d.exchange(ctx, domain, dns.TypeMX)
	if err != nil {
		return false, err
	}
	if _, err := answers(r, domain, dns.TypeMX); err != nil && !errors.Is(err, ErrNotFound) {
		return false, err
	}
	return r.AuthenticatedData, nil
}

// LookupTLSA implements TLSResolver.
func (d *DNS) LookupTLSA(ctx context.Context, host string, port uint16) ([]TLSA, bool, error) {
	name := fmt.Sprintf("_%d._tcp.%s", port, strings.TrimSuffix(host, "."))
	r, err := d.exchange(ctx, name, dns.TypeTLSA)
	if err != nil {
		return nil, false, err
	}
	rrs, err := answers(r, name, dns.TypeTLSA)
	if err != nil {
		return nil, r.AuthenticatedData, err
	}
	out := make([]TLSA, 0, len(rrs))
	for _, rr := range rrs {
		t := rr.(*dns.TLSA)
		data, err := hex.DecodeString(t.Certificate)
		if err != nil {
			continue // unusable record (RFC 7672 2.2: ignore it)
		}
		out = append(out, TLSA{Usage: t.Usage, Selector: t.Selector, MatchingType: t.MatchingType, Data: data})
	}
	return out, r.AuthenticatedData, nil
}

// LookupTXT implements TLSResolver.
func (d *DNS) LookupTXT(ctx context.Context, name string) ([]string, error) {
	r, err := d.exchange(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, err
	}
	rrs, err := answers(r, name, dns.TypeTXT)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		out = append(out, strings.Join(rr.(*dns.TXT).Txt, ""))
	}
	return out, nil
}
