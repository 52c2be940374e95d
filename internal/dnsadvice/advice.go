// Package dnsadvice tells an administrator which DNS records a mail domain
// served by goqmail needs, in zone-file syntax, and checks the published
// ones record by record (`goqmail dns records|check DOMAIN`,
// docs/outbound.md). The records and the check come from one list, so
// what is printed is exactly what is checked.
package dnsadvice

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"

	"goqmail/internal/dkimkey"
)

// Input is what the advice is made of.
type Input struct {
	Domain   string       // the mail domain
	Host     string       // this server's name (control/me): the MX, the SRV target
	IPs      []netip.Addr // the host's public addresses
	Keys     []Key        // DKIM keys to publish
	ReportTo string       // where DMARC and TLS reports go (mailto)
	// Services offered to mail clients (RFC 6186 SRV, RFC 8314): the
	// listen control files that have an address.
	Submission, Submissions, POP3, POP3S bool
}

// Key is one DKIM key and its record.
type Key struct {
	Selector string
	Record   string // v=DKIM1; k=...; p=...
	Active   bool   // control/dkimkeys signs with it
}

// Record is one record the domain needs.
type Record struct {
	What    string // what it is for, as the check names it: "MX", "SPF", "DKIM gq202506", ...
	Name    string // owner name, without the final dot
	Type    string // MX, A, AAAA, TXT, SRV, CNAME, PTR
	Value   string // the RDATA in zone-file syntax
	Comment string // a line of explanation before it
	Reverse bool   // published by whoever holds the address (PTR), not in the domain's zone
	check   func(ctx context.Context, r Resolver) error
}

// TTL of every record printed: an hour, short enough for changes.
const TTL = 3600

// Zone is the record in zone-file syntax, one line.
func (r Record) Zone() string {
	if r.Type == "TXT" {
		return dkimkey.ZoneTXT(r.Name, TTL, r.Value)
	}
	return fmt.Sprintf("%s. %d IN %s %s", r.Name, TTL, r.Type, r.Value)
}

func fqdn(s string) string { return strings.TrimSuffix(s, ".") + "." }

// Records lists what the domain needs.
func Records(in Input) []Record {
	d, h := strings.ToLower(in.Domain), strings.ToLower(in.Host)
	report := in.ReportTo
	if report == "" {
		report = "postmaster@" + d
	}
	var out []Record
	out = append(out, Record{What: "MX", Name: d, Type: "MX", Value: "10 " + fqdn(h),
		Comment: "mail for " + d + " goes to " + h, check: checkMX(d, h)})
	for _, ip := range in.IPs {
		typ := "A"
		if ip.Is6() {
			typ = "AAAA"
		}
		out = append(out, Record{What: typ + " " + ip.String(), Name: h, Type: typ, Value: ip.String(),
			Comment: "the address of " + h, check: checkAddr(h, ip)})
	}
	out = append(out, Record{What: "SPF", Name: d, Type: "TXT", Value: "v=spf1 mx -all",
		Comment: "SPF (RFC 7208): only the MX hosts send mail from " + d + " (and SRS addresses of forwards)", check: checkSPF(d, h)})
	for _, k := range in.Keys {
		c := "DKIM key " + k.Selector + " (RFC 6376)"
		if k.Active {
			c += ": signs now"
		} else {
			c += ": not signing (new, or before retirement)"
		}
		out = append(out, Record{What: "DKIM " + k.Selector, Name: dkimkey.RecordName(d, k.Selector), Type: "TXT",
			Value: k.Record, Comment: c, check: checkDKIM(dkimkey.RecordName(d, k.Selector), k.Record)})
	}
	out = append(out, Record{What: "DMARC", Name: "_dmarc." + d, Type: "TXT",
		Value:   "v=DMARC1; p=quarantine; adkim=r; aspf=r; rua=mailto:" + report,
		Comment: "DMARC (RFC 7489): mail failing SPF and DKIM is junked; aggregate reports to " + report + " (p=none to watch first)",
		check:   checkTXT("_dmarc."+d, "v=DMARC1", "p=", "rua=mailto:")})
	policyID := sha256.Sum256([]byte("enforce\n" + h))
	out = append(out, Record{What: "MTA-STS", Name: "_mta-sts." + d, Type: "TXT",
		Value:   "v=STSv1; id=" + hex.EncodeToString(policyID[:6]),
		Comment: "MTA-STS (RFC 8461): senders fetch https://mta-sts." + d + "/.well-known/mta-sts.txt; change id= whenever that policy changes",
		check:   checkTXT("_mta-sts."+d, "v=STSv1", "id=")})
	out = append(out, Record{What: "MTA-STS host", Name: "mta-sts." + d, Type: "CNAME", Value: fqdn(h),
		Comment: "the HTTPS host that serves the MTA-STS policy", check: checkResolves("mta-sts." + d)})
	out = append(out, Record{What: "TLS-RPT", Name: "_smtp._tls." + d, Type: "TXT", Value: "v=TLSRPTv1; rua=mailto:" + report,
		Comment: "TLS-RPT (RFC 8460): senders report TLS failures to " + report, check: checkTXT("_smtp._tls."+d, "v=TLSRPTv1", "rua=")})
	for _, s := range []struct {
		on   bool
		name string
		port uint16
		why  string
	}{
		{in.Submission, "_submission._tcp", 587, "mail clients submit on port 587 (RFC 6186)"},
		{in.Submissions, "_submissions._tcp", 465, "mail clients submit over TLS on port 465 (RFC 8314)"},
		{in.POP3S, "_pop3s._tcp", 995, "mail clients read over POP3 with TLS on port 995 (RFC 6186)"},
		{in.POP3, "_pop3._tcp", 110, "mail clients read over POP3 on port 110 (RFC 6186)"},
	} {
		if s.on {
			out = append(out, Record{What: "SRV " + s.name, Name: s.name + "." + d, Type: "SRV",
				Value: fmt.Sprintf("0 1 %d %s", s.port, fqdn(h)), Comment: s.why, check: checkSRV(s.name+"."+d, s.port, h)})
		}
	}
	out = append(out, Record{What: "autoconfig", Name: "autoconfig." + d, Type: "CNAME", Value: fqdn(h),
		Comment: "the name Thunderbird-style clients ask for their settings (serve /mail/config-v1.1.xml there)",
		check:   checkResolves("autoconfig." + d)})
	for _, ip := range in.IPs {
		name, err := dns.ReverseAddr(ip.String())
		if err != nil {
			continue
		}
		out = append(out, Record{What: "PTR " + ip.String(), Name: strings.TrimSuffix(name, "."), Type: "PTR", Value: fqdn(h), Reverse: true,
			Comment: "reverse DNS: ask whoever gives you " + ip.String() + " (your provider) to publish this; receivers refuse mail from addresses without it",
			check:   checkPTR(ip, h)})
	}
	return out
}

// Zone prints the records as a zone file: the domain's records, then
// the reverse ones, each after its comment.
func Zone(in Input, recs []Record) string {
	var b strings.Builder
	fmt.Fprintf(&b, "; DNS records for %s, served by %s (goqmail dns records)\n", in.Domain, in.Host)
	if len(in.Keys) == 0 {
		fmt.Fprintf(&b, "; no DKIM key yet: goqmail dkim keygen %s, then run this again\n", in.Domain)
	}
	if len(in.IPs) == 0 {
		fmt.Fprintf(&b, "; no address of %s known: give --ip ADDR[,ADDR] for its A/AAAA and PTR records\n", in.Host)
	}
	for _, reverse := range []bool{false, true} {
		if reverse {
			fmt.Fprintf(&b, "\n; In the reverse zones of your addresses, not in %s's zone:\n", in.Domain)
		}
		for _, r := range recs {
			if r.Reverse == reverse {
				fmt.Fprintf(&b, "; %s\n%s\n", r.Comment, r.Zone())
			}
		}
	}
	return b.String()
}

// Finding is the check's word on one record: nil Err means it is right.
type Finding struct {
	Record Record
	Err    error
}

// Check looks up every record and says, for each, whether it is right.
func Check(ctx context.Context, r Resolver, recs []Record) []Finding {
	out := make([]Finding, 0, len(recs))
	for _, rec := range recs {
		out = append(out, Finding{Record: rec, Err: rec.check(ctx, r)})
	}
	return out
}

// missing words a lookup error: absent, or unknown.
func missing(what string, err error) error {
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("missing: no %s", what)
	}
	return fmt.Errorf("cannot check: %w", err)
}

func checkMX(d, h string) func(context.Context, Resolver) error {
	return func(ctx context.Context, r Resolver) error {
		mxs, err := r.MX(ctx, d)
		if err != nil {
			return missing("MX record for "+d, err)
		}
		var hosts []string
		for _, mx := range mxs {
			if mx.Host == h {
				return nil
			}
			hosts = append(hosts, mx.Host)
		}
		return fmt.Errorf("wrong: the MX records name %s, not %s", strings.Join(hosts, ", "), h)
	}
}

func checkAddr(h string, ip netip.Addr) func(context.Context, Resolver) error {
	return func(ctx context.Context, r Resolver) error {
		ips, err := r.Addrs(ctx, h)
		if err != nil {
			return missing("address record for "+h, err)
		}
		if slices.Contains(ips, ip) {
			return nil
		}
		return fmt.Errorf("missing: %s has addresses %v, not %s", h, ips, ip)
	}
}

// txtWith finds the records at name that start with prefix.
func txtWith(ctx context.Context, r Resolver, name, prefix string) ([]string, error) {
	txts, err := r.TXT(ctx, name)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, t := range txts {
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(t)), strings.ToLower(prefix)) {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no TXT record starting %q at %s", ErrNotFound, prefix, name)
	}
	return out, nil
}

func checkSPF(d, h string) func(context.Context, Resolver) error {
	return func(ctx context.Context, r Resolver) error {
		recs, err := txtWith(ctx, r, d, "v=spf1")
		if err != nil {
			return missing("SPF record (TXT v=spf1) at "+d, err)
		}
		if len(recs) > 1 {
			return fmt.Errorf("wrong: %d SPF records at %s; RFC 7208 4.5 makes that a permanent error: keep one", len(recs), d)
		}
		terms := strings.Fields(strings.ToLower(recs[0]))
		authorizes := false
		for _, t := range terms[1:] {
			t = strings.TrimPrefix(t, "+")
			if t == "mx" || t == "mx:"+d || t == "a:"+h || (t == "a" && h == d) {
				authorizes = true
			}
		}
		switch {
		case !authorizes:
			return fmt.Errorf("wrong: %q does not name mx or a:%s, so mail from this server fails SPF", recs[0], h)
		case terms[len(terms)-1] != "-all" && terms[len(terms)-1] != "~all":
			return fmt.Errorf("wrong: %q does not end in -all or ~all, so it refuses no forger", recs[0])
		}
		return nil
	}
}

func checkDKIM(name, want string) func(context.Context, Resolver) error {
	return func(ctx context.Context, r Resolver) error {
		recs, err := r.TXT(ctx, name)
		if err != nil {
			return missing("DKIM key record at "+name, err)
		}
		for _, rec := range recs {
			if dkimkey.PublicOf(rec) == dkimkey.PublicOf(want) {
				return nil
			}
		}
		return fmt.Errorf("wrong: the record at %s holds another key (p= differs from this server's key)", name)
	}
}

func checkTXT(name, prefix string, needs ...string) func(context.Context, Resolver) error {
	return func(ctx context.Context, r Resolver) error {
		recs, err := txtWith(ctx, r, name, prefix)
		if err != nil {
			return missing(prefix+" record at "+name, err)
		}
		if len(recs) > 1 {
			return fmt.Errorf("wrong: %d %s records at %s; keep one", len(recs), prefix, name)
		}
		for _, n := range needs {
			if !strings.Contains(strings.ReplaceAll(recs[0], " ", ""), n) {
				return fmt.Errorf("wrong: %q has no %s", recs[0], strings.TrimSuffix(n, "="))
			}
		}
		return nil
	}
}

func checkResolves(name string) func(context.Context, Resolver) error {
	return func(ctx context.Context, r Resolver) error {
		if _, err := r.Addrs(ctx, name); err != nil {
			return missing("address for "+name, err)
		}
		return nil
	}
}

func checkSRV(name string, port uint16, h string) func(context.Context, Resolver) error {
	return func(ctx context.Context, r Resolver) error {
		srvs, err := r.SRV(ctx, name)
		if err != nil {
			return missing("SRV record at "+name, err)
		}
		for _, s := range srvs {
			if s.Target == h && s.Port == port {
				return nil
			}
		}
		return fmt.Errorf("wrong: %s names %s port %d, not %s port %d", name, srvs[0].Target, srvs[0].Port, h, port)
	}
}

func checkPTR(ip netip.Addr, h string) func(context.Context, Resolver) error {
	return func(ctx context.Context, r Resolver) error {
		names, err := r.PTR(ctx, ip)
		if err != nil {
			return missing("PTR record for "+ip.String(), err)
		}
		if slices.Contains(names, h) {
			return nil
		}
		return fmt.Errorf("wrong: %s points back to %s, not %s", ip, strings.Join(names, ", "), h)
	}
}
