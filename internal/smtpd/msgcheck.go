package smtpd

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"sync"
	"time"

	"goqmail/internal/mailauth"
	"goqmail/internal/proto"
	"goqmail/internal/smtp"
)

// MessageFacts is what a message check may know of the message it looks at.
type MessageFacts struct {
	Remote   netip.AddrPort
	Helo     string
	Sender   string   // "" for the null sender
	Rcpts    []string // as accepted at RCPT
	AuthUser string   // "" unless the client authenticated
	TLS      bool
	// Relay: the client may relay (RELAYCLIENT, a POP-before-SMTP grant,
	// AUTH, sendmail -bs): what it sends is outgoing mail.
	Relay bool
	// SPF is what SPF said at MAIL (msgauth.go); nil: not checked.
	SPF *mailauth.SPF
}

// A MessageCheck looks at one message while smtpd receives it and gives
// its verdict at the end of the data: DKIM and DMARC (issue 13), a milter,
// a content filter. It never sees the queue, and cannot change the
// message except by adding header lines at its top.
type MessageCheck interface {
	// Write gets the message as the client sent it, in the stored form
	// (LF line ends, dots unstuffed), in pieces, headers included and
	// before any was removed; not smtpd's own Received line. A write
	// error stops only this check: its End then decides what it means.
	Write(p []byte) (int, error)
	// End is called once, after data that ended well; ctx bounds the
	// wait (a DNS lookup, a filter's answer).
	End(ctx context.Context) MessageVerdict
	// Close releases what the check holds; called once, after End or
	// instead of it when the message was refused or the client left.
	Close()
}

// MessageVerdict is a check's decision.
type MessageVerdict struct {
	// Refuse, when set, refuses the message with this reply (4xx: try
	// later; 5xx: never). The check logs its own reason.
	Refuse *smtp.Reply
	// Prefix is header lines (LF line ends, whole fields) for the top of
	// the message, such as Authentication-Results.
	Prefix []byte
	// Junk, when set, sends the message to the recipients' Junk folder
	// instead of their inbox, saying why (proto.JunkHeader).
	Junk string
}

// MessageCheckFactory starts a check for one message, or returns nil when
// it has nothing to check in it.
type MessageCheckFactory func(MessageFacts) MessageCheck

// HeaderDropper says whether smtpd removes a header field the client sent
// before the message is queued (the whole field with its continuation
// lines; see headerFilter). Message checks still see it.
type HeaderDropper func(field []byte) bool

// endWait bounds the checks' End together.
const endWait = 60 * time.Second

// messageChecks runs the checks of one message.
type messageChecks struct {
	checks []MessageCheck
	failed []bool // a write failed: no more writes for it
}

// startMessageChecks makes the checks of this transaction; nil when there
// are none.
func (s *session) startMessageChecks(tx *transaction) *messageChecks {
	milters := s.milterChecks() // milter.go
	if len(s.srv.MessageChecks) == 0 && len(milters) == 0 {
		return nil
	}
	facts := MessageFacts{Remote: s.remote, Helo: s.helo, Sender: tx.sender, Rcpts: tx.rcpts, AuthUser: s.authUser, TLS: s.tls,
		Relay: s.mayRelay() || s.stdio, SPF: tx.spf}
	mc := &messageChecks{}
	for _, f := range s.srv.MessageChecks {
		if c := f(facts); c != nil {
			mc.checks = append(mc.checks, c)
		}
	}
	mc.checks = append(mc.checks, milters...)
	if len(mc.checks) == 0 {
		return nil
	}
	mc.failed = make([]bool, len(mc.checks))
	return mc
}

// Write gives every check the bytes; it never fails, so the message still
// reaches the queue when a check breaks.
func (mc *messageChecks) Write(p []byte) (int, error) {
	for i, c := range mc.checks {
		if !mc.failed[i] {
			if _, err := c.Write(p); err != nil {
				mc.failed[i] = true
			}
		}
	}
	return len(p), nil
}

// end asks every check for its verdict, all at once, and combines them: a
// permanent refusal before a temporary one, each kind in the checks'
// order; the prefixes in the checks' order; the first Junk reason.
func (mc *messageChecks) end(timeout time.Duration) MessageVerdict {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	verdicts := make([]MessageVerdict, len(mc.checks))
	var wg sync.WaitGroup
	for i, c := range mc.checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			verdicts[i] = c.End(ctx)
		}()
	}
	wg.Wait()
	var out MessageVerdict
	var temp *smtp.Reply
	var prefix bytes.Buffer
	for _, v := range verdicts {
		switch {
		case v.Refuse != nil && v.Refuse.Code >= 500 && out.Refuse == nil:
			out.Refuse = v.Refuse
		case v.Refuse != nil && v.Refuse.Code < 500 && temp == nil:
			temp = v.Refuse
		}
		prefix.Write(v.Prefix)
		if out.Junk == "" {
			out.Junk = v.Junk
		}
	}
	if out.Refuse == nil {
		out.Refuse = temp
	}
	out.Prefix = prefix.Bytes()
	return out
}

func (mc *messageChecks) close() {
	if mc == nil {
		return
	}
	for _, c := range mc.checks {
		c.Close()
	}
}

// dropHeader is the field filter of the stored copy: goqmail's own junk
// marker always goes (only a check of ours may set it), and whatever the
// server's droppers say.
func (s *Server) dropHeader(field []byte) bool {
	if strings.EqualFold(string(fieldName(field)), proto.JunkHeader) {
		return true
	}
	for _, d := range s.DropHeaders {
		if d(field) {
			return true
		}
	}
	return false
}

// junkLine is the marker local delivery reads: the reason on one line,
// with nothing in it that could end or fold the field.
func junkLine(reason string) []byte {
	r := strings.Map(func(c rune) rune {
		if c < ' ' || c == 0x7f {
			return ' '
		}
		return c
	}, reason)
	if len(r) > 200 {
		r = r[:200]
	}
	return []byte(proto.JunkHeader + ": " + strings.TrimSpace(r) + "\n")
}
