// Package clientdns asks DNS what the client checks need to know about a
// client address: which blocklist (control/dnsbl) and allowlist
// (control/dnswl) zones list it (RFC 5782), and whether it has reverse
// DNS. It only looks things up; policy.CheckClient decides.
//
// Every lookup goes through a policydns.DNS (one cache for the whole of
// smtpd) and all of them run side by side, so a client costs at most one
// lookup timeout however many zones there are. A failed lookup is
// reported, never guessed: a blocklist that cannot be asked does not list
// the client (rblsmtpd's default; it is logged), an allowlist that cannot
// be asked does not spare it, reverse DNS that cannot be asked is
// RDNSTempFail.
package clientdns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"

	"goqmail/internal/control"
	"goqmail/internal/policy"
	"goqmail/internal/policydns"
)

// Facts is what DNS said about one client.
type Facts struct {
	Listings    []policy.Listing // in the order of the dnsbl zones
	Allowlisted string           // the first dnswl zone listing the client
	RDNS        policy.RDNS
	// Failures name each lookup that failed, for the log:
	// "dnsbl zen.example: i/o timeout".
	Failures []string
}

// Query is what to ask.
type Query struct {
	DNSBL, DNSWL []control.ZoneLine
	// RDNS: 0 no reverse lookup, 1 a PTR, 2 forward-confirmed.
	RDNS int
}

// Look asks everything q needs about ip at once and waits for all of it
// (ctx bounds the wait).
func Look(ctx context.Context, d policydns.DNS, ip netip.Addr, q Query) Facts {
	ip = ip.Unmap()
	var f Facts
	var mu sync.Mutex
	var wg sync.WaitGroup
	fail := func(what string, err error) {
		mu.Lock()
		f.Failures = append(f.Failures, what+": "+errText(err))
		mu.Unlock()
	}
	listed := make([]*policy.Listing, len(q.DNSBL))
	allowed := make([]bool, len(q.DNSWL))
	for i, z := range q.DNSBL {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := blocklist(ctx, d, ip, z)
			if err != nil {
				fail("dnsbl "+z.Zone, err)
			}
			listed[i] = l
		}()
	}
	for i, z := range q.DNSWL {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := inZone(ctx, d, ip, z)
			if err != nil {
				fail("dnswl "+z.Zone, err)
			}
			allowed[i] = ok
		}()
	}
	if q.RDNS > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := reverse(ctx, d, ip, q.RDNS >= 2)
			if err != nil {
				fail("reverse DNS", err)
			}
			f.RDNS = r
		}()
	}
	wg.Wait()
	for _, l := range listed {
		if l != nil {
			f.Listings = append(f.Listings, *l)
		}
	}
	for i, ok := range allowed {
		if ok && f.Allowlisted == "" {
			f.Allowlisted = q.DNSWL[i].Zone
		}
	}
	return f
}

// Name is the DNS name under which zone lists ip (RFC 5782 2.1 and 2.4):
// the IPv4 octets or the 32 IPv6 nibbles, reversed.
func Name(ip netip.Addr, zone string) string {
	ip = ip.Unmap()
	var b strings.Builder
	if ip.Is4() {
		a := ip.As4()
		fmt.Fprintf(&b, "%d.%d.%d.%d.", a[3], a[2], a[1], a[0])
	} else {
		a := ip.As16()
		const hex = "0123456789abcdef"
		for i := 15; i >= 0; i-- {
			b.WriteByte(hex[a[i]&0xf])
			b.WriteByte('.')
			b.WriteByte(hex[a[i]>>4])
			b.WriteByte('.')
		}
	}
	b.WriteString(zone)
	return b.String()
}

// inZone reports whether z lists ip with an answer it counts.
func inZone(ctx context.Context, d policydns.DNS, ip netip.Addr, z control.ZoneLine) (bool, error) {
	answers, err := d.LookupNetIP(ctx, "ip4", Name(ip, z.Zone))
	if notFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, a := range answers {
		if z.Listed(a) {
			return true, nil
		}
	}
	return false, nil
}

// blocklist returns ip's listing in z, with the zone line's text or else
// the zone's TXT record for it (rblsmtpd -r), nil when not listed.
func blocklist(ctx context.Context, d policydns.DNS, ip netip.Addr, z control.ZoneLine) (*policy.Listing, error) {
	ok, err := inZone(ctx, d, ip, z)
	if !ok {
		return nil, err
	}
	l := &policy.Listing{Zone: z.Zone, Weight: z.Weight, Text: z.Text}
	if l.Text == "" {
		// No text is no reason not to refuse: the generic one serves.
		if txt, err := d.LookupTXT(ctx, Name(ip, z.Zone)); err == nil && len(txt) > 0 {
			l.Text = txt[0]
		}
	}
	return l, nil
}

// reverse finds ip's PTR names and, to confirm, whether one of them has
// ip among its addresses (FCrDNS). Up to 10 names are tried, as
// Postfix's smtpd does.
func reverse(ctx context.Context, d policydns.DNS, ip netip.Addr, confirm bool) (policy.RDNS, error) {
	names, err := d.LookupAddr(ctx, ip.String())
	if notFound(err) || err == nil && len(names) == 0 {
		return policy.RDNSNone, nil
	}
	if err != nil {
		return policy.RDNSTempFail, err
	}
	if !confirm {
		return policy.RDNSOK, nil
	}
	var failed error
	for _, n := range names[:min(len(names), 10)] {
		addrs, err := d.LookupNetIP(ctx, "ip", n)
		if err != nil && !notFound(err) {
			failed = err
			continue
		}
		for _, a := range addrs {
			if a.Unmap() == ip {
				return policy.RDNSOK, nil
			}
		}
	}
	if failed != nil {
		return policy.RDNSTempFail, failed
	}
	return policy.RDNSMismatch, nil
}

func notFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

func errText(err error) string {
	var de *net.DNSError
	if errors.As(err, &de) {
		if de.IsTimeout {
			return "timed out"
		}
		return de.Err
	}
	return err.Error()
}
