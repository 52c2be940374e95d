package smtpd

import (
	"context"
	"crypto/tls"
	"strings"

	"goqmail/internal/milterclient"
	"goqmail/internal/smtp"
)

// milterState is one milter in one SMTP session. Its connection opens at
// the first MAIL (connect and HELO are sent then), so sessions that send
// no mail cost the milter nothing, and its verdicts on the connection
// answer MAIL: refusals happen at MAIL and RCPT, never at the greeting.
type milterState struct {
	cfg     milterclient.Config
	sess    *milterclient.Session // nil until the first MAIL
	dead    bool                  // failed; cfg.OnFail decides from now on
	skip    bool                  // accepted the session, or failed with onfail=accept
	refuse  *smtp.Reply           // refused the session at connect or HELO
	helo    string                // the HELO name it was last told
	inTx    bool                  // it saw MAIL of a transaction that has not ended
	txDone  bool                  // it accepted this transaction: nothing more to send
	discard bool                  // it asked to discard this transaction
}

// replyDiscarded accepts a message a milter said to discard: the client
// is told it was taken (Postfix and Sendmail say so too), nothing is
// queued, the log says why.
var replyDiscarded = smtp.Reply{Code: 250, Enh: "2.0.0", Text: "ok, discarded by a filter"}

// miltersMail tells the milters of a new transaction, after goqmail's own
// checks accepted the sender; false when one refused (answered here).
func (s *session) miltersMail(sender string) bool {
	if s.hooks == nil {
		return true
	}
	for _, m := range s.hooks.milters {
		m.txDone, m.discard = false, false
		s.hooks.sender = sender
		if r, ok := s.milterMail(m, sender); !ok {
			s.srv.Log.Printf("%s: refused sender <%s>: %d %s (milter %s)", s.remote, sender, r.Code, r.Text, m.cfg.Name)
			s.reply(r)
			return false
		}
	}
	return true
}

func (s *session) milterMail(m *milterState, sender string) (smtp.Reply, bool) {
	switch {
	case m.refuse != nil:
		return *m.refuse, false
	case m.skip:
		return smtp.Reply{}, true
	case m.dead:
		return milterclient.ReplyTempFail, false // onfail=tempfail; accept sets skip
	}
	helo := s.helo
	if helo == "" {
		helo = "[" + s.remote.Addr().String() + "]"
	}
	var v milterclient.Verdict
	if m.sess == nil {
		m.sess, v = milterclient.Open(m.cfg, s.milterFacts(), helo)
		m.helo = helo
	} else {
		if m.inTx {
			m.inTx = false
			if err := m.sess.Abort(); err != nil {
				return s.milterFailed(m, "abort", err)
			}
		}
		if helo != m.helo {
			m.helo = helo
			v = m.sess.Helo(helo)
		}
	}
	// The connection's verdict: for the whole session.
	switch v.Kind {
	case milterclient.Failed:
		return s.milterFailed(m, "connect", v.Err)
	case milterclient.Accept:
		m.skip = true
		return smtp.Reply{}, true
	case milterclient.Reject:
		m.refuse = &v.Reply
		return v.Reply, false
	}
	if s.authUser != "" {
		m.sess.Auth(s.authUser, "")
	}
	v = m.sess.Mail(sender)
	m.inTx = true
	switch v.Kind {
	case milterclient.Failed:
		return s.milterFailed(m, "mail", v.Err)
	case milterclient.Accept:
		m.txDone = true
	case milterclient.Discard:
		m.txDone, m.discard = true, true
		s.srv.Log.Printf("%s: milter %s: discard the message from <%s> (at mail)", s.remote, m.cfg.Name, sender)
	case milterclient.Reject:
		return v.Reply, false
	}
	return smtp.Reply{}, true
}

// miltersRcpt asks the milters about a recipient goqmail accepted
// (reply r, 250): the first refusal answers instead.
func (s *session) miltersRcpt(rcpt string, r smtp.Reply) smtp.Reply {
	if s.hooks == nil || r.Code != 250 {
		return r
	}
	for _, m := range s.hooks.milters {
		if m.skip || m.txDone || m.sess == nil {
			continue
		}
		if m.dead {
			return milterclient.ReplyTempFail
		}
		v := m.sess.Rcpt(rcpt)
		switch v.Kind {
		case milterclient.Failed:
			if fr, ok := s.milterFailed(m, "rcpt", v.Err); !ok {
				return fr
			}
		case milterclient.Accept:
			m.txDone = true
		case milterclient.Discard:
			m.txDone, m.discard = true, true
			s.srv.Log.Printf("%s: milter %s: discard the message from <%s> (at rcpt <%s>)", s.remote, m.cfg.Name, s.tx.sender, rcpt)
		case milterclient.Reject:
			s.srv.Log.Printf("%s: milter %s: refused rcpt <%s>: %d %s", s.remote, m.cfg.Name, rcpt, v.Reply.Code, v.Reply.Text)
			return v.Reply
		}
	}
	return r
}

// milterFailed handles a milter that is down, slow or broken: logged, and
// dead for the rest of the session; onfail says whether the command goes
// on without it (true) or gets 451 4.7.1 (false), now and later.
func (s *session) milterFailed(m *milterState, stage string, err error) (smtp.Reply, bool) {
	m.dead, m.inTx = true, false
	if m.sess != nil {
		m.sess.Close()
		m.sess = nil
	}
	s.srv.Log.Printf("warning: %s: milter %s failed at %s: %v (onfail=%s)", s.remote, m.cfg.Name, stage, err, m.cfg.OnFail)
	if m.cfg.OnFail == milterclient.FailAccept {
		m.skip = true
		return smtp.Reply{}, true
	}
	return milterclient.ReplyTempFail, false
}

// milterFacts is what the milters learn of the session.
func (s *session) milterFacts() milterclient.Facts {
	f := milterclient.Facts{Me: s.cfg.Me, Daemon: s.kind.String(), Local: s.local, Remote: s.remote, AuthUser: s.authUser}
	if tc, ok := s.conn.(*tls.Conn); ok {
		cs := tc.ConnectionState()
		f.TLS, f.Cipher = tls.VersionName(cs.Version), tls.CipherSuiteName(cs.CipherSuite)
	}
	return f
}

// abortMilters tells the milters a transaction ended without its data.
func (s *session) abortMilters() {
	for _, m := range s.hooks.milters {
		if m.inTx && m.sess != nil {
			m.inTx = false
			if err := m.sess.Abort(); err != nil {
				s.milterFailed(m, "abort", err)
			}
		}
	}
}

// closeMilters ends the milter sessions (SMFIC_QUIT).
func (s *session) closeMilters() {
	for _, m := range s.hooks.milters {
		if m.sess != nil {
			m.sess.Close()
			m.sess = nil
		}
	}
}

// milterChecks are the milters' part of the end of the data: a message
// check per milter still in the transaction (msgcheck.go), or one that
// carries a decision taken at MAIL or RCPT (discard; a milter that died
// since with onfail=tempfail).
func (s *session) milterChecks() []MessageCheck {
	if s.hooks == nil {
		return nil
	}
	var out []MessageCheck
	for _, m := range s.hooks.milters {
		switch {
		case m.discard:
			out = append(out, fixedCheck{MessageVerdict{Refuse: &replyDiscarded}})
		case m.dead && !m.skip:
			r := milterclient.ReplyTempFail
			out = append(out, fixedCheck{MessageVerdict{Refuse: &r}})
		case m.skip || m.txDone || m.sess == nil:
		default:
			c := &milterCheck{s: s, m: m}
			if v := m.sess.Data(); v.Kind != milterclient.Continue {
				c.early = &v
			}
			out = append(out, c)
		}
	}
	return out
}

// fixedCheck is a verdict decided before the data.
type fixedCheck struct{ v MessageVerdict }

func (c fixedCheck) Write(p []byte) (int, error)        { return len(p), nil }
func (c fixedCheck) End(context.Context) MessageVerdict { return c.v }
func (c fixedCheck) Close()                             {}

// milterCheck sends a message to one milter and turns its answer at the
// end of the data into a verdict.
type milterCheck struct {
	s     *session
	m     *milterState
	early *milterclient.Verdict // its answer to DATA, when not continue
}

func (c *milterCheck) Write(p []byte) (int, error) {
	if c.early != nil {
		return len(p), nil
	}
	return c.m.sess.Write(p)
}

func (c *milterCheck) End(ctx context.Context) MessageVerdict {
	s, m := c.s, c.m
	var res milterclient.Result
	if c.early != nil {
		res.Verdict = *c.early
	} else {
		res = m.sess.End(ctx)
	}
	name, from := m.cfg.Name, s.currentSender()
	switch res.Verdict.Kind {
	case milterclient.Failed:
		if r, ok := s.milterFailed(m, "end of message", res.Verdict.Err); !ok {
			return MessageVerdict{Refuse: &r}
		}
		return MessageVerdict{}
	case milterclient.Reject:
		s.srv.Log.Printf("%s: milter %s: refused the message from <%s>: %d %s", s.remote, name, from, res.Verdict.Reply.Code, res.Verdict.Reply.Text)
		r := res.Verdict.Reply
		return MessageVerdict{Refuse: &r}
	case milterclient.Discard:
		s.srv.Log.Printf("%s: milter %s: discard the message from <%s>", s.remote, name, from)
		return MessageVerdict{Refuse: &replyDiscarded}
	}
	if c.early == nil {
		m.inTx = false // the end of the message ends the milter's transaction
	}
	if len(res.Ignored) > 0 {
		s.srv.Log.Printf("%s: milter %s: left out what cannot be done to a message on its way to the queue: %s", s.remote, name, strings.Join(res.Ignored, "; "))
	}
	if len(res.Unsupported) > 0 {
		s.srv.Log.Printf("%s: milter %s: refused the message from <%s> for now: it asked to %s, which goqmail does not do", s.remote, name, from, strings.Join(res.Unsupported, "; "))
		r := milterclient.ReplyTempFail
		return MessageVerdict{Refuse: &r}
	}
	v := MessageVerdict{Prefix: res.Headers}
	if res.Quarantine != "" {
		v.Junk = "milter " + name + ": " + res.Quarantine
		s.srv.Log.Printf("%s: milter %s: quarantine (Junk) the message from <%s>: %s", s.remote, name, from, res.Quarantine)
	}
	return v
}

func (c *milterCheck) Close() {}

// currentSender is the sender of the message being received, for logs
// (the transaction is gone from the session once DATA began).
func (s *session) currentSender() string {
	if s.hooks != nil && s.hooks.sender != "" {
		return s.hooks.sender
	}
	return "?"
}
