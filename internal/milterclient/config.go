// Package milterclient is smtpd's side of the milter protocol (Sendmail's
// mail filter protocol, version 6), so that rspamd, opendkim, ClamAV's and
// SpamAssassin's milters can judge the mail goqmail receives, as they do
// for Postfix (smtpd_milters) and Sendmail.
//
// The wire protocol is github.com/d--j/go-milter's client (v0.10.1),
// chosen over emersion/go-milter v0.5.0 because it speaks all of version
// 6: the DATA stage, the macros a milter asks for at negotiation (opendkim
// decides signing by {daemon_name} and {auth_authen}; rspamd logs {i} and
// reads {auth_authen}), a negotiation checked against what we offer, a
// state machine that refuses out-of-order calls; and it is maintained,
// with a server side that the tests use as a fake milter. emersion's
// client sends no macros and no DATA stage and trusts whatever the milter
// negotiates.
//
// This package adds what goqmail decides: the configuration line
// (control/milters), the session's facts as macros, the message as the
// milter expects it (header fields one by one, the body with CRLF in
// chunks), and the meaning of each answer as a Verdict with an SMTP reply.
package milterclient

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	milter "github.com/d--j/go-milter"

	"goqmail/internal/control"
)

// OnFail is what a milter that is down, slow or broken means.
type OnFail int

const (
	// FailTempfail answers 451 4.7.1 (Postfix's milter_default_action =
	// tempfail): the client retries, nothing unfiltered gets in.
	FailTempfail OnFail = iota
	// FailAccept goes on without the milter, as if it had said continue.
	FailAccept
)

func (o OnFail) String() string {
	if o == FailAccept {
		return "accept"
	}
	return "tempfail"
}

// SetWarn routes the library's own warnings (a milter that negotiated
// oddly, a macro list it sent wrong) to warn; by default they go nowhere,
// since the library's default writes unformatted lines to standard
// error, which is the program's log. Set it once, before any session.
func SetWarn(warn func(format string, args ...any)) {
	milter.LogWarning = func(format string, args ...any) { warn("milter: "+format, args...) }
}

func init() { milter.LogWarning = func(string, ...any) {} }

// DefaultTimeout bounds the connect and each answer of a milter (Postfix's
// milter_command_timeout and milter_connect_timeout are 30 s too).
const DefaultTimeout = 30 * time.Second

// Config is one line of control/milters.
type Config struct {
	Name    string // the address as written: inet:127.0.0.1:11332, unix:/run/x.sock
	Line    int
	Network string // "tcp" or "unix"
	Address string
	Timeout time.Duration
	OnFail  OnFail
}

// Fix says how to write a milters line, for error messages.
const Fix = "write inet:HOST:PORT or unix:/PATH, then optionally timeout=SECONDS and onfail=tempfail or onfail=accept, e.g. inet:127.0.0.1:11332 timeout=30 onfail=tempfail"

// ParseLine reads one line: the milter's address as Postfix writes it
// (inet:host:port, inet:[ipv6]:port, unix:/path) or as Sendmail does
// (inet:port@host, local:/path), then options.
func ParseLine(s string) (Config, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return Config{}, fmt.Errorf("empty line")
	}
	c := Config{Name: fields[0], Timeout: DefaultTimeout}
	kind, addr, ok := strings.Cut(fields[0], ":")
	if !ok {
		return Config{}, fmt.Errorf("%q has no inet: or unix: in front", fields[0])
	}
	switch kind {
	case "inet", "inet6", "tcp":
		if p, h, ok := strings.Cut(addr, "@"); ok { // Sendmail: port@host
			addr = net.JoinHostPort(h, p)
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil || host == "" {
			return Config{}, fmt.Errorf("%q: want inet:HOST:PORT", fields[0])
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return Config{}, fmt.Errorf("%q: %q is not a port number", fields[0], port)
		}
		c.Network, c.Address = "tcp", net.JoinHostPort(host, port)
	case "unix", "local":
		if !filepath.IsAbs(addr) {
			return Config{}, fmt.Errorf("%q: a socket path must be absolute", fields[0])
		}
		c.Network, c.Address = "unix", addr
	default:
		return Config{}, fmt.Errorf("%q: %q is not inet or unix", fields[0], kind)
	}
	for _, opt := range fields[1:] {
		k, v, ok := strings.Cut(opt, "=")
		switch {
		case !ok:
			return Config{}, fmt.Errorf("%q is not NAME=VALUE", opt)
		case k == "timeout":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 3600 {
				return Config{}, fmt.Errorf("timeout=%s: want seconds from 1 to 3600", v)
			}
			c.Timeout = time.Duration(n) * time.Second
		case k == "onfail" && v == "tempfail":
			c.OnFail = FailTempfail
		case k == "onfail" && v == "accept":
			c.OnFail = FailAccept
		case k == "onfail":
			return Config{}, fmt.Errorf("onfail=%s: want tempfail or accept", v)
		default:
			return Config{}, fmt.Errorf("unknown option %q (timeout=, onfail=)", k)
		}
	}
	return c, nil
}

// Load reads control/milters: every line must parse, and no milter may be
// listed twice. A missing file is no milters.
func Load(snap *control.Snapshot) ([]Config, control.Problems) {
	const file = "control/milters"
	items, err := snap.ReadList(control.Milters)
	if err != nil {
		return nil, control.Problems{{File: file, What: err.Error(), Fix: "make the file readable by smtpd's account"}}
	}
	var out []Config
	var probs control.Problems
	seen := map[string]int{}
	for _, it := range items {
		c, err := ParseLine(it.Text)
		if err != nil {
			probs = append(probs, control.Problem{File: file, Line: it.Line, What: err.Error(), Fix: Fix})
			continue
		}
		key := c.Network + " " + c.Address
		if first, dup := seen[key]; dup {
			probs = append(probs, control.Problem{File: file, Line: it.Line, What: fmt.Sprintf("%s is listed on line %d already", c.Name, first), Fix: "list each milter once"})
			continue
		}
		seen[key] = it.Line
		c.Line = it.Line
		out = append(out, c)
	}
	return out, probs
}
