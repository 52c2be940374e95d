package mailauth

import (
	"context"
	"errors"
	"net"
)

// Resolver is the DNS the checks need. Its method set is *net.Resolver's,
// which is also what blitiri.com.ar/go/spf takes (spf.DNSResolver), so
// goqmail's policy resolver (internal/policydns, with its cache: what
// smtpd uses) or Go's own can be plugged in unchanged.
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
