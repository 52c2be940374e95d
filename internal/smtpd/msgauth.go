package smtpd

import (
	"context"
	"strings"
	"time"

	"goqmail/internal/control"
	"goqmail/internal/mailauth"
	"goqmail/internal/smtp"
)

// Content authentication (docs/antispam.md): SPF at MAIL, decided per
// recipient domain at RCPT (control/spfreject); DKIM and DMARC at the end
// of the data as a MessageCheck (authcheck.go); the header fields at the
// top of the stored message. Only clients that may not relay are checked:
// what a relay client or an authenticated user sends is outgoing mail.

// authConfig is the content-authentication part of Config.
type authConfig struct {
	SPF          bool
	SPFReject    *control.DomainSet
	SPFRejectAll bool // spfreject has a `*` line
	DKIM         bool
	DMARC        bool
	DMARCReject  bool
}

// loadAuth reads control/spfcheck, spfreject, dkimcheck, dmarccheck and
// dmarcreject. A setting that asks for a refusal its check cannot give
// (spfreject without spfcheck) stops the start rather than refuse nothing.
func loadAuth(c *Config, s *control.Snapshot) error {
	a := authConfig{
		SPF:         s.Number(control.SPFCheck) == 1,
		DKIM:        s.Number(control.DKIMCheck) == 1,
		DMARC:       s.Number(control.DMARCCheck) == 1,
		DMARCReject: s.Number(control.DMARCReject) == 1,
	}
	var domains []string
	for _, d := range s.List(control.SPFReject) {
		if d == "*" {
			a.SPFRejectAll = true
		} else {
			domains = append(domains, d)
		}
	}
	a.SPFReject = control.NewDomainSet(domains)
	ps := control.AuthProblems(s)
	if len(ps) > 0 {
		return ps
	}
	c.Auth = a
	return nil
}

// spfWait bounds the SPF lookups at MAIL (RFC 7208 4.6.4 allows up to 10
// lookups that cause more; each query has its own shorter bound).
const spfWait = 20 * time.Second

// checkSPF evaluates SPF for the transaction MAIL just started, when the
// site asks for it and the client is a stranger; nil otherwise.
func (s *session) checkSPF(sender string) *mailauth.SPF {
	if !s.cfg.Auth.SPF || s.mayRelay() || s.stdio || s.srv.DNS == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), spfWait)
	defer cancel()
	return mailauth.CheckSPF(ctx, s.srv.DNS, s.remote.Addr(), s.helo, sender)
}

// spfRcpt decides a recipient by control/spfreject: its domain refuses
// SPF fail (550 5.7.23, RFC 7372) and, unable to tell, asks the client to
// come back (451 4.4.3, RFC 7208 8.6). Otherwise r stands.
func (s *session) spfRcpt(domain string, r smtp.Reply) smtp.Reply {
	res := s.tx.spf
	a := s.cfg.Auth
	if res == nil || !(a.SPFRejectAll || a.SPFReject.Match(domain)) {
		return r
	}
	for _, id := range []mailauth.SPFResult{res.MailFrom, res.HeloRes} {
		if id.Result == "fail" {
			return replySPFFail(id.Identity, id.Domain, res.IP.String())
		}
	}
	// Only the sender's own identity defers: HELO is advisory, and a
	// client's misconfigured HELO name alone must not hold its mail.
	if res.MailFrom.Result == "temperror" {
		return replySPFTemp
	}
	return r
}

// enhSPFFail is RFC 7372's "SPF validation failed".
const enhSPFFail = "5.7.23"

var replySPFTemp = smtp.Reply{Code: 451, Enh: "4.4.3", Text: "SPF lookups for your domain failed; try again later"}

// replySPFFail names the identity that failed, so the sender's admin can
// find the record to fix.
func replySPFFail(identity, domain, ip string) smtp.Reply {
	what := "the domain of the sender"
	if identity == "helo" {
		what = "the HELO name"
	}
	return smtp.Reply{Code: 550, Enh: enhSPFFail, Text: "SPF of " + what + ", " + safe(domain, 255) + ", does not allow " + ip + " to send its mail"}
}

// DropForgedAuthResults is a HeaderDropper: it removes the
// Authentication-Results fields a client sent that claim this host's
// authserv-id (control/me), as RFC 8601 5 requires, whatever the checks'
// settings, since a reader trusts the fields that bear our name.
func (srv *Server) DropForgedAuthResults(field []byte) bool {
	if len(field) < 23 || !strings.EqualFold(string(field[:22]), "Authentication-Results") {
		return false
	}
	cfg := srv.cfg.Load()
	return cfg != nil && mailauth.ClaimsID(field, cfg.Me)
}
