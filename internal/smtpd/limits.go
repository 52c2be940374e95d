package smtpd

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"goqmail/internal/connlimit"
	"goqmail/internal/metrics"
	"goqmail/internal/smtp"
)

// Connection limits, decided at accept before anything else is spent on a
// connection (no greeting, no TLS handshake): a budget of sessions per
// kind of listener, a limit per client address on each budget and a
// connection rate per address (internal/connlimit decides; this file
// counts and answers). Port 25 has one budget, submission and smtps share
// the other, so a flood on 25 can never take a slot from a user who
// submits mail, nor the other way round. docs/limits.md has the numbers
// and how they were chosen.

const (
	budgetSMTP       = iota // port 25: concurrencyincoming
	budgetSubmission        // 587 and 465: concurrencysubmission
	numBudgets
)

var (
	budgetSettings = [numBudgets]string{"concurrencyincoming", "concurrencysubmission"}
	budgetNames    = [numBudgets]string{"smtp", "submission and smtps"}
)

func budgetOf(k Kind) int {
	if k == KindSMTP {
		return budgetSMTP
	}
	return budgetSubmission
}

// budget counts the sessions of one kind of listener and knows which are
// live, to shorten their timeouts when it comes under stress.
type budget struct {
	table    connlimit.Table
	stressed atomic.Bool
	mu       sync.Mutex // stress transitions and live
	live     map[*session]struct{}
}

func (c *Config) limits(b int) connlimit.Limits {
	total := c.MaxSessions
	if b == budgetSubmission {
		total = c.MaxSubmission
	}
	return connlimit.Limits{Total: total, PerClient: c.MaxPerIP, Rate: c.RatePerIP}
}

// admit decides on a new connection. Refused, it is answered and closed
// here, in the accept loop: the 421 fits in any socket's empty send
// buffer, so the write does not wait, and a flood slows its own accepts
// rather than piling up goroutines. Clients with RELAYCLIENT in tcp.smtp
// (the site's own hosts) are spared the per-address limits, not the
// budget.
func (s *Server) admit(c net.Conn, kind Kind, cfg *Config, remote netip.AddrPort, trusted bool) (*connlimit.Ticket, bool) {
	bi := budgetOf(kind)
	b := &s.budgets[bi]
	l := cfg.limits(bi)
	d, tk := b.table.Admit(connlimit.Key(remote.Addr()), trusted, l, s.Now())
	if tk != nil {
		s.checkStress(bi)
		return tk, true
	}
	r, reason := replyBusy, "busy"
	var why string
	switch d.Verdict {
	case connlimit.OverTotal:
		why = fmt.Sprintf("%d sessions, the budget of %s (%s %d) is used up", d.Sessions, budgetNames[bi], budgetSettings[bi], l.Total)
	case connlimit.OverClient:
		r, reason = replyBusyClient, "client_limit"
		why = fmt.Sprintf("%d sessions from %s already (concurrencyperip %d)", d.Client, clientName(remote.Addr()), l.PerClient)
	case connlimit.OverRate:
		r, reason = replyBusyRate, "rate_limit"
		why = fmt.Sprintf("%d connections from %s this minute (connectrateperip %d)", d.Attempts, clientName(remote.Addr()), l.Rate)
	}
	if d.Report {
		more := ""
		if d.Unreported > 0 {
			more = fmt.Sprintf("; %d more refused since the last report", d.Unreported)
		}
		how := fmt.Sprintf("with %d %s", r.Code, r.Enh)
		if kind == KindSMTPS {
			how = "(closed before TLS)"
		}
		s.Log.Printf("%s: refused on %s %s: %s%s", remote, kind, how, why, more)
	}
	s.Metrics.Inc(metrics.SMTPSessionsRefused, reason)
	refuse(c, kind, r)
	return nil, false
}

// clientName is what a per-address limit counts: the IPv4 address, or the
// IPv6 /64.
func clientName(ip netip.Addr) string {
	k := connlimit.Key(ip)
	if k.Addr().Is4() {
		return k.Addr().String()
	}
	return k.String()
}

// refuse answers a connection that gets no session (RFC 5321 3.8: 421 and
// close) and closes it. An implicit-TLS connection is closed without a
// word: plain text is not what its client expects, and a handshake only
// to refuse would be work done for whoever floods us.
func refuse(c net.Conn, kind Kind, r smtp.Reply) {
	defer c.Close()
	if kind == KindSMTPS {
		return
	}
	c.SetWriteDeadline(time.Now().Add(time.Second))
	c.Write(r.AppendTo(nil))
}

// release ends an admitted session's count.
func (s *Server) release(kind Kind, tk *connlimit.Ticket) {
	tk.Release()
	s.checkStress(budgetOf(kind))
}

// enlist and unlist keep the live sessions of a budget, for tighten.
func (s *Server) enlist(sess *session) {
	b := sess.budget
	b.mu.Lock()
	if b.live == nil {
		b.live = make(map[*session]struct{})
	}
	b.live[sess] = struct{}{}
	b.mu.Unlock()
}

func (s *Server) unlist(sess *session) {
	b := sess.budget
	b.mu.Lock()
	delete(b.live, sess)
	b.mu.Unlock()
}

// checkStress switches a budget's stress on or off after its count
// changed (connlimit.Stressed, with its hysteresis) and logs the change.
// When stress starts, the sessions already waiting get the short
// timeouts at once: a silent client blocked in a read with the normal
// 20 minutes would otherwise keep its slot that long.
func (s *Server) checkStress(bi int) {
	cfg := s.cfg.Load()
	b := &s.budgets[bi]
	b.mu.Lock()
	was := b.stressed.Load()
	n := b.table.Sessions()
	total := cfg.limits(bi).Total
	now := connlimit.Stressed(n, total, cfg.StressPercent, was)
	if now == was {
		b.mu.Unlock()
		return
	}
	b.stressed.Store(now)
	var live []*session
	if now {
		for sess := range b.live {
			live = append(live, sess)
		}
	}
	b.mu.Unlock()
	name := budgetNames[bi]
	if !now {
		s.Log.Printf("status: %s no longer under stress: %d of %d sessions; normal timeouts again", name, n, total)
		return
	}
	s.Log.Printf("status: %s under stress: %d of %d sessions (stressthreshold %d%%); timeouts now %v per command, %v per session",
		name, n, total, cfg.StressPercent, cfg.StressTimeout, cfg.StressSessionTimeout)
	for _, sess := range live {
		sess.tighten()
	}
}

// underStress: the session's budget is under stress.
func (s *session) underStress() bool {
	return s.budget != nil && s.budget.stressed.Load() && s.cfg.StressTimeout > 0
}

// timeouts are the per-read and per-session limits now: the stress ones
// when under stress and smaller.
func (s *session) timeouts() (perRead, whole time.Duration) {
	perRead, whole = s.cfg.Timeout, s.cfg.SessionTimeout
	if s.underStress() {
		perRead = min(perRead, s.cfg.StressTimeout)
		if st := s.cfg.StressSessionTimeout; st > 0 && (whole <= 0 || st < whole) {
			whole = st
		}
	}
	return perRead, whole
}

// tighten moves the read deadline of a session that is waiting now to the
// stress one, unless the one it has is sooner. It runs on another
// goroutine than the session's: it touches only the connection, which is
// safe for that, and the atomic readBy.
func (s *session) tighten() {
	perRead, whole := s.timeouts()
	d := time.Now().Add(perRead)
	if end := s.start.Add(whole); whole > 0 && end.Before(d) {
		d = end
	}
	if cur := s.readBy.Load(); cur != 0 && cur <= d.UnixNano() {
		return
	}
	s.tcp.SetReadDeadline(d)
}
