// Package smtpd is the SMTP server session (RFC 5321): it speaks the
// protocol, gathers facts for internal/policy, and streams accepted mail to
// the queue. It never writes queue files or reads mailboxes.
//
// SECURITY: runs as its own uid with no capabilities; everything it reads
// from the network goes through internal/smtp (grammar), internal/address
// (the one address parser) and internal/policy (decisions). It holds only
// its listening socket and a connection to the queue's submit socket.
package smtpd

import (
	"fmt"
	"path/filepath"
	"time"

	"goqmail/internal/control"
	"goqmail/internal/rcptcheck"
	"goqmail/internal/tcprules"
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
	Timeout        time.Duration // per read or write (timeoutsmtpd)
	SessionTimeout time.Duration
	GreetDelay     time.Duration
	MaxRcpt        int
	MaxSessions    int
	Rules          *tcprules.Rules // nil: no tcp.smtp, everyone may connect, nobody relays
	// Recipients checks that local and virtual recipients exist (550
	// 5.1.1 otherwise); nil: no check. MaxUnknownRcpt unknown ones end a
	// session (control/maxunknownrcpt).
	Recipients     *rcptcheck.Checker
	MaxUnknownRcpt int
}

// LoadConfig reads control/ and tcp.smtp, dir being ROOT/control: the
// recipient check reads ROOT's users/assign, vdir/ and vmail/ too.
// Warnings are for the log.
func LoadConfig(dir string) (*Config, []string, error) {
	s, err := control.Load(dir)
	if err != nil {
		return nil, nil, err
	}
	warnings := append([]string(nil), s.Warnings...)
	c := &Config{
		Me:             s.Line(control.Me),
		Greeting:       s.Line(control.SMTPGreeting),
		RcptHosts:      control.NewDomainSet(s.List(control.RcptHosts)),
		LocalIPHost:    s.Line(control.LocalIPHost),
		EnvNoAtHost:    s.Line(control.EnvNoAtHost),
		DataBytes:      s.Number(control.DataBytes),
		Timeout:        time.Duration(s.Number(control.TimeoutSMTPD)) * time.Second,
		SessionTimeout: time.Duration(s.Number(control.TimeoutSMTPSession)) * time.Second,
		GreetDelay:     time.Duration(s.Number(control.SMTPGreetDelay)) * time.Second,
		MaxRcpt:        int(s.Number(control.MaxRcpt)),
		MaxUnknownRcpt: int(s.Number(control.MaxUnknownRcpt)),
		MaxSessions:    int(s.Number(control.ConcurrencyIncoming)),
	}
	root, err := filepath.Abs(filepath.Dir(dir))
	if err != nil {
		return nil, nil, err
	}
	c.Recipients = recipientChecker(s, root)
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
	return c, warnings, nil
}
