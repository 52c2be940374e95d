package smtpd

import (
	"context"
	"time"

	"goqmail/internal/mailauth"
	"goqmail/internal/smtp"
)

// dkimWait bounds a message's DKIM key lookups, from the start of the
// data: the verifier never holds more than that.
const dkimWait = 30 * time.Second

// authCheck is the MessageCheck of content authentication for one
// message: it verifies DKIM while the message arrives, evaluates DMARC at
// its end, and puts Received-SPF and Authentication-Results on top.
type authCheck struct {
	srv    *Server
	cfg    authConfig
	me     string
	facts  MessageFacts
	dkim   *mailauth.DKIMVerifier // nil: dkimcheck 0
	cancel context.CancelFunc
}

// AuthCheck is the MessageCheckFactory of SPF, DKIM and DMARC results
// (control/spfcheck, dkimcheck, dmarccheck), under the configuration in
// force when the message starts. It checks nothing for clients that may
// relay: their mail is outgoing.
func (srv *Server) AuthCheck(f MessageFacts) MessageCheck {
	cfg := srv.cfg.Load()
	if cfg == nil || f.Relay || srv.DNS == nil || !(f.SPF != nil || cfg.Auth.DKIM) {
		return nil
	}
	c := &authCheck{srv: srv, cfg: cfg.Auth, me: cfg.Me, facts: f, cancel: func() {}}
	if c.cfg.DKIM {
		var ctx context.Context
		ctx, c.cancel = context.WithTimeout(context.Background(), dkimWait)
		c.dkim = mailauth.NewDKIMVerifier(ctx, srv.DNS)
	}
	return c
}

func (c *authCheck) Write(p []byte) (int, error) {
	if c.dkim != nil {
		return c.dkim.Write(p)
	}
	return len(p), nil
}

func (c *authCheck) End(ctx context.Context) MessageVerdict {
	res := mailauth.Results{SPF: c.facts.SPF}
	var header []byte
	if c.dkim != nil {
		res.DKIMChecked = true
		ks, err := c.dkim.Results(ctx)
		header, _ = c.dkim.Header()
		res.DKIM = ks
		if err != nil {
			res.DKIM = dkimUnjudged(header, err, ctx.Err() != nil)
		}
	}
	if c.cfg.DMARC {
		var spfRes *mailauth.SPFResult
		if s := c.facts.SPF; s != nil {
			a := s.Authoritative()
			spfRes = &a
		}
		d := mailauth.DMARC(ctx, c.srv.DNS, mailauth.FromDomains(header), res.DKIM, spfRes, c.srv.dmarcSample)
		res.DMARC = &d
	}
	var prefix []byte
	if c.facts.SPF != nil {
		prefix = append(prefix, mailauth.ReceivedSPF(c.facts.SPF, c.me)...)
	}
	prefix = append(prefix, res.AuthenticationResults(c.me)...)
	v := MessageVerdict{Prefix: prefix}
	if d := res.DMARC; d != nil {
		c.dmarcVerdict(d, &v)
	}
	return v
}

// dmarcVerdict applies a DMARC outcome (RFC 7489 6.7): reject refuses when
// the site says so (control/dmarcreject), else it and quarantine send the
// message to Junk. A temperror is a documented pass, except where the
// domain asks for reject and the site refuses: then the client is asked to
// come back, so DNS trouble never turns a refusal into a delivery.
func (c *authCheck) dmarcVerdict(d *mailauth.DMARCResult, v *MessageVerdict) {
	var action string
	switch {
	case d.Result == "fail" && d.Disposition == mailauth.PolicyReject && c.cfg.DMARCReject:
		r := replyDMARCReject(d.From)
		v.Refuse, action = &r, "refused"
	case d.Result == "temperror" && d.Disposition == mailauth.PolicyReject && c.cfg.DMARCReject:
		v.Refuse, action = &replyDMARCTemp, "deferred"
	case d.Result == "fail" && (d.Disposition == mailauth.PolicyReject || d.Disposition == mailauth.PolicyQuarantine):
		v.Junk, action = "DMARC policy of "+d.From+" (p="+d.Policy+")", "to Junk"
	default:
		return
	}
	c.srv.Log.Printf("%s: dmarc %s from <%s> for header.from %s (policy %s): %s",
		c.facts.Remote, d.Result, c.facts.Sender, safe(d.From, 255), d.Disposition, action)
}

func (c *authCheck) Close() {
	if c.dkim != nil {
		c.dkim.Abort()
	}
	c.cancel()
}

// dkimUnjudged is the DKIM result of a message the verifier could not
// finish: out of time (temperror), or unreadable, such as a header without
// its end (permerror); none when there is no signature to judge.
func dkimUnjudged(header []byte, err error, late bool) []mailauth.DKIMResult {
	if !late && !mailauth.HasSignature(header) {
		return nil
	}
	r := mailauth.DKIMResult{Result: "permerror", Problem: err.Error()}
	if late {
		r.Result = "temperror"
	}
	return []mailauth.DKIMResult{r}
}

var replyDMARCTemp = smtp.Reply{Code: 451, Enh: "4.4.3", Text: "DMARC: a DNS lookup for your domain failed; try again later"}

// replyDMARCReject names the domain whose policy refused the message
// (RFC 7489 7.3 suggests 550 5.7.1).
func replyDMARCReject(domain string) smtp.Reply {
	return smtp.Reply{Code: 550, Enh: "5.7.1", Text: "message refused: the DMARC policy of " + safe(domain, 255) + " rejects mail it has not authenticated"}
}
