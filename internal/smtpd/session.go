package smtpd

import (
	"bufio"
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"goqmail/internal/mailauth"
	"goqmail/internal/smtp"
)

// session is one SMTP connection.
type session struct {
	srv    *Server
	cfg    *Config
	conn   net.Conn
	tcp    net.Conn // the connection as accepted, under any TLS (watchHangup)
	br     *bufio.Reader
	bw     *bufio.Writer
	remote netip.AddrPort
	local  netip.AddrPort
	start  time.Time

	greetUntil time.Time // while waiting out smtpgreetdelay
	hungUp     bool      // the client went away while we waited (watchHangup)

	budget   *budget      // the listener's budget (limits.go); nil: not counted (stdio)
	cmdUntil time.Time    // under stress: when the command line being read must be complete
	readBy   atomic.Int64 // the deadline of the read in progress (UnixNano), 0: none (tighten)

	kind        Kind
	stdio       bool   // sendmail -bs: no TLS, no network checks
	tls         bool   // the connection is encrypted (STARTTLS or smtps)
	relayClient bool   // RELAYCLIENT from tcp.smtp, or sendmail -bs
	relayGrant  bool   // a live POP-before-SMTP grant for the client's IP
	dataBytes   *int64 // DATABYTES from tcp.smtp, overriding control/databytes
	// RBLSMTPD from tcp.smtp (rblsmtpd's meaning, checks.go); client is
	// what the checks learnt of the client, once.
	rblsmtpd    string
	rblsmtpdSet bool
	client      *clientState

	authUser     string   // the account logged in with AUTH; "" = none
	authOwns     []string // the envelope senders it may use
	authFailures int

	helo  string
	esmtp bool
	tx    *transaction
	rcpts *rcptState // the recipient check's session state (rcptexists.go)
	hooks *hooks     // QMAILQUEUE, milters, qmail-spp plugins (filters.go); nil: none

	errors, junk      int
	accepted, refused int
	end               string
	closed            bool
}

// transaction is the state between MAIL and the end of DATA.
type transaction struct {
	sender    string
	rcpts     []string
	seen      map[string]bool
	attempted int           // RCPT commands tried, accepted or not
	spf       *mailauth.SPF // SPF's results at MAIL (msgauth.go); nil: not checked
}

// reply writes one reply; it is flushed before the next read or when the
// client has nothing more pipelined (RFC 2920 section 3.1).
func (s *session) reply(r smtp.Reply) {
	if r.Code >= 400 && r.Code != 421 && r.Code != 452 && r.Enh != enhNoSuchUser {
		s.errors++
	}
	s.bw.Write(r.AppendTo(nil))
}

// replyClose writes a final reply and ends the session.
func (s *session) replyClose(r smtp.Reply) {
	perRead, _ := s.timeouts()
	s.conn.SetWriteDeadline(time.Now().Add(perRead))
	s.bw.Write(r.AppendTo(nil))
	s.bw.Flush()
	s.closed = true
	if s.end == "" {
		s.end = strconv.Itoa(r.Code) + " " + r.Text
	}
}

func (s *session) flush() error {
	perRead, _ := s.timeouts()
	s.conn.SetWriteDeadline(time.Now().Add(perRead))
	return s.bw.Flush()
}

// readDeadline is the soonest of the per-read timeout, the end of the
// command line being read (under stress) and the session's end.
func (s *session) readDeadline() time.Time {
	if !s.greetUntil.IsZero() {
		return s.greetUntil
	}
	perRead, whole := s.timeouts()
	d := time.Now().Add(perRead)
	if !s.cmdUntil.IsZero() && s.cmdUntil.Before(d) {
		d = s.cmdUntil
	}
	if end := s.start.Add(whole); whole > 0 && end.Before(d) {
		return end
	}
	return d
}

// deadlineConn renews the read deadline before every read from the
// network, so the timeout applies to each read as qmail's timeoutsmtpd does
// (a slow but live client is fine, a stalled one is dropped) and the session
// limit caps the total.
type deadlineConn struct{ s *session }

func (d deadlineConn) Read(p []byte) (int, error) {
	dl := d.s.readDeadline()
	d.s.readBy.Store(dl.UnixNano())
	d.s.conn.SetReadDeadline(dl)
	n, err := d.s.conn.Read(p)
	d.s.readBy.Store(0)
	return n, err
}

func (s *session) loop() {
	for !s.closed {
		if s.br.Buffered() == 0 {
			if err := s.flush(); err != nil {
				s.end = "write error"
				return
			}
		}
		// Under stress a command line must arrive whole within
		// timeoutsmtpdstress, not merely a byte of it per read: a client
		// that dribbles a byte every few seconds would otherwise keep its
		// slot (Postfix's smtpd_per_record_deadline).
		if s.underStress() {
			s.cmdUntil = time.Now().Add(s.cfg.StressTimeout)
		}
		line, err := smtp.ReadLine(s.br, maxCmdLine)
		s.cmdUntil = time.Time{}
		switch {
		case err == nil:
		case errors.Is(err, smtp.ErrLineTooLong):
			s.reply(replyLineTooLong)
			s.checkLimits()
			continue
		case errors.Is(err, smtp.ErrBadChar):
			s.reply(replyNUL)
			s.checkLimits()
			continue
		case errors.Is(err, os.ErrDeadlineExceeded):
			s.end = "timeout"
			if s.underStress() {
				s.end = "timeout under stress"
			}
			s.replyClose(replyTimeout)
			return
		default:
			if s.end == "" {
				s.end = "client disconnected"
			}
			return
		}
		verb, arg := smtp.ParseCommand(line)
		if verb == "STARTTLS" && s.tlsOffered() && s.injectedAfterSTARTTLS() {
			s.srv.Log.Printf("%s: dropped: commands pipelined after STARTTLS (CVE-2011-0411 injection?)", s.remote)
			s.end = "dropped: data after STARTTLS"
			s.replyClose(replyTLSInjection)
			return
		}
		if s.pipelineViolation(verb) {
			s.end = "dropped: bad pipelining after " + verb
			s.replyClose(replyBadPipeline)
			return
		}
		s.command(verb, arg)
		s.checkLimits()
	}
}

// pipelineViolation: RFC 2920 section 3.1 lets only RSET, MAIL and RCPT be
// followed by more commands before the reply; EHLO, DATA, VRFY, EXPN, TURN,
// QUIT and NOOP end a group. Without EHLO, PIPELINING was never offered and
// nothing may be pipelined. Bytes already buffered after such a command
// mean the client did not wait, which spam engines do and real clients don't.
// QUIT is exempt: nothing follows it anyway.
func (s *session) pipelineViolation(verb string) bool {
	if s.br.Buffered() == 0 || verb == "QUIT" {
		return false
	}
	switch verb {
	case "MAIL", "RCPT", "RSET":
		return !s.esmtp
	}
	return true
}

func (s *session) checkLimits() {
	if s.closed {
		return
	}
	switch {
	case s.errors >= maxErrors:
		s.end = "too many errors"
		s.replyClose(replyTooManyErrs)
	case s.junk >= maxJunk:
		s.end = "too many junk commands"
		s.replyClose(replyTooMuchJunk)
	}
}

func (s *session) command(verb, arg string) {
	switch verb {
	case "HELO", "EHLO":
		s.junk++
		s.hello(verb == "EHLO", arg)
	case "MAIL":
		s.mail(arg)
	case "RCPT":
		s.rcpt(arg)
	case "DATA":
		if arg != "" {
			s.reply(replyNoArgs)
			return
		}
		s.data()
	case "RSET":
		s.junk++
		s.tx = nil
		s.resetHooks()
		s.reply(replyFlushed)
	case "NOOP":
		s.junk++
		s.reply(replyOK)
	case "VRFY":
		s.junk++
		s.reply(replyVRFY)
	case "HELP":
		s.junk++
		s.reply(replyHelp)
	case "QUIT":
		s.end = "quit"
		s.replyClose(replyBye(s.cfg.Greeting))
	case "STARTTLS":
		s.startTLS(arg)
	case "AUTH":
		s.auth(arg)
	case "EXPN", "ETRN", "TURN", "ATRN", "BDAT", "SEND", "SOML", "SAML":
		s.junk++
		s.reply(replyUnimpl)
	default:
		s.junk++
		s.reply(replyUnknown)
	}
}

func (s *session) hello(ehlo bool, arg string) {
	if arg == "" {
		s.reply(replyHeloSyntax)
		return
	}
	if !s.pluginsHelo(arg) { // qmail-spp [helo] (filters.go)
		return
	}
	s.helo, s.esmtp, s.tx = arg, ehlo, nil
	if !ehlo {
		s.reply(replyHelo(s.cfg.Greeting))
		return
	}
	size := ""
	if n := s.maxBytes(); n > 0 {
		size = strconv.FormatInt(n, 10)
	}
	s.reply(replyEhlo(s.cfg.Greeting, size, s.tlsOffered(), s.authOffered()))
}

// mayRelay: the client may send to any domain, and is no stranger to the
// directory-harvest limit either.
func (s *session) mayRelay() bool {
	return s.relayClient || s.relayGrant || s.authenticated()
}

func (s *session) maxBytes() int64 {
	if s.dataBytes != nil {
		return *s.dataBytes
	}
	return s.cfg.DataBytes
}

// logEnd writes the session outcome line.
func (s *session) logEnd() {
	end := s.end
	if end == "" {
		end = "closed"
	}
	s.srv.Log.Printf("session %s: helo %s: %d accepted, %d refused, %s (%s)",
		s.remote, quoteLog(s.helo), s.accepted, s.refused, end, time.Since(s.start).Round(time.Millisecond))
}

func quoteLog(s string) string {
	if s == "" {
		return "-"
	}
	if len(s) > 100 {
		s = s[:100]
	}
	return s
}
