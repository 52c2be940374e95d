package smtpd

import (
	"bufio"
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
	"goqmail/internal/connlimit"
	"goqmail/internal/greylist"
	"goqmail/internal/logline"
	"goqmail/internal/metrics"
	"goqmail/internal/policydns"
	"goqmail/internal/submit"
	"goqmail/internal/tcprules"
)

// Server accepts SMTP connections on listeners handed to it.
type Server struct {
	SubmitSocket string
	Log          *logline.Logger
	Now          func() time.Time
	// Auth verifies SMTP AUTH logins; nil: AUTH is not offered at all.
	Auth Authenticator
	// Grants answers POP-before-SMTP; nil: no grants.
	Grants RelayGrants
	// MessageChecks start the checks of each message (msgcheck.go);
	// DropHeaders remove header fields a client must not be able to
	// forge from the stored copy. Both are set before serving.
	MessageChecks []MessageCheckFactory
	DropHeaders   []HeaderDropper
	// QueueFree returns the bytes free on the queue's file system, for
	// the check at MAIL (control/queueminfree); nil: no check.
	QueueFree func() (int64, error)
	// Metrics receives the counts of docs/metrics.md; nil: none.
	Metrics *metrics.Client
	// DNS answers every policy lookup: the checks at RCPT (checks.go) and
	// SPF, DKIM and DMARC (msgauth.go, authcheck.go); nil: a
	// policydns.Resolver made by SetConfig from control/dnsservers (or
	// GOQMAIL_DNS), with its cache.
	DNS policydns.DNS

	// dmarcSample draws for a DMARC record's pct= (nil: at random).
	dmarcSample func() int

	cfg      atomic.Pointer[Config]
	greylist atomic.Pointer[greylist.Store] // checkstate.go
	rates    rateTables                     // checks.go
	qpool    chan *submit.Conn              // idle queue connections (submit.go)
	budgets  [numBudgets]budget             // sessions per kind of listener (limits.go)
	once     sync.Once
	sessions atomic.Int64
	wg       sync.WaitGroup
	closing  atomic.Bool
}

// SetConfig installs a configuration; sessions started afterwards use it.
// A renewed certificate that fails to load is reported to the log.
func (s *Server) SetConfig(c *Config) {
	if st := c.tlsStore; st != nil && st.Warn == nil && s.Log != nil {
		st.Warn = func(err error) { s.Log.Printf("warning: %v", err) }
	}
	s.init()
	s.cfg.Store(c)
	s.setChecks(c)
}

// Serve accepts SMTP connections (KindSMTP) until ln is closed.
func (s *Server) Serve(ln net.Listener) error { return s.ServeKind(ln, KindSMTP) }

// ServeKind accepts connections of the given kind until ln is closed.
func (s *Server) ServeKind(ln net.Listener, kind Kind) error {
	s.init()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			time.Sleep(50 * time.Millisecond) // EMFILE: let sessions finish
			continue
		}
		if s.closing.Load() {
			// Stopping: the supervisor's copy of the listener keeps the
			// port open until smtpd has exited, so a client that connects
			// now is told at once instead of waiting for a greeting that
			// never comes. Not counted: Shutdown waits for real sessions.
			refuse(c, kind, replyShutdown)
			continue
		}
		a := accepted{cfg: s.cfg.Load(), remote: addrPort(c.RemoteAddr())}
		if rules := a.cfg.Rules; rules != nil {
			a.rule, a.ruled = rules.Lookup(a.remote.Addr())
		}
		// A client tcp.smtp denies is told so in handle and counts
		// against no limit: it costs one reply.
		if !a.ruled || a.rule.Allow {
			_, trusted := a.rule.Lookup("RELAYCLIENT")
			var ok bool
			if a.ticket, ok = s.admit(c, kind, a.cfg, a.remote, a.ruled && trusted); !ok {
				continue
			}
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			if a.ticket != nil {
				defer s.release(kind, a.ticket)
			}
			s.handle(c, kind, a)
		}()
	}
}

// accepted is what the accept loop learnt about a connection.
type accepted struct {
	cfg    *Config
	remote netip.AddrPort
	rule   tcprules.Rule // the tcp.smtp line that matched, if ruled
	ruled  bool
	ticket *connlimit.Ticket // the connection's place in its budget; nil: denied
}

// Shutdown stops new sessions from starting mail and waits up to timeout
// for running ones (a message being received completes; the client gets its
// 250 or an error, never silence after the dot).
func (s *Server) Shutdown(timeout time.Duration) {
	s.closing.Store(true)
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
	}
	s.FlushGreylist()
}

func (s *Server) init() {
	s.once.Do(func() {
		if s.Now == nil {
			s.Now = time.Now
		}
		s.qpool = make(chan *submit.Conn, 64)
	})
}

// Session buffers are reused: with one connection per message (the common
// case for SMTP clients) allocating them anew costs more than the session.
var (
	readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 16<<10) }}
	writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4<<10) }}
)

func (s *Server) handle(c net.Conn, kind Kind, a accepted) {
	s.init()
	cfg := a.cfg
	n := s.sessions.Add(1)
	s.Metrics.Set(metrics.SMTPSessionsActive, float64(n))
	defer func() { s.Metrics.Set(metrics.SMTPSessionsActive, float64(s.sessions.Add(-1))) }()
	s.Metrics.Inc(metrics.SMTPSessions, kind.String())
	sess := &session{srv: s, cfg: cfg, conn: c, tcp: c, start: s.Now(), kind: kind}
	sess.remote = a.remote
	sess.local = addrPort(c.LocalAddr())
	if a.ticket != nil {
		sess.budget = &s.budgets[budgetOf(kind)]
		s.enlist(sess)
		defer s.unlist(sess)
	}
	sess.br = readers.Get().(*bufio.Reader)
	sess.br.Reset(deadlineConn{sess})
	sess.bw = writers.Get().(*bufio.Writer)
	sess.bw.Reset(c)
	defer func() {
		sess.br.Reset(nil)
		sess.bw.Reset(nil)
		readers.Put(sess.br)
		writers.Put(sess.bw)
	}()
	// A TLS session ends with close_notify (RFC 8446 6.1) before the TCP
	// connection closes; closing only the raw connection looks like a
	// truncation attack to the client.
	defer func() {
		if tc, ok := sess.conn.(*tls.Conn); ok {
			tc.Close()
		}
	}()
	defer sess.logEnd()

	if kind == KindSMTPS && !sess.implicitTLS() {
		return
	}
	if rule := a.rule; a.ruled {
		if !rule.Allow {
			sess.end = "denied by tcp.smtp line " + strconv.Itoa(rule.Line)
			s.Metrics.Inc(metrics.SMTPSessionsRefused, "denied")
			sess.replyClose(replyDenied)
			return
		}
		if _, ok := rule.Lookup("RELAYCLIENT"); ok {
			sess.relayClient = true
		}
		sess.rblsmtpd, sess.rblsmtpdSet = rule.Lookup("RBLSMTPD")
		if v, ok := rule.Lookup("DATABYTES"); ok {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				sess.dataBytes = &n
			}
		}
	}
	sess.checkGrant()
	if s.closing.Load() {
		s.Metrics.Inc(metrics.SMTPSessionsRefused, "shutdown")
		sess.replyClose(replyShutdown)
		return
	}
	if sess.talkedFirst() {
		s.Metrics.Inc(metrics.SMTPSessionsRefused, "pregreet")
		sess.end = "dropped: talked before the greeting"
		sess.replyClose(replyPregreet)
		return
	}
	defer sess.closeHooks()
	if sess.greet(a.rule) { // filters.go: the greeting, or a qmail-spp [connection] plugin's answer
		sess.loop()
	}
}

// talkedFirst reports whether the client sent anything before our greeting
// (RFC 5321 3.1: the client waits for it). With a greet delay it waits that
// long for the client to give itself away; without one it only looks at
// what has already arrived, without blocking. The delay is for strangers on
// port 25, as postscreen's greet wait: a user's mail program on submission,
// the site's own hosts (RELAYCLIENT, a POP-before-SMTP grant) and partners
// (RBLSMTPD="") are greeted at once.
func (sess *session) talkedFirst() bool {
	partner := sess.rblsmtpdSet && sess.rblsmtpd == ""
	if d := sess.cfg.GreetDelay; d > 0 && sess.kind == KindSMTP && !sess.mayRelay() && !partner {
		sess.greetUntil = time.Now().Add(d)
		_, err := sess.br.Peek(1)
		sess.greetUntil = time.Time{}
		return err == nil
	}
	return peekNow(sess.conn)
}

// peekNow checks for pending bytes with a non-blocking MSG_PEEK.
func peekNow(c net.Conn) bool {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return false
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return false
	}
	pending := false
	raw.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		pending = err == nil && n > 0
		return true
	})
	return pending
}

func addrPort(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		ap := ta.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}
