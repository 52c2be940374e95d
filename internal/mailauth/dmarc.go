package mailauth

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"strings"

	"blitiri.com.ar/go/spf"
	"github.com/emersion/go-msgauth/dmarc"
	"golang.org/x/net/publicsuffix"
)

// DMARCResult is the DMARC outcome of a message (RFC 7489 11.2):
// none (no From domain or no policy), pass, fail, temperror or permerror.
type DMARCResult struct {
	Result string
	From   string // the RFC5322.From domain evaluated (header.from)
	// Policy is what the domain owner asks for a failing message: none,
	// quarantine or reject (p=, or sp= for a subdomain found through its
	// organizational domain, RFC 7489 6.6.3). Disposition is what applies
	// after pct= sampling (6.6.4): the policy, or the next milder one.
	Policy      string
	Disposition string
	Problem     string
}

// Policy values, as DMARC records spell them.
const (
	PolicyNone       = "none"
	PolicyQuarantine = "quarantine"
	PolicyReject     = "reject"
)

// DMARC evaluates the message's From domains against its DKIM results and
// the SPF result of its envelope (RFC 7489 6.6). With several From
// domains each is evaluated and the one with the strictest outcome
// speaks (a second address must not dilute the first one's policy).
// sample returns a number in [0, 100) for pct=; nil uses math/rand.
func DMARC(ctx context.Context, r Resolver, fromDomains []string, dkims []DKIMResult, spfRes *SPFResult, sample func() int) DMARCResult {
	if len(fromDomains) == 0 {
		return DMARCResult{Result: "none", Problem: "the message has no From domain"}
	}
	if sample == nil {
		sample = func() int { return rand.IntN(100) }
	}
	var worst DMARCResult
	for i, d := range fromDomains {
		res := dmarcFor(ctx, r, d, dkims, spfRes, sample)
		if i == 0 || severity(res) > severity(worst) {
			worst = res
		}
	}
	return worst
}

// severity orders outcomes: a failure that asks for reject over one that
// asks for quarantine, over the rest.
func severity(r DMARCResult) int {
	switch {
	case r.Result == "fail" && r.Policy == PolicyReject:
		return 6
	case r.Result == "fail" && r.Policy == PolicyQuarantine:
		return 5
	case r.Result == "temperror":
		return 4
	case r.Result == "fail":
		return 3
	case r.Result == "permerror":
		return 2
	case r.Result == "pass":
		return 1
	}
	return 0
}

func dmarcFor(ctx context.Context, r Resolver, from string, dkims []DKIMResult, spfRes *SPFResult, sample func() int) DMARCResult {
	res := DMARCResult{From: from}
	org := OrgDomain(from)
	// Policy discovery (RFC 7489 6.6.3): the From domain's record, else
	// its organizational domain's, whose sp= then applies.
	rec, err := lookupPolicy(ctx, r, from)
	sub := false
	if errors.Is(err, errNoPolicy) && org != from {
		rec, err = lookupPolicy(ctx, r, org)
		sub = true
	}
	switch {
	case errors.Is(err, errNoPolicy):
		res.Result = "none"
		return res
	case err != nil && dnsTemporary(err):
		res.Result, res.Problem = "temperror", err.Error()
		return res
	case err != nil:
		res.Result, res.Problem = "permerror", err.Error()
		return res
	}
	res.Policy = string(rec.Policy)
	if sub && rec.SubdomainPolicy != "" {
		res.Policy = string(rec.SubdomainPolicy)
	}
	res.Disposition = res.Policy
	if rec.Percent != nil && *rec.Percent < 100 && sample() >= *rec.Percent {
		// Not sampled: the next milder policy (RFC 7489 6.6.4).
		switch res.Policy {
		case PolicyReject:
			res.Disposition = PolicyQuarantine
		case PolicyQuarantine:
			res.Disposition = PolicyNone
		}
	}

	// Identifier alignment (RFC 7489 3.1): a DKIM pass for d= or an SPF
	// pass for the envelope domain, equal to the From domain (strict) or
	// sharing its organizational domain (relaxed, the default).
	aligned := func(d string, mode dmarc.AlignmentMode) bool {
		d = strings.ToLower(d)
		if mode == dmarc.AlignmentStrict {
			return d == from
		}
		return OrgDomain(d) == org
	}
	unsure := false // an aligned identifier that DNS could not judge
	for _, k := range dkims {
		if !aligned(k.Domain, rec.DKIMAlignment) {
			continue
		}
		if k.Result == "pass" {
			res.Result = "pass"
			return res
		}
		unsure = unsure || k.Result == "temperror"
	}
	if spfRes != nil && aligned(spfRes.Domain, rec.SPFAlignment) {
		if spfRes.Result == spf.Pass {
			res.Result = "pass"
			return res
		}
		unsure = unsure || spfRes.Result == spf.TempError
	}
	res.Result = "fail"
	if unsure {
		// A DNS failure kept an aligned identifier from passing: the
		// outcome is not known yet, and must not be acted on as a fail.
		res.Result, res.Problem = "temperror", "an aligned DKIM or SPF check failed temporarily"
	}
	return res
}

var errNoPolicy = errors.New("no DMARC record")

// lookupPolicy fetches and parses the DMARC record of domain (RFC 7489
// 6.6.3): TXT records at _dmarc.domain that start with v=DMARC1; none or
// more than one means no policy. A record that does not parse is an
// error (permerror), a DNS failure a temporary one.
func lookupPolicy(ctx context.Context, r Resolver, domain string) (*dmarc.Record, error) {
	txts, err := r.LookupTXT(ctx, "_dmarc."+domain)
	var de *net.DNSError
	if errors.As(err, &de) && de.IsNotFound {
		return nil, errNoPolicy
	}
	if err != nil {
		return nil, err
	}
	var recs []string
	for _, t := range txts {
		if strings.HasPrefix(t, "v=DMARC1") {
			rest := strings.TrimSpace(strings.TrimPrefix(t, "v=DMARC1"))
			if rest == "" || rest[0] == ';' {
				recs = append(recs, t)
			}
		}
	}
	if len(recs) != 1 {
		return nil, errNoPolicy
	}
	rec, err := dmarc.Parse(recs[0])
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// OrgDomain is a domain's organizational domain (RFC 7489 3.2): its
// public suffix (golang.org/x/net/publicsuffix, the list compiled in) and
// one label more. A name that is itself a public suffix is its own.
func OrgDomain(domain string) string {
	domain = strings.TrimSuffix(strings.ToLower(domain), ".")
	org, err := publicsuffix.EffectiveTLDPlusOne(domain)
	if err != nil {
		return domain
	}
	return org
}
