// Package tlsrpt is SMTP TLS Reporting (RFC 8460) for outbound mail:
// the outcomes of delivery attempts are counted per policy domain and
// UTC day, and each day's counts become one JSON report (RFC 8460 4) per
// domain, mailed (RFC 8460 5.3) to the addresses of the domain's
// _smtp._tls TXT record.
package tlsrpt

import (
	"fmt"
	"net/mail"
	"sort"
	"strings"
	"sync"
	"time"
)

// Outcome is one delivery attempt's TLS result for one policy domain.
type Outcome struct {
	Domain     string // the recipient domain (the policy domain)
	PolicyType string // "sts", "tlsa" or "no-policy-found" (RFC 8460 4.4)
	PolicyID   string // MTA-STS record id
	Policy     []string
	MXHost     string
	Addr       string // ip of the receiving host; "" when none was reached
	// Failure is "" for a successful TLS session, else an RFC 8460 4.3
	// result type (starttls-not-supported, certificate-host-mismatch,
	// validation-failure, sts-policy-fetch-error, ...).
	Failure string
	Detail  string
}

// maxDomains bounds the memory of one day's counts: outcomes for more
// domains than this are dropped (and counted as dropped).
const maxDomains = 10000

type policyKey struct {
	domain, ptype, id, policy string
}

type failureKey struct {
	result, mx, ip, info string
}

type counts struct {
	mx        string
	policy    []string
	success   int64
	failures  map[failureKey]int64
	firstSeen time.Time
}

// Store counts outcomes in memory, per UTC day and policy.
type Store struct {
	mu      sync.Mutex
	days    map[string]map[policyKey]*counts // "2006-01-02" -> ...
	Dropped int64
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

// Add counts o at time now.
func (s *Store) Add(o Outcome, now time.Time) {
	if o.Domain == "" || strings.HasPrefix(o.Domain, "[") {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.days == nil {
		s.days = map[string]map[policyKey]*counts{}
	}
	d := s.days[day(now)]
	if d == nil {
		d = map[policyKey]*counts{}
		s.days[day(now)] = d
	}
	k := policyKey{strings.ToLower(o.Domain), o.PolicyType, o.PolicyID, strings.Join(o.Policy, "\n")}
	c := d[k]
	if c == nil {
		if len(d) >= maxDomains {
			s.Dropped++
			return
		}
		c = &counts{policy: o.Policy, failures: map[failureKey]int64{}, firstSeen: now}
		d[k] = c
	}
	if o.Failure == "" {
		c.success++
		return
	}
	info := o.Detail
	if len(info) > 200 {
		info = info[:200]
	}
	c.failures[failureKey{o.Failure, o.MXHost, o.Addr, info}]++
}

// Report is one day's report for one policy domain.
type Report struct {
	Domain     string
	Start, End time.Time
	Policies   []PolicyResult
}

// PolicyResult is RFC 8460 4.4's "policies" element.
type PolicyResult struct {
	Type     string
	Strings  []string
	ID       string
	Success  int64
	Failures []Failure
}

// Failure is RFC 8460 4.4's "failure-details" element.
type Failure struct {
	Result, MXHost, IP, Info string
	Count                    int64
}

// Take removes and returns the reports of every day that ended before
// now, one per policy domain, in a stable order.
func (s *Store) Take(now time.Time) []Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	today := day(now)
	var out []Report
	var days []string
	for d := range s.days {
		if d < today {
			days = append(days, d)
		}
	}
	sort.Strings(days)
	for _, d := range days {
		start, _ := time.Parse("2006-01-02", d)
		byDomain := map[string]*Report{}
		for k, c := range s.days[d] {
			r := byDomain[k.domain]
			if r == nil {
				r = &Report{Domain: k.domain, Start: start, End: start.Add(24 * time.Hour)}
				byDomain[k.domain] = r
			}
			pr := PolicyResult{Type: k.ptype, Strings: c.policy, ID: k.id, Success: c.success}
			for fk, n := range c.failures {
				pr.Failures = append(pr.Failures, Failure{Result: fk.result, MXHost: fk.mx, IP: fk.ip, Info: fk.info, Count: n})
			}
			sort.Slice(pr.Failures, func(i, j int) bool {
				return fmt.Sprint(pr.Failures[i]) < fmt.Sprint(pr.Failures[j])
			})
			r.Policies = append(r.Policies, pr)
		}
		var domains []string
		for dom := range byDomain {
			domains = append(domains, dom)
		}
		sort.Strings(domains)
		for _, dom := range domains {
			r := byDomain[dom]
			sort.Slice(r.Policies, func(i, j int) bool { return r.Policies[i].Type+r.Policies[i].ID < r.Policies[j].Type+r.Policies[j].ID })
			out = append(out, *r)
		}
		delete(s.days, d)
	}
	return out
}

// ParseRecord parses a _smtp._tls TXT record (RFC 8460 3): "v=TLSRPTv1;
// rua=mailto:a@example.com,https://..." and returns the mailto
// addresses and the other URIs (which goqmail does not use).
func ParseRecord(txt string) (mailto []string, other []string, err error) {
	fields := strings.Split(txt, ";")
	if strings.TrimSpace(fields[0]) != "v=TLSRPTv1" {
		return nil, nil, fmt.Errorf("TLS-RPT record %q does not start with v=TLSRPTv1", txt)
	}
	seen := false
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(strings.TrimSpace(f), "=")
		if !ok || k != "rua" {
			continue
		}
		seen = true
		for _, u := range strings.Split(v, ",") {
			u = strings.TrimSpace(u)
			if a, ok := strings.CutPrefix(u, "mailto:"); ok {
				addr, err := mail.ParseAddress(a)
				if err != nil {
					return nil, nil, fmt.Errorf("TLS-RPT record %q: %q is not an address: %w", txt, a, err)
				}
				mailto = append(mailto, addr.Address)
			} else if u != "" {
				other = append(other, u)
			}
		}
	}
	if !seen {
		return nil, nil, fmt.Errorf("TLS-RPT record %q has no rua", txt)
	}
	return mailto, other, nil
}
