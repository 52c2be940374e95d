package policy

import (
	"fmt"
	"net/netip"
	"strings"

	"goqmail/internal/control"
	"goqmail/internal/smtp"
)

// The client checks: what rblsmtpd, spamdyke and postscreen decide about
// a client before its mail is looked at (DNS blocklists and allowlists,
// reverse DNS, the HELO name, tcp.smtp's RBLSMTPD). They are decided at
// RCPT, not at connect, so that postmaster and abuse stay reachable from a
// listed address (RFC 5321 4.5.1, RFC 2142) and so that a client that
// authenticates first is never judged by them.

// RDNS is what reverse DNS said about the client.
type RDNS int

const (
	RDNSNotChecked RDNS = iota // requirerdns 0, or not needed
	RDNSOK                     // a PTR (forward-confirmed for requirerdns 2)
	RDNSNone                   // no PTR record (NXDOMAIN or no PTR)
	RDNSMismatch               // PTR names, none resolving back to the address
	RDNSTempFail               // a lookup failed
)

// Listing is one blocklist zone that lists the client.
type Listing struct {
	Zone   string
	Weight int
	// Text is the zone line's reply text, else the zone's TXT record for
	// the client, else "".
	Text string
}

// ClientFacts is what the client checks depend on.
type ClientFacts struct {
	IP netip.Addr
	// Trusted: the client may relay (RELAYCLIENT, a POP-before-SMTP
	// grant) or has authenticated. The checks are for strangers.
	Trusted bool
	// RBLSMTPD is tcp.smtp's variable for the client, read as rblsmtpd
	// reads it: set and empty, the client is spared every client check;
	// set and not empty, it is refused with that text, for good when the
	// text starts with '-' (553) and for now otherwise (451).
	RBLSMTPD    string
	RBLSMTPDSet bool
	// Allowlisted names the dnswl zone that lists the client; "": none.
	Allowlisted string
	// Postmaster: the recipient is postmaster or abuse (any of our
	// domains, or <postmaster> alone), which every client may reach.
	Postmaster bool
	Helo       string
	RDNS       RDNS
	// Listings are the dnsbl zones that list the client, in the order
	// of control/dnsbl; zones whose lookup failed are not among them.
	Listings []Listing
}

// ClientConfig is the snapshot the client checks read.
type ClientConfig struct {
	BadHelo     *control.DomainSet
	RequireRDNS int // 0, 1 (a PTR) or 2 (forward-confirmed)
	Threshold   int // dnsblthreshold
}

// Verdict is a refusal and why, for the log; a zero Reply passes.
type Verdict struct {
	Reply  smtp.Reply
	Reason string
}

// Refused reports whether the verdict refuses.
func (v Verdict) Refused() bool { return v.Reply.Code != 0 }

// RoleAccount reports whether a local part is one every client must be
// able to reach however it is judged: postmaster (RFC 5321 4.5.1) and
// abuse (RFC 2142 section 4).
func RoleAccount(local string) bool {
	return strings.EqualFold(local, "postmaster") || strings.EqualFold(local, "abuse")
}

// CheckClient decides whether a client's recipients are refused for what
// the client is. Exemptions come first (trusted, RBLSMTPD="", the
// recipient postmaster or abuse, a dnswl listing), then the refusals; a
// permanent one wins over a temporary one, so a client that is both
// blocklisted and without working reverse DNS is told the lasting reason.
func CheckClient(f ClientFacts, c ClientConfig) Verdict {
	switch {
	case f.Trusted, f.RBLSMTPDSet && f.RBLSMTPD == "":
		return Verdict{}
	case f.Postmaster:
		return Verdict{}
	case f.RBLSMTPDSet:
		return Verdict{ReplyRBLSMTPD(f.RBLSMTPD), "tcp.smtp sets RBLSMTPD"}
	case f.Allowlisted != "":
		return Verdict{}
	}
	var temp Verdict
	if c.BadHelo != nil && c.BadHelo.Match(f.Helo) {
		return Verdict{ReplyBadHelo, fmt.Sprintf("HELO %q is in badhelo", f.Helo)}
	}
	if v := checkDNSBL(f, c); v.Refused() {
		return v
	}
	switch {
	case c.RequireRDNS == 0:
	case f.RDNS == RDNSNone:
		return Verdict{ReplyNoRDNS(f.IP), "no reverse DNS (requirerdns)"}
	case f.RDNS == RDNSMismatch && c.RequireRDNS >= 2:
		return Verdict{ReplyRDNSMismatch(f.IP), "reverse DNS not forward-confirmed (requirerdns 2)"}
	case f.RDNS == RDNSTempFail:
		temp = Verdict{ReplyRDNSTemp, "reverse DNS lookup failed"}
	}
	return temp
}

// checkDNSBL adds the weights of the zones that list the client; at
// dnsblthreshold it is refused with the text of the heaviest zone (the
// first of equal weight), as postscreen scores its dnsbl_sites.
func checkDNSBL(f ClientFacts, c ClientConfig) Verdict {
	sum, top := 0, -1
	var zones []string
	for i, l := range f.Listings {
		sum += l.Weight
		zones = append(zones, fmt.Sprintf("%s (%d)", l.Zone, l.Weight))
		if top < 0 || l.Weight > f.Listings[top].Weight {
			top = i
		}
	}
	if top < 0 || sum < max(c.Threshold, 1) {
		return Verdict{}
	}
	l := f.Listings[top]
	text := l.Text
	if text == "" {
		text = fmt.Sprintf("your address [%s] is listed at %s", f.IP, l.Zone)
	}
	return Verdict{ReplyDNSBL(text),
		fmt.Sprintf("dnsbl %s: %d of dnsblthreshold %d", strings.Join(zones, ", "), sum, max(c.Threshold, 1))}
}

// replyText makes text from a zone's TXT record or tcp.smtp fit one reply
// line: printable ASCII (RFC 5321 4.2), at most 300 bytes.
func replyText(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > 300 {
		s = s[:300]
	}
	if s == "" {
		s = "refused"
	}
	return s
}

// Replies of the client checks. The texts say what to fix without naming
// more of the policy than the client needs.
var (
	ReplyBadHelo  = smtp.Reply{Code: 550, Enh: "5.7.1", Text: "sorry, your HELO/EHLO name is in my badhelo list; use your own fully qualified name"}
	ReplyRDNSTemp = smtp.Reply{Code: 451, Enh: "4.7.25", Text: "cannot check the reverse DNS of your address now; try again later"}
)

// ReplyRBLSMTPD refuses as rblsmtpd does with $RBLSMTPD set: for now
// (451), or for good (553) when the text starts with '-'.
func ReplyRBLSMTPD(text string) smtp.Reply {
	if t, permanent := strings.CutPrefix(text, "-"); permanent {
		return smtp.Reply{Code: 553, Enh: "5.7.1", Text: replyText(t)}
	}
	return smtp.Reply{Code: 451, Enh: "4.7.1", Text: replyText(text)}
}

// ReplyDNSBL refuses a blocklisted client (554 5.7.1, Postfix's
// maps_rbl_reject_code).
func ReplyDNSBL(text string) smtp.Reply {
	return smtp.Reply{Code: 554, Enh: "5.7.1", Text: replyText(text)}
}

// ReplyNoRDNS and ReplyRDNSMismatch use RFC 7372's X.7.25, "reverse DNS
// validation failed".
func ReplyNoRDNS(ip netip.Addr) smtp.Reply {
	return smtp.Reply{Code: 550, Enh: "5.7.25", Text: fmt.Sprintf("your address [%s] has no reverse DNS (PTR) name", ip)}
}

func ReplyRDNSMismatch(ip netip.Addr) smtp.Reply {
	return smtp.Reply{Code: 550, Enh: "5.7.25", Text: fmt.Sprintf("no reverse DNS name of your address [%s] resolves back to it", ip)}
}
