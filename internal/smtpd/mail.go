package smtpd

import (
	"errors"
	"goqmail/internal/proto"
	"io"
	"os"
	"strconv"
	"strings"

	"goqmail/internal/address"
	"goqmail/internal/metrics"
	"goqmail/internal/policy"
	"goqmail/internal/smtp"
	"goqmail/internal/submit"
)

func (s *session) mail(arg string) {
	if s.tx != nil {
		s.reply(replyNestedMail)
		return
	}
	rest, ok := smtp.CutPrefixFold(arg, "FROM:")
	if !ok {
		s.reply(replyMailSyntax)
		return
	}
	a, params, err := address.ParsePath(rest, address.Options{AllowNull: true})
	if err != nil {
		s.reply(addrReply(err, "5.1.7", "sender"))
		return
	}
	size, r, ok := s.mailParams(params)
	if !ok {
		s.reply(r)
		return
	}
	sender, ok := s.pluginsMail(a.String()) // qmail-spp [mail] (filters.go)
	if !ok {
		return
	}
	r = policy.CheckSender(policy.SenderFacts{Sender: sender, AuthRequired: s.kind.authRequired() && !s.stdio,
		Authenticated: s.authenticated(), Owns: s.authOwns},
		policy.SenderConfig{CheckOwnership: s.cfg.AuthSenders})
	if r.Code != 250 {
		if s.authenticated() {
			s.srv.Log.Printf("%s: refused sender <%s> for user %s: %d %s", s.remote, sender, safe(s.authUser, 100), r.Code, r.Text)
		}
		s.reply(r)
		return
	}
	if r, ok := s.checkSpace(size); !ok {
		s.srv.Log.Printf("%s: refused sender <%s>: %s", s.remote, sender, r.Text)
		s.reply(r)
		return
	}
	if v := s.checkMailRate(); v.Refused() {
		s.refuseSenderBy(sender, "ratelimit", v)
		return
	}
	if !s.miltersMail(sender) { // milter.go
		return
	}
	s.tx = &transaction{sender: sender, seen: map[string]bool{}, spf: s.checkSPF(sender)}
	s.reply(r)
}

// mailParams checks the ESMTP parameters of MAIL we advertise: SIZE
// (RFC 1870), BODY (RFC 6152) and, where AUTH is offered, AUTH= (RFC 4954
// section 5), whose value is ignored: we trust only our own login.
// Anything else is refused (RFC 5321 4.1.1.11).
// It returns the announced SIZE (0 when there is none).
func (s *session) mailParams(params string) (size int64, r smtp.Reply, ok bool) {
	for _, p := range strings.Fields(params) {
		name, value, _ := strings.Cut(p, "=")
		switch strings.ToUpper(name) {
		case "SIZE":
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil || n < 0 {
				return 0, replyBadSize, false
			}
			if max := s.maxBytes(); max > 0 && n > max {
				return 0, replySizeExceeded, false
			}
			size = n
		case "BODY":
			if v := strings.ToUpper(value); v != "7BIT" && v != "8BITMIME" {
				return 0, replyBadBody, false
			}
		case "AUTH":
			if !s.authOffered() {
				return 0, replyBadParam, false
			}
		default:
			return 0, replyBadParam, false
		}
	}
	return size, smtp.Reply{}, true
}

// checkSpace refuses MAIL when the queue's file system cannot take the
// message: less free than queueminfree plus 1.5 times the announced SIZE
// (Postfix's smtpd_check_queue). RFC 1870 6.1: 452 for insufficient
// storage; the client tries later. A free-space reading that fails is
// logged and the check skipped: the commit still reports a full disk.
func (s *session) checkSpace(size int64) (smtp.Reply, bool) {
	if s.srv.QueueFree == nil {
		return smtp.Reply{}, true
	}
	free, err := s.srv.QueueFree()
	if err != nil {
		s.srv.Log.Printf("warning: free space of the queue: %v", err)
		return smtp.Reply{}, true
	}
	if need := s.cfg.QueueMinFree + size + size/2; free < need {
		return replyNoSpace, false
	}
	return smtp.Reply{}, true
}

func (s *session) rcpt(arg string) {
	if s.tx == nil {
		s.reply(replyMailFirst)
		return
	}
	s.tx.attempted++
	rest, ok := smtp.CutPrefixFold(arg, "TO:")
	if !ok {
		s.rcptRefused(replyRcptSyntax)
		return
	}
	a, params, err := address.ParsePath(rest, address.Options{AllowNoDomain: true})
	if err != nil {
		s.rcptRefused(addrReply(err, "5.1.3", "recipient"))
		return
	}
	if params != "" {
		s.rcptRefused(replyBadParam)
		return
	}
	sppOK, ok := s.pluginsRcpt(&a) // qmail-spp [rcpt] (filters.go): C, O, or an answer
	if !ok {
		return
	}
	postmaster := false
	if a.Domain == "" {
		postmaster = strings.EqualFold(a.Local, "postmaster")
		a.Domain = strings.ToLower(s.cfg.EnvNoAtHost)
	}
	// box@[our own IP] is box@localiphost (qmail-smtpd), so a literal can
	// reach us without opening a relay for other literals.
	if ip, ok := a.LiteralIP(); ok && ip.Unmap() == s.local.Addr() {
		a.Domain = strings.ToLower(s.cfg.LocalIPHost)
	}
	virtual, err := s.cfg.Recipients.ServesDomain(a.Domain)
	if err != nil {
		s.srv.Log.Printf("warning: %s: cannot read the virtual directory for <%s>: %v", s.remote, a.String(), err)
	}
	r := policy.CheckRcpt(policy.RcptFacts{Domain: a.Domain, RelayClient: s.relayClient || sppOK, Accepted: len(s.tx.rcpts), Postmaster: postmaster,
		Authenticated: s.authenticated(), RelayGrant: s.relayGrant, Virtual: virtual, VirtualUnknown: err != nil},
		policy.RelayConfig{RcptHosts: s.cfg.RcptHosts, MaxRcpt: s.cfg.MaxRcpt})
	// A qmail-spp plugin's O (sppOK) accepts the recipient as it is: no
	// check of ours second-guesses it (filters.go).
	role := roleRcpt(a, postmaster)
	if r.Code == 250 && !sppOK {
		if v, check := s.checkRcptFirst(a, role); v.Refused() {
			s.refuseRcptBy(a, check, v)
			return
		}
	}
	if r.Code == 250 && !sppOK && !strings.EqualFold(a.Local, "postmaster") {
		r = s.spfRcpt(a.Domain, r)
	}
	if r.Code == 250 && !postmaster && !sppOK {
		var closed bool
		if r, closed = s.checkExists(a); closed {
			return
		}
	}
	r = s.miltersRcpt(a.String(), r) // milter.go
	if r.Code == 250 && !sppOK {
		if v, check := s.checkRcptLast(a, role); v.Refused() {
			s.refuseRcptBy(a, check, v)
			return
		}
	}
	if r.Code == 250 {
		addr := a.String()
		if !s.tx.seen[addr] {
			s.tx.seen[addr] = true
			s.tx.rcpts = append(s.tx.rcpts, addr)
			s.pluginAccepted()
		}
	} else {
		// Postfix's "NOQUEUE: reject": an admin must see what was refused.
		s.srv.Log.Printf("%s: refused rcpt <%s> from <%s>: %d %s", s.remote, a.String(), s.tx.sender, r.Code, r.Text)
		s.rcptRefused(r)
		return
	}
	s.reply(r)
}

// rcptRefused answers a refused RCPT and counts it by reason
// (goqmail_smtp_recipients_refused_total).
func (s *session) rcptRefused(r smtp.Reply) {
	reason := "other"
	switch {
	case r.Code == 553:
		reason = "relaying_denied"
	case r.Enh == enhNoSuchUser:
		reason = "unknown_user"
	case r.Enh == enhSPFFail:
		reason = "spf_fail"
	case r.Code == 452:
		reason = "too_many_recipients"
	case r.Code >= 400 && r.Code < 500:
		reason = "temporary"
	}
	s.srv.Metrics.Inc(metrics.SMTPRcptRefused, reason)
	s.reply(r)
}

// messageRefused counts a message refused at DATA or its end
// (goqmail_smtp_messages_refused_total).
func (s *session) messageRefused(reason string) {
	s.srv.Metrics.Inc(metrics.SMTPRefused, reason)
}

// addrWhy says what is wrong with an address, by the parser's error; the
// first match wins. Any other error is "bad address syntax".
var addrWhy = []struct {
	err error
	why string
}{
	{address.ErrTooLong, "address too long"},
	{address.ErrBadChar, "address contains a control, space or non-ASCII character"},
	{address.ErrNoDomain, "address needs a domain"},
	{address.ErrBadDomain, "bad domain in address"},
	{address.ErrBadLiteral, "bad address literal"},
	{address.ErrNull, "the null address is not allowed here"},
}

// addrReply turns an address parser error into a reply that says what is
// wrong (RFC 3463: X.1.7 sender syntax, X.1.3 recipient syntax).
func addrReply(err error, enh, which string) smtp.Reply {
	why := "bad address syntax"
	for _, w := range addrWhy {
		if errors.Is(err, w.err) {
			why = w.why
			break
		}
	}
	return replyAddrRefused(enh, which, why)
}

func (s *session) data() {
	tx := s.tx
	switch {
	case tx == nil:
		s.reply(replyMailFirst)
		return
	case len(tx.rcpts) == 0 && tx.attempted == 0:
		s.reply(replyRcptFirst)
		return
	case len(tx.rcpts) == 0:
		s.messageRefused("no_valid_recipients")
		s.reply(replyNoValidRcpt)
		return
	}
	if !s.pluginsData() { // qmail-spp [data] (filters.go)
		return
	}
	s.tx = nil
	if s.srv.closing.Load() {
		s.replyClose(replyShutdown)
		return
	}
	q, release := s.openQueue() // the queue, or a QMAILQUEUE program (qmailqueue.go)
	defer release()
	// DKIM: the queue signs what smtpd vouches for, mail from clients that
	// may relay (AUTH, RELAYCLIENT, POP-before-SMTP), never a stranger's
	// (internal/queue, sign.go; docs/outbound.md). A QMAILQUEUE program
	// passes the word on to goqmail's qmail-queue (GOQMAIL_DKIM_SIGN).
	switch q := q.(type) {
	case *submit.Conn:
		q.Sign = s.mayRelay()
	case *filterSink:
		q.sign = s.mayRelay()
	}
	if err := q.Begin(tx.sender, tx.rcpts); err != nil {
		s.srv.Log.Printf("warning: %s: %v", s.remote, err)
		q.Close()
		s.reply(replyQueueTemp)
		return
	}
	s.reply(replyStartData)
	if s.flush() != nil {
		q.Abort()
		s.closed = true
		return
	}
	q.Write([]byte(receivedLine(trace{helo: s.helo, ip: s.remote.Addr().String(), esmtp: s.esmtp, tls: s.tls, authUser: s.authUser},
		s.cfg.Me, s.srv.Now())))
	q.Write(s.pluginHeaders())
	// The stored copy goes through the header filter (forged fields out);
	// the message checks see what the client sent.
	filter := newHeaderFilter(q, s.srv.dropHeader)
	checks := s.startMessageChecks(tx)
	defer checks.close()
	var w io.Writer = filter
	if checks != nil {
		w = io.MultiWriter(filter, checks)
	}
	st, err := smtp.ReadData(s.br, w, s.maxBytes())
	if err == nil {
		filter.Close()
	}
	if err != nil {
		q.Abort()
		s.refused++
		s.messageRefused("connection_lost")
		s.end = "connection lost during DATA"
		if errors.Is(err, os.ErrDeadlineExceeded) {
			s.end = "timeout during DATA"
			s.replyClose(replyTimeout)
		}
		s.closed = true
		return
	}
	var refuse *smtp.Reply
	var reason string
	switch {
	case st.BareCRLF:
		refuse, reason = &replyBareCRLF, "bare_crlf"
	case st.TooBig:
		refuse, reason = &replySizeExceeded, "size"
	case st.Hops >= 100:
		refuse, reason = &replyTooManyHops, "loop"
	}
	if refuse == nil && checks != nil {
		v := checks.end(min(s.cfg.Timeout, endWait))
		if v.Refuse != nil {
			refuse, reason = v.Refuse, "check"
		} else {
			prefix := v.Prefix
			if v.Junk != "" {
				prefix = append(append([]byte(nil), prefix...), junkLine(v.Junk)...)
			}
			if err := proto.CheckPrefix(prefix); err != nil {
				// A check's own bug: the message goes without its lines.
				s.srv.Log.Printf("warning: %s: message checks' header lines refused: %v", s.remote, err)
			} else {
				q.Prefix(prefix)
			}
		}
	}
	if refuse != nil {
		q.Abort()
		s.refused++
		s.messageRefused(reason)
		s.srv.Log.Printf("%s: refused message from <%s>: %s", s.remote, tx.sender, refuse.Text)
		s.reply(*refuse)
		return
	}
	res, err := q.Commit(s.cfg.Timeout)
	switch {
	case err != nil:
		s.srv.Log.Printf("warning: %s: queue: %v", s.remote, err)
		s.refused++
		s.messageRefused("queue_temporary")
		s.reply(replyQueueTemp)
	case !res.OK:
		s.refused++
		if res.Temporary {
			s.messageRefused("queue_temporary")
		} else {
			s.messageRefused("queue_permanent")
		}
		s.reply(replyQueueRefused(res.Temporary, res.Text))
	default:
		s.accepted++
		s.chargeRates(tx)
		s.srv.Metrics.Inc(metrics.SMTPAccepted, s.kind.String())
		s.junk = 0
		s.srv.Log.Printf("%s: accepted msg %s from <%s> to %d recipients, %d bytes", s.remote, res.ID, tx.sender, len(tx.rcpts), st.Bytes)
		s.reply(replyQueued(strconv.FormatInt(s.srv.Now().Unix(), 10), res.ID))
	}
}
