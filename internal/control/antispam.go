package control

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// The settings of the checks smtpd makes before it accepts a recipient
// (issue 13: docs/antispam.md): the DNS they use, the client checks of
// rblsmtpd and postscreen, qmail's badmailfrom and the badrcptto patch,
// rate limits and greylisting. Each line of their list files is parsed
// here, by the same function for the check at load (a file, a line, a
// fix) and for smtpd's use, so the two cannot read a line differently.
var (
	DNSServers = &Setting{Name: "dnsservers", Kind: List, UsedBy: []string{"smtpd"}, Check: checkDNSServer, Rule: "each line an IP address, or address:port",
		Meaning: "recursive DNS servers for policy lookups (DNSBL, reverse DNS), asked in order. Empty (the default): the nameservers of /etc/resolv.conf. Reread on SIGHUP; the cache is kept."}
	DNSTimeout = &Setting{Name: "dnstimeout", Kind: Number, Default: "5", Min: 1, Max: 60, UsedBy: []string{"smtpd"}, Unit: "seconds",
		Meaning: "the longest one policy DNS lookup may take, over every server and retry; the lookups of one recipient run side by side. A lookup that runs out is a DNS failure (docs/antispam.md says what each check makes of one)."}
	DNSBL = &Setting{Name: "dnsbl", Kind: List, UsedBy: []string{"smtpd"}, Check: checkDNSBL, Unique: zoneKey,
		Rule:    "each line `zone[=answer,...][*weight][:reply text]`: answers IPv4 addresses or prefixes, weight 1 to 100, text printable ASCII; no zone twice",
		Meaning: "DNS blocklists (rblsmtpd's -r): a client whose address is listed in zones whose weights add up to `dnsblthreshold` gets 554 5.7.1 for every recipient but postmaster and abuse, with the line's text, else the zone's TXT record. `=answer` picks the answers that count (default: any in 127.0.0.0/8 but 127.255.255.0/24, which Spamhaus uses for errors). A failed lookup counts as not listed, and is logged. Reread on SIGHUP."}
	DNSWL = &Setting{Name: "dnswl", Kind: List, UsedBy: []string{"smtpd"}, Check: checkDNSWL, Unique: zoneKey, Rule: "each line `zone[=answer,...]`; no zone twice",
		Meaning: "DNS allowlists (rblsmtpd's -a): a client listed in one is spared the client checks (dnsbl, requirerdns, badhelo) and greylisting. A failed lookup counts as not listed. Reread on SIGHUP."}
	DNSBLThreshold = &Setting{Name: "dnsblthreshold", Kind: Number, Default: "1", Min: 1, Max: 10000, UsedBy: []string{"smtpd"}, Unit: "points",
		Meaning: "the sum of the weights of the `dnsbl` zones listing a client at which it is refused (postscreen's dnsbl_threshold). With the default weights of 1, 1 means any one zone. Reread on SIGHUP."}
	RequireRDNS = &Setting{Name: "requirerdns", Kind: Number, Default: "0", Min: 0, Max: 2, UsedBy: []string{"smtpd"}, Unit: "", Zero: "no reverse DNS check",
		Meaning: "1: a client without a PTR record gets 550 5.7.25 (RFC 7372) for every recipient but postmaster and abuse; 2: also when none of its PTR names resolves back to its address (forward-confirmed, Postfix's reject_unknown_client_hostname). A failed lookup gets 451 4.7.25. Reread on SIGHUP."}
	BadHelo = &Setting{Name: "badhelo", Kind: List, UsedBy: []string{"smtpd"}, Check: checkBadHelo, Rule: "each line a name, `.domain` (its subdomains) or an address literal `[192.0.2.1]`",
		Meaning: "HELO/EHLO names that give a client away (spamcontrol's badhelo): `name` exactly, `.domain` any name under it, case-insensitive. Such a client gets 550 5.7.1 for every recipient but postmaster and abuse. Reread on SIGHUP."}
	BadMailFrom = &Setting{Name: "badmailfrom", Kind: List, Qmail: true, UsedBy: []string{"smtpd"}, Check: checkBadAddr, Rule: "each line `user@domain` or `@domain`",
		Meaning: "envelope senders refused (qmail-smtpd): `user@domain` that address, `@domain` every address at that domain, case-insensitive. As in qmail the refusal comes at RCPT: 553 5.7.1. Reread on SIGHUP."}
	BadRcptTo = &Setting{Name: "badrcptto", Kind: List, UsedBy: []string{"smtpd"}, Check: checkBadAddr, Rule: "each line `user@domain` or `@domain`",
		Meaning: "recipients refused at RCPT with 553 5.7.1 (the qmail badrcptto patch), in badmailfrom's format: an address, or `@domain` for all of a domain. Reread on SIGHUP."}
	RateWindow = &Setting{Name: "ratewindow", Kind: Number, Default: "3600", Min: 60, Max: 604800, UsedBy: []string{"smtpd"}, Unit: "seconds",
		Meaning: "the time window of the four rate limits below: each allows its number per window, and a client that used it up gets its next one back after window/number. Reread on SIGHUP."}
	MsgRatePerIP = &Setting{Name: "msgrateperip", Kind: Number, Default: "0", Min: 0, Max: 10000000, UsedBy: []string{"smtpd"}, Unit: "messages", Example: "1000", Zero: "no limit",
		Meaning: "messages one client address (IPv4 address, IPv6 /64) may send per `ratewindow`; past it MAIL gets 450 4.7.1 saying when to come back. Clients with RELAYCLIENT in tcp.smtp are exempt. Counted when a message is accepted; kept in memory (a restart forgets). Reread on SIGHUP."}
	RcptRatePerIP = &Setting{Name: "rcptrateperip", Kind: Number, Default: "0", Min: 0, Max: 10000000, UsedBy: []string{"smtpd"}, Unit: "recipients", Example: "5000", Zero: "no limit",
		Meaning: "recipients of accepted messages one client address may have per `ratewindow`; past it RCPT gets 450 4.7.1 saying when to come back. RELAYCLIENT clients are exempt. Reread on SIGHUP."}
	MsgRatePerUser = &Setting{Name: "msgrateperuser", Kind: Number, Default: "0", Min: 0, Max: 10000000, UsedBy: []string{"smtpd"}, Unit: "messages", Example: "500", Zero: "no limit",
		Meaning: "messages one authenticated user (SMTP AUTH) may send per `ratewindow`, from any address; past it MAIL gets 450 4.7.1 saying when to come back. Reread on SIGHUP."}
	RcptRatePerUser = &Setting{Name: "rcptrateperuser", Kind: Number, Default: "1000", Min: 0, Max: 10000000, UsedBy: []string{"smtpd"}, Unit: "recipients", Zero: "no limit",
		Meaning: "recipients one authenticated user may send to per `ratewindow`, from any address; past it RCPT gets 450 4.7.1 saying when to come back. On by default: a stolen password sending thousands is today's usual spam source. Reread on SIGHUP."}
	GreylistDelay = &Setting{Name: "greylistdelay", Kind: Number, Default: "0", Min: 0, Max: 86400, UsedBy: []string{"smtpd"}, Unit: "seconds", Example: "300", Zero: "no greylisting",
		Meaning: "greylisting: the first message of a (client network, sender, recipient) triplet gets 451 4.7.1 per recipient, and a retry after this many seconds (within 2 days) passes; the triplet then passes at once for 36 days after its last message. Client networks are IPv4 /24s and IPv6 /64s. Authenticated, RELAYCLIENT, `RBLSMTPD=\"\"`, `dnswl` and `greylistallow` clients, postmaster and abuse are exempt. The state is kept in ROOT/greylist/ across restarts. Reread on SIGHUP."}
	GreylistAllow = &Setting{Name: "greylistallow", Kind: List, UsedBy: []string{"smtpd"}, Check: checkPrefix, Rule: "each line an IP address or a prefix `192.0.2.0/24`, `2001:db8::/32`",
		Meaning: "client addresses never greylisted: the big providers' outbound pools, which retry from other addresses than they first came from. Reread on SIGHUP."}
)

// ZoneLine is one parsed line of dnsbl or dnswl.
type ZoneLine struct {
	Zone    string         // lower case, without a trailing dot
	Answers []netip.Prefix // the answers that count; nil: DefaultAnswers
	Weight  int            // dnsbl: 1 unless given
	Text    string         // dnsbl: the reply text; "": the zone's TXT record
}

// Listed reports whether an A record the zone answered means "listed".
// By default any 127.0.0.0/8 answer does (RFC 5782 2.1) except
// 127.255.255.0/24, where Spamhaus reports errors such as a query through
// a public resolver: read as listings, those would refuse everyone.
func (z ZoneLine) Listed(a netip.Addr) bool {
	if z.Answers == nil {
		return loopback8.Contains(a) && !spamhausErrors.Contains(a)
	}
	for _, p := range z.Answers {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

var (
	loopback8      = netip.MustParsePrefix("127.0.0.0/8")
	spamhausErrors = netip.MustParsePrefix("127.255.255.0/24")
)

const (
	fixDNSBL = "write zone[=answer,...][*weight][:reply text], such as zen.spamhaus.org=127.0.0.2,127.0.0.4/30*2:listed at Spamhaus"
	fixDNSWL = "write zone[=answer,...], such as list.dnswl.org=127.0.0.0/16"
)

// ParseZoneLine reads one line of dnsbl (allow false) or dnswl (allow
// true). A dnswl line takes neither weight nor text.
func ParseZoneLine(s string, allow bool) (ZoneLine, error) {
	fix := fixDNSBL
	if allow {
		fix = fixDNSWL
	}
	z := ZoneLine{Weight: 1}
	rest, text, hasText := strings.Cut(s, ":")
	if hasText {
		if allow {
			return z, invalid(fix, "%q: an allowlist line has no reply text", s)
		}
		if text = strings.TrimSpace(text); text == "" {
			return z, invalid(fix, "%q: the reply text after ':' is empty (leave out the ':' to use the zone's TXT record)", s)
		}
		for i := 0; i < len(text); i++ {
			if text[i] < 0x20 || text[i] > 0x7e {
				return z, invalid(fix, "%q: the reply text holds a control or non-ASCII character", s)
			}
		}
		if len(text) > 200 {
			return z, invalid(fix, "%q: the reply text is longer than 200 characters", s)
		}
		z.Text = text
	}
	rest, weight, hasWeight := strings.Cut(rest, "*")
	if hasWeight {
		if allow {
			return z, invalid(fix, "%q: an allowlist line has no weight", s)
		}
		n, err := strconv.Atoi(weight)
		if err != nil || n < 1 || n > 100 {
			return z, invalid(fix, "%q: the weight %q is not a number from 1 to 100", s, weight)
		}
		z.Weight = n
	}
	zone, answers, hasAnswers := strings.Cut(rest, "=")
	if hasAnswers {
		for _, a := range strings.Split(answers, ",") {
			p, err := parsePrefix(a)
			if err != nil || !p.Addr().Is4() {
				why := ""
				if hasText {
					why = " (':' starts the reply text)"
				}
				return z, invalid(fix, "%q: the answer %q is not an IPv4 address or prefix%s", s, a, why)
			}
			z.Answers = append(z.Answers, p)
		}
	}
	if err := domainError(zone, fix); err != nil {
		return z, invalid(fix, "%q: the zone %q is not a domain name", s, zone)
	}
	z.Zone = strings.ToLower(zone)
	return z, nil
}

func checkDNSBL(s string) error { _, err := ParseZoneLine(s, false); return err }
func checkDNSWL(s string) error { _, err := ParseZoneLine(s, true); return err }

// zoneKey: a zone listed twice would be asked twice and counted twice.
func zoneKey(s string) string {
	z, _, _ := strings.Cut(s, "=")
	z, _, _ = strings.Cut(z, "*")
	z, _, _ = strings.Cut(z, ":")
	return strings.ToLower(z)
}

// parsePrefix reads an address (a /32 or /128) or a prefix.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// ParsePrefixes reads greylistallow's lines.
func ParsePrefixes(lines []string) []netip.Prefix {
	var out []netip.Prefix
	for _, l := range lines {
		if p, err := parsePrefix(l); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func checkPrefix(s string) error {
	if _, err := parsePrefix(s); err != nil || strings.Contains(s, "%") {
		return invalid("write an IP address or a prefix such as 192.0.2.0/24 or 2001:db8::/32", "%q is not an IP address or prefix", s)
	}
	return nil
}

// checkDNSServer is a dnsservers line: an address, with or without a port.
func checkDNSServer(s string) error {
	const fix = "write the IP address of a recursive DNS server, such as 127.0.0.1 or 192.0.2.53:5353"
	host, port := s, "53"
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
	}
	if _, err := netip.ParseAddr(strings.Trim(host, "[]")); err != nil {
		return invalid(fix, "%q is not an IP address (a name would need DNS to find DNS)", s)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return invalid(fix, "%q: the port %q is not a number from 1 to 65535", s, port)
	}
	return nil
}

// checkBadHelo is a badhelo line: what rcpthosts takes (a name, .domain or
// a literal). HELO names are free text in practice, but a line that could
// never match one is a mistake.
func checkBadHelo(s string) error { return checkDomainOrSuffix(s) }

// checkBadAddr is a badmailfrom or badrcptto line: `user@domain` or
// `@domain` (qmail-smtpd's bmfcheck matches the whole address, then the
// @domain part from the last '@').
func checkBadAddr(s string) error {
	const fix = "write an address user@domain, or @domain for every address at that domain"
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return invalid(fix, "%q has no '@' and would never match a sender or recipient", s)
	}
	if at > 0 {
		if err := localPartError(s[:at], fix); err != nil {
			return invalid(fix, "%q: %q is not a local part", s, s[:at])
		}
	}
	if err := domainError(s[at+1:], fix); err != nil && !isLiteral(s[at+1:]) {
		return invalid(fix, "%q: %q is not a domain name", s, s[at+1:])
	}
	return nil
}

// AddrSet matches addresses the way qmail-smtpd's badmailfrom does: the
// whole address, or an `@domain` line for its domain, ASCII
// case-insensitive (constmap).
type AddrSet struct{ m map[string]bool }

// NewAddrSet builds a set from badmailfrom-style lines.
func NewAddrSet(lines []string) *AddrSet {
	a := &AddrSet{m: make(map[string]bool, len(lines))}
	for _, l := range lines {
		a.m[strings.ToLower(l)] = true
	}
	return a
}

// Match reports whether addr, or its @domain, is listed, and which line
// matched.
func (a *AddrSet) Match(addr string) (string, bool) {
	if a == nil || len(a.m) == 0 || addr == "" {
		return "", false
	}
	addr = strings.ToLower(addr)
	if a.m[addr] {
		return addr, true
	}
	if at := strings.LastIndexByte(addr, '@'); at >= 0 && a.m[addr[at:]] {
		return addr[at:], true
	}
	return "", false
}

// Len returns the number of lines.
func (a *AddrSet) Len() int {
	if a == nil {
		return 0
	}
	return len(a.m)
}
