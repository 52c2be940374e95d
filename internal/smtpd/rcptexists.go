package smtpd

import (
	"goqmail/internal/address"
	"goqmail/internal/policy"
	"goqmail/internal/rcptcheck"
	"goqmail/internal/smtp"
	"goqmail/internal/srs"
)

// rcptState is what a session keeps about its recipients across
// transactions: the existence check's cache and the count of unknown
// recipients, which a directory harvest spreads over several messages.
type rcptState struct {
	check   *rcptcheck.Session
	unknown int
}

// checkExists decides a recipient the relay rules accepted by whether it
// exists (internal/rcptcheck, decided by policy.CheckExistence), so that
// mail for nobody at our own domains is refused now rather than bounced
// later to a forged sender. It returns the RCPT reply, or closed when it
// has ended the session as a directory harvest.
func (s *session) checkExists(a address.Addr) (r smtp.Reply, closed bool) {
	addr := a.String()
	if codec := s.cfg.SRS; codec != nil && codec.IsSRS(addr) {
		return s.checkSRS(codec, addr)
	}
	c := s.cfg.Recipients
	if c == nil {
		return policy.ReplyRcptOK, false
	}
	if s.rcpts == nil {
		s.rcpts = &rcptState{check: c.Session()}
	}
	res := s.rcpts.check.Check(addr)
	facts := policy.ExistenceFacts{Existence: existence(res.Verdict), UnknownBefore: s.rcpts.unknown, RelayClient: s.mayRelay()}
	switch policy.CheckExistence(facts, policy.ExistenceConfig{MaxUnknown: s.cfg.MaxUnknownRcpt}) {
	case policy.RcptAccept:
		if res.Verdict == rcptcheck.Unverified {
			// The delivery will decide; the administrator should know
			// the SMTP server could not (a home it may not read).
			s.srv.Log.Printf("warning: %s: rcpt <%s> accepted unverified: %s", s.remote, addr, res.Why)
		}
		return policy.ReplyRcptOK, false
	case policy.RcptDefer:
		s.srv.Log.Printf("warning: %s: cannot check rcpt <%s>: %s", s.remote, addr, res.Why)
		return replyRcptLookupTemp, false
	case policy.RcptRefuseUnknown:
		s.rcpts.unknown++
		return replyNoSuchUser(a.SMTP()), false
	}
	s.rcpts.unknown++
	from := ""
	if s.tx != nil {
		from = s.tx.sender
	}
	s.srv.Log.Printf("%s: dropped: %d unknown recipients in one session (directory harvest?), the last <%s> from <%s>",
		s.remote, s.rcpts.unknown, addr, from)
	s.end = "dropped: too many unknown recipients"
	s.replyClose(replyTooManyUnknown)
	return smtp.Reply{}, true
}

// existence translates the checker's verdict into the policy's terms.
func existence(v rcptcheck.Verdict) policy.Existence {
	switch v {
	case rcptcheck.Exists:
		return policy.RcptExists
	case rcptcheck.NoSuch:
		return policy.RcptUnknown
	case rcptcheck.TempFail:
		return policy.RcptLookupFailed
	}
	return policy.RcptNotChecked // NotLocal, Unverified
}

// checkSRS decides a recipient that is an SRS address of ours: a bounce
// to mail goqmail forwarded. A valid one is accepted (send routes it to
// the original sender); one with a hash that does not match any secret,
// or older than srsmaxage days, is refused, so nobody can use the
// address form to relay through us (docs/outbound.md). A refusal counts
// as an unknown recipient toward the harvest limit.
func (s *session) checkSRS(codec *srs.Codec, addr string) (smtp.Reply, bool) {
	if _, err := codec.Reverse(addr, true); err != nil {
		if s.rcpts == nil {
			s.rcpts = &rcptState{}
			if c := s.cfg.Recipients; c != nil {
				s.rcpts.check = c.Session()
			}
		}
		s.rcpts.unknown++
		// Why, for the admin; the refusal line follows (mail.go).
		s.srv.Log.Printf("%s: rcpt <%s>: %v", s.remote, addr, err)
		return replyBadSRS, false
	}
	return policy.ReplyRcptOK, false
}
