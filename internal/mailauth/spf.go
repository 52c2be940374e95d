package mailauth

import (
	"context"
	"net"
	"net/netip"
	"strings"

	"blitiri.com.ar/go/spf"
)

// SPFResult is one SPF check_host() outcome (RFC 7208 2.6): none,
// neutral, pass, fail, softfail, temperror or permerror.
type SPFResult struct {
	Result spf.Result
	// Identity is "mailfrom" or "helo" (RFC 7208 9.1); Domain is the
	// domain whose record was evaluated.
	Identity string
	Domain   string
	// Problem says what went wrong, for temperror and permerror.
	Problem string
}

// SPF is the SPF outcome of one transaction: HELO (RFC 7208 2.3) and
// MAIL FROM (2.4; for the null sender it is postmaster@HELO, the same
// check). Both are known at MAIL.
type SPF struct {
	IP       netip.Addr
	Helo     string
	Sender   string // as in MAIL FROM; "" for the null sender
	HeloRes  SPFResult
	MailFrom SPFResult
}

// Authoritative is the result that speaks for the envelope sender: the
// MAIL FROM identity, which is the HELO one for the null sender. DMARC
// (RFC 7489 3.1.2) and Received-SPF use it.
func (s *SPF) Authoritative() SPFResult { return s.MailFrom }

// CheckSPF runs check_host() for the HELO name and the MAIL FROM address
// of a client at ip. ctx bounds all lookups: when it ends, the result is
// temperror. A HELO that is not a domain name (an address literal, a bare
// word) has no SPF identity: its result is none (RFC 7208 2.3, 4.3).
func CheckSPF(ctx context.Context, r Resolver, ip netip.Addr, helo, sender string) *SPF {
	s := &SPF{IP: ip, Helo: helo, Sender: sender}
	s.HeloRes = SPFResult{Result: spf.None, Identity: "helo", Domain: helo}
	if isFQDN(helo) {
		s.HeloRes = checkHost(ctx, r, ip, helo, "postmaster@"+helo)
		s.HeloRes.Identity = "helo"
	}
	if sender == "" {
		s.MailFrom = s.HeloRes
		return s
	}
	s.MailFrom = checkHost(ctx, r, ip, helo, sender)
	s.MailFrom.Identity = "mailfrom"
	return s
}

func checkHost(ctx context.Context, r Resolver, ip netip.Addr, helo, sender string) SPFResult {
	_, domain, _ := strings.Cut(sender, "@")
	res := SPFResult{Domain: strings.ToLower(domain)}
	if !isFQDN(domain) {
		// RFC 7208 4.3: a malformed domain, or one that is not fully
		// qualified, gives none without any lookup.
		res.Result = spf.None
		return res
	}
	result, err := spf.CheckHostWithSender(net.IP(ip.Unmap().AsSlice()), helo, sender,
		spf.WithContext(ctx), spf.WithResolver(r))
	res.Result = result
	if err != nil && (result == spf.TempError || result == spf.PermError) {
		res.Problem = err.Error()
	}
	return res
}

// isFQDN accepts what can be an SPF domain: dot-separated labels of
// letters, digits, hyphens and underscores, at least two of them, none
// longer than 63 (RFC 7208 4.3, RFC 1035 2.3.4).
func isFQDN(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if len(s) == 0 || len(s) > 253 || !strings.Contains(s, ".") {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
