package smtpd

import (
	"context"
	"strings"
	"time"

	"goqmail/internal/address"
	"goqmail/internal/clientdns"
	"goqmail/internal/connlimit"
	"goqmail/internal/greylist"
	"goqmail/internal/metrics"
	"goqmail/internal/policy"
	"goqmail/internal/ratelimit"
	"goqmail/internal/smtp"
)

// The checks before a recipient is accepted (issue 13; docs/antispam.md):
// badmailfrom and badrcptto, the client checks (rblsmtpd's and
// postscreen's: DNS blocklists and allowlists, reverse DNS, badhelo,
// tcp.smtp's RBLSMTPD), greylisting and rate limits. This file gathers
// their facts (DNS through Server.DNS, state in Server.Greylist and the
// rate tables) and speaks their replies; internal/policy decides. All of
// it runs in smtpd, unprivileged (docs/processes.md).
//
// Everything is decided at RCPT, none at connect: postmaster and abuse
// stay reachable from a listed address, a client that authenticates
// first is judged as a user, and a client that never gets to RCPT costs
// no DNS lookup.

// rateTables count what the rate limits limit, across sessions.
type rateTables struct {
	msgs, rcpts ratelimit.Table
}

// clientState is what a session learnt about its client for the checks,
// once, at the first recipient that needed it.
type clientState struct {
	facts clientdns.Facts
}

// checkRcptFirst runs before the recipient's existence is looked up: the
// lists of the site and the client checks. It returns the refusal, and
// the check's name for the log and the metrics.
func (s *session) checkRcptFirst(a address.Addr, role bool) (policy.Verdict, string) {
	k := &s.cfg.Checks
	if v := policy.CheckBadAddrs(s.tx.sender, a.String(), k.BadMailFrom, k.BadRcptTo); v.Refused() {
		name := "badmailfrom"
		if v.Reply == policy.ReplyBadRcptTo {
			name = "badrcptto"
		}
		return v, name
	}
	if !k.clientChecks() && !s.rblsmtpdSet {
		return policy.Verdict{}, ""
	}
	f := policy.ClientFacts{IP: s.remote.Addr(), Trusted: s.mayRelay() || s.stdio, RBLSMTPD: s.rblsmtpd, RBLSMTPDSet: s.rblsmtpdSet,
		Postmaster: role, Helo: s.helo}
	if !f.Trusted && !f.RBLSMTPDSet && !role {
		c := s.lookClient()
		f.Allowlisted, f.RDNS, f.Listings = c.facts.Allowlisted, c.facts.RDNS, c.facts.Listings
	}
	v := policy.CheckClient(f, k.Client)
	name := "client"
	switch {
	case f.RBLSMTPDSet:
		name = "rblsmtpd"
	case v.Reply.Code == 554:
		name = "dnsbl"
	case v.Reply == policy.ReplyBadHelo:
		name = "badhelo"
	case strings.HasSuffix(v.Reply.Enh, ".7.25"):
		name = "rdns"
	}
	return v, name
}

// lookClient asks DNS about the client the first time a check needs it;
// the session keeps the answer. Lookups that failed are logged once: a
// blocklist that cannot be asked passes the client (docs/antispam.md).
func (s *session) lookClient() *clientState {
	if s.client != nil {
		return s.client
	}
	k := &s.cfg.Checks
	q := clientdns.Query{DNSBL: k.DNSBL, DNSWL: k.DNSWL, RDNS: k.Client.RequireRDNS}
	s.client = &clientState{}
	if len(q.DNSBL)+len(q.DNSWL) == 0 && q.RDNS == 0 {
		return s.client
	}
	// The lookups bound themselves by dnstimeout; the context only
	// guards against a resolver that would not.
	ctx, cancel := context.WithTimeout(context.Background(), k.DNSTimeout+time.Second)
	defer cancel()
	s.client.facts = clientdns.Look(ctx, s.srv.DNS, s.remote.Addr(), q)
	for _, f := range s.client.facts.Failures {
		then := "taken as not listed"
		switch {
		case strings.HasPrefix(f, "dnswl "):
			then = "taken as not listed: the client is not spared"
		case strings.HasPrefix(f, "reverse DNS"):
			then = "recipients get 451 4.7.25"
		}
		s.srv.Log.Printf("warning: %s: %s (%s)", s.remote, f, then)
	}
	return s.client
}

// checkRcptLast runs for a recipient that exists and passed everything
// else: greylisting, then the recipient rate limits, so that neither
// counts what would be refused anyway.
func (s *session) checkRcptLast(a address.Addr, role bool) (policy.Verdict, string) {
	k := &s.cfg.Checks
	if v := s.greylisted(a, role); v.Refused() {
		return v, "greylist"
	}
	cost := len(s.tx.rcpts) + 1
	if s.tx.seen[a.String()] {
		cost--
	}
	if v := s.overRate(&s.srv.rates.rcpts, "recipients", cost, k.RcptPerIP, k.RcptPerUser, "rcptrate"); v.Refused() {
		return v, "ratelimit"
	}
	return policy.Verdict{}, ""
}

// greylisted decides greylisting for one recipient. Exempt: whoever
// relays or authenticated, RBLSMTPD="" and dnswl clients, greylistallow
// addresses, postmaster and abuse.
func (s *session) greylisted(a address.Addr, role bool) policy.Verdict {
	k := &s.cfg.Checks
	if k.Grey.Delay <= 0 || s.mayRelay() || s.stdio || role || s.rblsmtpdSet && s.rblsmtpd == "" {
		return policy.Verdict{}
	}
	ip := s.remote.Addr()
	for _, p := range k.GreyAllow {
		if p.Contains(ip) {
			return policy.Verdict{}
		}
	}
	if len(k.DNSWL) > 0 && s.lookClient().facts.Allowlisted != "" {
		return policy.Verdict{}
	}
	st := s.srv.greylist.Load()
	if st == nil {
		// loadChecks refused a greylisting without a state directory;
		// one that vanished since is no reason to let mail through.
		return policy.Verdict{Reply: replyGreyUnavailable, Reason: "greylisting state unavailable"}
	}
	return st.Check(greylist.KeyOf(ip, s.tx.sender, a.String()), s.srv.Now(), k.Grey)
}

// overRate checks one more message or recipient (cost, with those of
// the transaction so far) against the per-address and per-user limits.
// Clients that relay by tcp.smtp are the site's own and have no
// per-address limit, as with connectrateperip; users have theirs
// wherever they come from.
func (s *session) overRate(t *ratelimit.Table, what string, cost, perIP, perUser int, setting string) policy.Verdict {
	k := &s.cfg.Checks
	now := s.srv.Now()
	if perIP > 0 && !s.relayClient && !s.stdio {
		l := ratelimit.Limit{N: perIP, Window: k.RateWindow}
		if wait, ok := t.Check(s.ipKey(), cost, l, now); !ok {
			return policy.RateVerdict(policy.RateFacts{What: what, Who: "your address " + clientName(s.remote.Addr()),
				Limit: perIP, Window: k.RateWindow, Wait: wait}, setting+"perip")
		}
	}
	if perUser > 0 && s.authenticated() {
		l := ratelimit.Limit{N: perUser, Window: k.RateWindow}
		if wait, ok := t.Check(s.userKey(), cost, l, now); !ok {
			return policy.RateVerdict(policy.RateFacts{What: what, Who: "user " + safe(s.authUser, 100),
				Limit: perUser, Window: k.RateWindow, Wait: wait}, setting+"peruser")
		}
	}
	return policy.Verdict{}
}

func (s *session) ipKey() string   { return connlimit.Key(s.remote.Addr()).String() }
func (s *session) userKey() string { return strings.ToLower(s.authUser) }

// checkMailRate is the message rate limit, at MAIL.
func (s *session) checkMailRate() policy.Verdict {
	k := &s.cfg.Checks
	return s.overRate(&s.srv.rates.msgs, "messages", 1, k.MsgPerIP, k.MsgPerUser, "msgrate")
}

// chargeRates counts an accepted message and its recipients.
func (s *session) chargeRates(tx *transaction) {
	k := &s.cfg.Checks
	now := s.srv.Now()
	r := &s.srv.rates
	if !s.relayClient && !s.stdio {
		r.msgs.Charge(s.ipKey(), 1, ratelimit.Limit{N: k.MsgPerIP, Window: k.RateWindow}, now)
		r.rcpts.Charge(s.ipKey(), len(tx.rcpts), ratelimit.Limit{N: k.RcptPerIP, Window: k.RateWindow}, now)
	}
	if s.authenticated() {
		r.msgs.Charge(s.userKey(), 1, ratelimit.Limit{N: k.MsgPerUser, Window: k.RateWindow}, now)
		r.rcpts.Charge(s.userKey(), len(tx.rcpts), ratelimit.Limit{N: k.RcptPerUser, Window: k.RateWindow}, now)
	}
}

// refuseRcptBy answers a recipient a check refused and logs why, in a
// line logparse knows (docs/logs.md). Greylisting and rate limits are
// the client's cue to come back, not its errors: like 452 they do not
// count toward the session's error limit.
func (s *session) refuseRcptBy(a address.Addr, check string, v policy.Verdict) {
	s.srv.Log.Printf("%s: refused rcpt <%s> from <%s> by %s (%s): %d %s %s", s.remote, a.String(), s.tx.sender, check, v.Reason,
		v.Reply.Code, v.Reply.Enh, v.Reply.Text)
	s.srv.Metrics.Inc(metrics.SMTPRcptRefused, checkReason(check))
	if check == "greylist" || check == "ratelimit" {
		s.bw.Write(v.Reply.AppendTo(nil))
		return
	}
	s.reply(v.Reply)
}

// checkReason is a check's label in goqmail_smtp_recipients_refused_total.
func checkReason(check string) string {
	switch check {
	case "dnsbl", "greylist":
		return check
	case "badmailfrom", "badrcptto":
		return "bad_address"
	case "ratelimit":
		return "rate_limit"
	}
	return "client_check"
}

// refuseSenderBy answers a MAIL a check refused (the message rate).
func (s *session) refuseSenderBy(sender, check string, v policy.Verdict) {
	s.srv.Log.Printf("%s: refused sender <%s> by %s (%s): %d %s %s", s.remote, sender, check, v.Reason, v.Reply.Code, v.Reply.Enh, v.Reply.Text)
	s.bw.Write(v.Reply.AppendTo(nil))
}

// roleRcpt: the recipient is postmaster or abuse (RFC 5321 4.5.1, RFC
// 2142), <postmaster> alone included.
func roleRcpt(a address.Addr, bare bool) bool { return bare || policy.RoleAccount(a.Local) }

// replyGreyUnavailable defers while greylisting has no state to decide by.
var replyGreyUnavailable = smtp.Reply{Code: 451, Enh: "4.3.0", Text: "greylisting is not available now; try again later"}
