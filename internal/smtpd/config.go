// Package smtpd is the SMTP server session (RFC 5321): it speaks the
// protocol, gathers facts for internal/policy, and streams accepted mail to
// the queue. It never writes queue files or reads mailboxes.
//
// SECURITY: runs as its own uid with no capabilities; everything it reads
// from the network goes through internal/smtp (grammar), internal/address
// (the one address parser) and internal/policy (decisions). It holds its
// listening sockets, connections to the queue's submit socket and to the
// auth service (which alone sees password databases), and reads the TLS
// key in control/servercert.pem. Passwords pass through it to the auth
// service and are never logged. The site's filter hooks run under its
// account, never as root: QMAILQUEUE programs and qmail-spp plugins as
// children in process groups of their own, bounded in time, and milters
// over sockets (filters.go, qmailqueue.go, milter.go).
package smtpd

import (
	"crypto/tls"
	"fmt"
	"path/filepath"
	"time"

	"goqmail/internal/control"
	"goqmail/internal/rcptcheck"
	"goqmail/internal/srs"
	"goqmail/internal/tcprules"
	"goqmail/internal/tlsconf"
)

// Config is everything a session reads, taken from one control snapshot so
// a reload (SIGHUP) switches all of it at once.
type Config struct {
	Me             string
	Greeting       string
	RcptHosts      *control.DomainSet
	LocalIPHost    string
	EnvNoAtHost    string
	DataBytes      int64
	QueueMinFree   int64         // control/queueminfree (Server.QueueFree)
	Timeout        time.Duration // per read or write (timeoutsmtpd)
	SessionTimeout time.Duration
	GreetDelay     time.Duration
	MaxRcpt        int
	Rules          *tcprules.Rules // nil: no tcp.smtp, everyone may connect, nobody relays
	// Connection limits (limits.go, docs/limits.md): a budget of
	// sessions for port 25 and one for submission (587 and 465), and per
	// client address on each.
	MaxSessions          int // concurrencyincoming: port 25
	MaxSubmission        int // concurrencysubmission: 587 and 465 together
	MaxPerIP             int // concurrencyperip; 0: none
	RatePerIP            int // connectrateperip, connections per minute; 0: none
	StressPercent        int // stressthreshold
	StressTimeout        time.Duration
	StressSessionTimeout time.Duration
	// Recipients checks that local and virtual recipients exist (550
	// 5.1.1 otherwise); nil: no check. MaxUnknownRcpt unknown ones end a
	// session (control/maxunknownrcpt).
	Recipients *rcptcheck.Checker
	// SRS checks bounces to SRS addresses of ours at RCPT (rcptexists.go);
	// nil: SRS off.
	SRS            *srs.Codec
	MaxUnknownRcpt int
	// TLS serves control/servercert.pem for STARTTLS and smtps; nil: no
	// certificate, no TLS (internal/tlsconf rereads a renewed file itself).
	TLS      *tls.Config
	tlsStore *tlsconf.Store // to log a renewal that failed (Server.SetConfig)
	// AuthPlaintext (control/authplaintext = 1) offers AUTH on connections
	// without TLS too. AuthSenders (control/authsenders, default 1) limits
	// an authenticated client to the envelope senders it owns.
	AuthPlaintext bool
	AuthSenders   bool
	// Auth is content authentication: SPF, DKIM, DMARC (msgauth.go).
	Auth authConfig
	// Checks are the checks before a recipient is accepted: DNSBL,
	// badmailfrom, rate limits, greylisting (checksconfig.go).
	Checks Checks
	// filters: the QMAILQUEUE program, milters and qmail-spp plugins
	// (filterconfig.go); nil: none.
	filters *filterConfig
}

// LoadConfig reads control/ and tcp.smtp, dir being ROOT/control: the
// recipient check reads ROOT's users/assign, vdir/ and vmail/ too.
// Warnings are for the log.
func LoadConfig(dir string) (*Config, []string, error) { return loadConfig(dir, true) }

// LoadLocalConfig is LoadConfig without the filter hooks, for sendmail
// -bs: a local submission passes through none (filters.go), and the user
// running it need not be able to read their files.
func LoadLocalConfig(dir string) (*Config, []string, error) { return loadConfig(dir, false) }

func loadConfig(dir string, hooks bool) (*Config, []string, error) {
	s, err := control.Load(dir)
	if err != nil {
		return nil, nil, err
	}
	warnings := append([]string(nil), s.Warnings...)
	c := &Config{
		Me:                   s.Line(control.Me),
		Greeting:             s.Line(control.SMTPGreeting),
		RcptHosts:            control.NewDomainSet(s.List(control.RcptHosts)),
		LocalIPHost:          s.Line(control.LocalIPHost),
		EnvNoAtHost:          s.Line(control.EnvNoAtHost),
		DataBytes:            s.Number(control.DataBytes),
		QueueMinFree:         s.Number(control.QueueMinFree),
		Timeout:              time.Duration(s.Number(control.TimeoutSMTPD)) * time.Second,
		SessionTimeout:       time.Duration(s.Number(control.TimeoutSMTPSession)) * time.Second,
		GreetDelay:           time.Duration(s.Number(control.SMTPGreetDelay)) * time.Second,
		MaxRcpt:              int(s.Number(control.MaxRcpt)),
		MaxUnknownRcpt:       int(s.Number(control.MaxUnknownRcpt)),
		MaxSessions:          int(s.Number(control.ConcurrencyIncoming)),
		MaxSubmission:        int(s.Number(control.ConcurrencySubmission)),
		MaxPerIP:             int(s.Number(control.ConcurrencyPerIP)),
		RatePerIP:            int(s.Number(control.ConnectRatePerIP)),
		StressPercent:        int(s.Number(control.StressThreshold)),
		StressTimeout:        time.Duration(s.Number(control.TimeoutSMTPDStress)) * time.Second,
		StressSessionTimeout: time.Duration(s.Number(control.TimeoutSMTPSessionStress)) * time.Second,
	}
	root, err := filepath.Abs(filepath.Dir(dir))
	if err != nil {
		return nil, nil, err
	}
	c.Recipients = recipientChecker(s, root)
	if c.SRS, err = srs.Load(s); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", control.ErrInvalid, err)
	}
	if err := loadTLSAuth(c, s); err != nil {
		return nil, nil, err
	}
	if err := loadAuth(c, s); err != nil {
		return nil, nil, err
	}
	if err := loadChecks(c, s, root); err != nil {
		return nil, nil, err
	}
	if c.RcptHosts.Len() == 0 {
		warnings = append(warnings, "control/rcpthosts is missing or empty: no recipient domain is accepted except from RELAYCLIENT addresses")
	}
	if path, ok := s.Present(control.TCPRules); ok {
		rules, ws, err := tcprules.ParseFile(path)
		if err != nil {
			return nil, nil, fmt.Errorf("control/tcp.smtp: %w", err)
		}
		for _, w := range ws {
			warnings = append(warnings, "control/tcp.smtp: "+w.String())
		}
		c.Rules = rules
	}
	if hooks {
		ws, err := loadFilters(c, s, root)
		if err != nil {
			return nil, nil, err
		}
		warnings = append(warnings, ws...)
	}
	return c, warnings, nil
}
