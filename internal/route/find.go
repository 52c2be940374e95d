package route

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
)

// Bounds on the work one domain may cause: MX hosts looked up, and
// addresses kept in all.
const (
	maxMXHosts = 16
	maxTargets = 32
)

// Target is one address to try, in order.
type Target struct {
	// Name is the host name the address came from (MX host, relay, or the
	// domain itself for an implicit MX); "" for an address literal. It is
	// the name a verified TLS certificate must carry.
	Name string
	Addr netip.Addr
	Port uint16
	Pref int // MX preference; 0 for routes, literals and implicit MX
}

// AddrPort returns the address and port to dial.
func (t Target) AddrPort() netip.AddrPort { return netip.AddrPortFrom(t.Addr, t.Port) }

// Plan is where mail for one domain goes.
type Plan struct {
	Targets []Target
	// Route is the smtproutes entry used, nil when delivering by MX. Its
	// credentials, if any, are for every target.
	Route *Route
}

// Error is a routing failure that ends the delivery attempt for every
// recipient of the domain: permanent (bounce) or temporary (retry later).
// Text is qmail-style report text ending in an enhanced status code.
type Error struct {
	Permanent bool
	Text      string
	Err       error
}

func (e *Error) Error() string { return e.Text }
func (e *Error) Unwrap() error { return e.Err }

func permanent(err error, format string, args ...any) *Error {
	return &Error{Permanent: true, Text: fmt.Sprintf(format, args...), Err: err}
}

func temporary(err error, format string, args ...any) *Error {
	return &Error{Text: fmt.Sprintf(format, args...), Err: err}
}

// Finder turns a recipient domain into a Plan.
type Finder struct {
	Resolver Resolver
	Routes   *Routes
	// LocalNames and LocalAddrs identify this host (control/me, helohost;
	// the addresses of its interfaces). A domain whose best MX is this
	// host, and which reached remote delivery because it is not in
	// locals, would loop: it bounces (qmail's ipme check, #5.4.6).
	LocalNames []string
	LocalAddrs []netip.Addr
	// Port is the SMTP port for MX and address-literal targets
	// (DefaultPort when 0); tests set it to reach peers on loopback.
	Port uint16
	// Shuffle orders MX hosts of equal preference; rand.Shuffle when nil.
	Shuffle func(n int, swap func(i, j int))
}

// Find returns the targets for domain, best first.
//
// Order of decisions, as in qmail-remote: smtproutes (a relay is looked
// up by A/AAAA only, and is exempt from the "that is me" check, so a route
// to a local content filter works); an address literal is used as is;
// otherwise MX records, sorted by preference and shuffled among equal
// preferences (RFC 5321 5.1); no MX at all means the domain itself is the
// only MX, with preference 0 (RFC 5321 5.1 implicit MX). A lone MX of "."
// is RFC 7505's null MX: the domain takes no mail.
func (f *Finder) Find(ctx context.Context, domain string) (Plan, error) {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	if rt, ok := f.Routes.Lookup(domain); ok {
		return f.findRelay(ctx, rt)
	}
	if strings.HasPrefix(domain, "[") {
		return f.findLiteral(domain)
	}
	if !validHost(domain) {
		return Plan{}, permanent(nil, "Sorry, %q is not a valid domain name. (#5.1.2)", domain)
	}
	mxs, err := f.Resolver.LookupMX(ctx, domain)
	switch {
	case errors.Is(err, ErrNotFound):
		return f.findImplicit(ctx, domain)
	case err != nil:
		return Plan{}, temporary(err, "Sorry, I couldn't look up the MX records of %s: %v. (#4.4.3)", domain, err)
	case len(mxs) == 0:
		return f.findImplicit(ctx, domain)
	}
	if len(mxs) == 1 && mxs[0].Host == "." {
		return Plan{}, permanent(nil, "Sorry, %s does not accept mail (null MX). (#5.1.10)", domain)
	}
	return f.findMX(ctx, domain, mxs)
}

func (f *Finder) port() uint16 {
	if f.Port == 0 {
		return DefaultPort
	}
	return f.Port
}

func (f *Finder) findRelay(ctx context.Context, rt Route) (Plan, error) {
	plan := Plan{Route: &rt}
	if ip, err := netip.ParseAddr(rt.Relay); err == nil {
		plan.Targets = []Target{{Addr: ip.Unmap(), Port: rt.Port}}
		return plan, nil
	}
	ips, err := f.Resolver.LookupIP(ctx, rt.Relay)
	if err != nil || len(ips) == 0 {
		// A relay that does not resolve is a configuration error; the
		// admin can fix it, so retry rather than bounce (qmail bounces).
		return Plan{}, temporary(err, "Sorry, I couldn't find the smtproutes relay %s: %v. (#4.4.3)", rt.Relay, err)
	}
	for _, ip := range dedupe(ips) {
		plan.Targets = append(plan.Targets, Target{Name: rt.Relay, Addr: ip, Port: rt.Port})
	}
	plan.Targets = capTargets(plan.Targets)
	return plan, nil
}

func (f *Finder) findLiteral(domain string) (Plan, error) {
	inner := strings.TrimSuffix(strings.TrimPrefix(domain, "["), "]")
	v6, isV6 := strings.CutPrefix(inner, "ipv6:")
	if isV6 {
		inner = v6
	}
	ip, err := netip.ParseAddr(inner)
	if err != nil || ip.Zone() != "" || ip.Is6() != isV6 || !strings.HasSuffix(domain, "]") {
		return Plan{}, permanent(err, "Sorry, %s is not a valid address literal. (#5.1.2)", domain)
	}
	if f.isLocalAddr(ip) {
		return Plan{}, permanent(nil, "Sorry, %s is an address of this host, and it isn't in my control/locals file. (#5.4.6)", domain)
	}
	return Plan{Targets: []Target{{Addr: ip, Port: f.port()}}}, nil
}

func (f *Finder) findImplicit(ctx context.Context, domain string) (Plan, error) {
	ips, err := f.Resolver.LookupIP(ctx, domain)
	switch {
	case errors.Is(err, ErrNotFound):
		return Plan{}, permanent(err, "Sorry, I couldn't find any host named %s. (#5.1.2)", domain)
	case err != nil:
		return Plan{}, temporary(err, "Sorry, I couldn't look up %s: %v. (#4.4.3)", domain, err)
	case len(ips) == 0:
		return Plan{}, permanent(nil, "Sorry, I couldn't find any host named %s. (#5.1.2)", domain)
	}
	var plan Plan
	for _, ip := range dedupe(ips) {
		if f.isLocalAddr(ip) {
			return Plan{}, permanent(nil, "Sorry. Although I'm listed as a best-preference MX or A for %s, it isn't in my control/locals file, so I don't treat it as local. (#5.4.6)", domain)
		}
		plan.Targets = append(plan.Targets, Target{Name: domain, Addr: ip, Port: f.port()})
	}
	plan.Targets = capTargets(plan.Targets)
	return plan, nil
}

func (f *Finder) findMX(ctx context.Context, domain string, mxs []MX) (Plan, error) {
	mxs = slices.DeleteFunc(slices.Clone(mxs), func(m MX) bool { return m.Host == "." || m.Host == "" })
	shuffle := f.Shuffle
	if shuffle == nil {
		shuffle = rand.Shuffle
	}
	// Shuffle everything, then sort stably by preference: equal
	// preferences end up in random order.
	shuffle(len(mxs), func(i, j int) { mxs[i], mxs[j] = mxs[j], mxs[i] })
	slices.SortStableFunc(mxs, func(a, b MX) int { return cmp.Compare(a.Pref, b.Pref) })
	if len(mxs) > maxMXHosts {
		mxs = mxs[:maxMXHosts]
	}
	const notMe = 1 << 17 // above any uint16 preference
	myPref := notMe
	var targets []Target
	var lastErr error
	for _, mx := range mxs {
		if f.isLocalName(mx.Host) {
			myPref = min(myPref, int(mx.Pref))
			continue
		}
		var ips []netip.Addr
		if ip, err := netip.ParseAddr(mx.Host); err == nil {
			ips = []netip.Addr{ip.Unmap()} // an MX that is an address: broken, but common
		} else if ips, err = f.Resolver.LookupIP(ctx, mx.Host); err != nil {
			lastErr = err
			continue
		}
		for _, ip := range dedupe(ips) {
			if f.isLocalAddr(ip) {
				myPref = min(myPref, int(mx.Pref))
				continue
			}
			targets = append(targets, Target{Name: mx.Host, Addr: ip, Port: f.port(), Pref: int(mx.Pref)})
		}
	}
	// Only MX hosts better than this one may be used (qmail's prefme).
	targets = slices.DeleteFunc(targets, func(t Target) bool { return t.Pref >= myPref })
	targets = capTargets(dedupeTargets(targets))
	if len(targets) > 0 {
		return Plan{Targets: targets}, nil
	}
	if myPref != notMe {
		return Plan{}, permanent(nil, "Sorry. Although I'm listed as a best-preference MX or A for %s, it isn't in my control/locals file, so I don't treat it as local. (#5.4.6)", domain)
	}
	// MX hosts that do not resolve: qmail's temp_dns. The records may be
	// fixed, so retry.
	return Plan{}, temporary(lastErr, "Sorry, I couldn't find an address for any MX host of %s: %v. (#4.4.3)", domain, lastErr)
}

func (f *Finder) isLocalName(host string) bool {
	for _, n := range f.LocalNames {
		if strings.EqualFold(strings.TrimSuffix(n, "."), host) {
			return true
		}
	}
	return false
}

func (f *Finder) isLocalAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.IsUnspecified() {
		return true // 0.0.0.0 and :: reach this host
	}
	return slices.Contains(f.LocalAddrs, ip)
}

func dedupe(ips []netip.Addr) []netip.Addr {
	out := make([]netip.Addr, 0, len(ips))
	for _, ip := range ips {
		ip = ip.Unmap()
		if ip.IsValid() && !slices.Contains(out, ip) {
			out = append(out, ip)
		}
	}
	return out
}

// dedupeTargets keeps the first (best) occurrence of each address.
func dedupeTargets(ts []Target) []Target {
	out := ts[:0]
	for _, t := range ts {
		if !slices.ContainsFunc(out, func(o Target) bool { return o.Addr == t.Addr && o.Port == t.Port }) {
			out = append(out, t)
		}
	}
	return out
}

func capTargets(ts []Target) []Target {
	if len(ts) > maxTargets {
		return ts[:maxTargets]
	}
	return ts
}
