package spp

import (
	"os"
	"strconv"
	"strings"
	"time"

	"goqmail/internal/smtp"
)

// Verdict is what the plugins of one command decided.
type Verdict int

const (
	// Continue: the command goes on to goqmail's own checks (no answer,
	// N, or A).
	Continue Verdict = iota
	// SkipChecks: O, accepted without the normal checks (at RCPT: the
	// relay and recipient checks).
	SkipChecks
	// Refuse: E (or a delayed L error, or a plugin that failed): Reply
	// answers the command; the session goes on.
	Refuse
	// Close: R (Reply is written) or D (nothing is), then the session
	// ends.
	Close
)

// Result is the plugins' decision on one command.
type Result struct {
	Verdict Verdict
	Reply   smtp.Reply
	Show    bool   // Close: write Reply first (R; D closes silently)
	Addr    string // C: the address as the plugins changed it; "" when unchanged
	Plugin  string // the plugin that decided (Plugin.Name)
	Why     string // for the log: how it decided, or why it failed
}

// AllowRoot lets plugins run when the caller is root. No check runs as
// root (smtpd has its own account); only tests, which may run as root,
// set it.
var AllowRoot = false

// ReplyFailed answers a command whose plugin could not run, timed out,
// crashed or answered nonsense (qmail-spp's "451 qmail-spp failure"); the
// details go to the log, not to the client.
var ReplyFailed = smtp.Reply{Code: 451, Enh: "4.3.0", Text: "temporary failure of a local policy plugin; try again later"}

// Session is the plugins' state over one SMTP session, as qmail-spp kept
// it in qmail-smtpd's globals.
type Session struct {
	Config  *Config
	Dir     string // the plugins' working directory: ROOT
	Timeout time.Duration
	// Env is the session's environment: tcpserver's variables, the
	// tcp.smtp rule's, and what the plugins set (S, U) and spp sets
	// (SMTPHELOHOST, ...). The caller shares it with its QMAILQUEUE program.
	Env map[string]string
	Log func(format string, args ...any)

	off          bool // A: no more plugins in this session
	headers      []byte
	delayed      [numStages]*delayed // LM, LR, LD
	rcptCount    int                 // recipients accepted in this transaction
	rcptCountAll int                 // recipients tried
}

// delayed is an error a plugin left for a later command (L).
type delayed struct {
	reply  smtp.Reply
	plugin string
}

// Connect runs the [connection] plugins, before the greeting.
func (s *Session) Connect() Result { return s.run(Connection, "") }

// Helo runs the [helo] plugins with SMTPHELOHOST.
func (s *Session) Helo(name string) Result {
	s.Env["SMTPHELOHOST"] = name
	return s.run(Helo, "")
}

// Mail runs the [mail] plugins with SMTPMAILFROM; a delayed error (LM)
// answers instead.
func (s *Session) Mail(sender string) Result {
	if r, ok := s.delayedError(Mail); ok {
		return r
	}
	s.rcptCount, s.rcptCountAll = 0, 0
	s.Env["SMTPMAILFROM"] = sender
	return s.run(Mail, "SMTPMAILFROM")
}

// Rcpt runs the [rcpt] plugins with SMTPRCPTTO, SMTPRCPTCOUNT (accepted so
// far), SMTPRCPTCOUNTALL (tried, this one included) and SMTPRCPTHOSTSOK
// (1 when goqmail's relay rules accept the domain); a delayed error (LR)
// answers instead. Call Accepted when the recipient is taken.
func (s *Session) Rcpt(rcpt string, hostsOK bool) Result {
	if r, ok := s.delayedError(Rcpt); ok {
		return r
	}
	s.rcptCountAll++
	s.Env["SMTPRCPTCOUNT"] = strconv.Itoa(s.rcptCount)
	s.Env["SMTPRCPTCOUNTALL"] = strconv.Itoa(s.rcptCountAll)
	s.Env["SMTPRCPTHOSTSOK"] = map[bool]string{true: "1", false: "0"}[hostsOK]
	s.Env["SMTPRCPTTO"] = rcpt
	return s.run(Rcpt, "SMTPRCPTTO")
}

// Accepted counts a recipient the session took.
func (s *Session) Accepted() { s.rcptCount++ }

// Data runs the [data] plugins; a delayed error (LD) answers instead.
func (s *Session) Data() Result {
	if r, ok := s.delayedError(Data); ok {
		return r
	}
	return s.run(Data, "")
}

// Headers returns the header lines the plugins added (H), for the top of
// the message after smtpd's Received line.
func (s *Session) Headers() []byte { return s.headers }

// Reset forgets the transaction's header lines, delayed errors and
// counts: at RSET and once the message's data has begun (spp_rset).
func (s *Session) Reset() {
	s.headers = nil
	s.delayed = [numStages]*delayed{}
	s.rcptCount, s.rcptCountAll = 0, 0
}

func (s *Session) delayedError(st Stage) (Result, bool) {
	if d := s.delayed[st]; d != nil {
		return Result{Verdict: Refuse, Reply: d.reply, Plugin: d.plugin, Why: "a delayed error (L" + strings.ToUpper(st.String()[:1]) + ")"}, true
	}
	return Result{}, false
}

// run runs the plugins of a stage in order until one decides. addrVar
// names the variable C changes (MAIL, RCPT).
func (s *Session) run(st Stage, addrVar string) Result {
	var res Result
	if s.off {
		return res
	}
	for _, p := range s.Config.Plugins(st) {
		if os.Geteuid() == 0 && !AllowRoot {
			s.Log("warning: plugin %s (%s): refusing to run a plugin as root", p.Name, st)
			return Result{Verdict: Refuse, Reply: ReplyFailed, Plugin: p.Name, Why: "root"}
		}
		out, errOut, err := run(p, s.Dir, s.Env, s.Timeout)
		for _, l := range lines(errOut) {
			s.Log("plugin %s: %s", p.Name, l)
		}
		if err != nil {
			s.Log("warning: plugin %s (%s): %v", p.Name, st, err)
			return Result{Verdict: Refuse, Reply: ReplyFailed, Plugin: p.Name, Why: "failed"}
		}
		if r, done := s.answer(p, st, addrVar, lines(out), &res); done {
			return r
		}
	}
	return res
}

// answer applies one plugin's lines in order (qmail-spp's spp()); done
// when a line ended the command's plugins.
func (s *Session) answer(p Plugin, st Stage, addrVar string, out []string, res *Result) (Result, bool) {
	var cont []string // P lines waiting for the E or R they continue
	failed := func(why string) (Result, bool) {
		s.Log("warning: plugin %s (%s): %s", p.Name, st, why)
		return Result{Verdict: Refuse, Reply: ReplyFailed, Plugin: p.Name, Why: "failed"}, true
	}
	for _, l := range out {
		if l == "" {
			continue
		}
		arg := l[1:]
		switch l[0] {
		case 'H':
			if err := checkHeaderLine(arg, len(s.headers) > 0); err != "" {
				s.Log("warning: plugin %s (%s): header line %q left out: %s", p.Name, st, arg, err)
				continue
			}
			s.headers = append(append(s.headers, arg...), '\n')
		case 'C':
			if addrVar != "" {
				res.Addr = arg
				s.Env[addrVar] = arg
			}
		case 'S':
			name, value, ok := strings.Cut(arg, "=")
			if !ok || name == "" {
				s.Log("warning: plugin %s (%s): %q is not NAME=value; ignored", p.Name, st, l)
				continue
			}
			s.Env[name] = value
		case 'U':
			delete(s.Env, arg)
		case 'A':
			s.off = true
			res.Plugin, res.Why = p.Name, "A: no more plugins this session"
			return *res, true
		case 'N':
			res.Plugin, res.Why = p.Name, "N"
			return *res, true
		case 'O':
			res.Verdict, res.Plugin, res.Why = SkipChecks, p.Name, "O: accepted without the normal checks"
			return *res, true
		case 'D':
			return Result{Verdict: Close, Plugin: p.Name, Why: "D"}, true
		case 'P':
			cont = append(cont, arg)
		case 'E', 'R':
			reply, err := smtp.ParseReply(strings.Join(append(cont, arg), "\n"))
			if err != nil || reply.Code < 400 {
				return failed("answer " + strconvQuote(l) + " is not a 4xx or 5xx SMTP reply")
			}
			v := Refuse
			if l[0] == 'R' {
				v = Close
			}
			return Result{Verdict: v, Reply: reply, Show: true, Plugin: p.Name, Why: l[:1]}, true
		case 'L':
			if len(arg) < 1 {
				continue
			}
			var at Stage
			switch arg[0] {
			case 'M':
				at = Mail
			case 'R':
				at = Rcpt
			case 'D':
				at = Data
			default:
				continue
			}
			reply, err := smtp.ParseReply(arg[1:])
			if err != nil || reply.Code < 400 {
				return failed("delayed error " + strconvQuote(l) + " is not a 4xx or 5xx SMTP reply")
			}
			// qmail-spp printed every one; one reply is all a command
			// gets, so the first stays.
			if s.delayed[at] == nil {
				s.delayed[at] = &delayed{reply, p.Name}
			}
		}
	}
	if len(cont) > 0 {
		s.Log("warning: plugin %s (%s): P lines without an E or R answer are not sent", p.Name, st)
	}
	return *res, false
}

// checkHeaderLine accepts a header field line for the stored message: a
// name and a colon, or a continuation of the line before; printable
// ASCII and tabs, nothing that could end the header or fold it wrongly.
func checkHeaderLine(l string, afterOne bool) string {
	if l == "" {
		return "empty"
	}
	for i := 0; i < len(l); i++ {
		if (l[i] < ' ' && l[i] != '\t') || l[i] == 0x7f {
			return "control byte"
		}
	}
	if l[0] == ' ' || l[0] == '\t' {
		if !afterOne {
			return "a continuation line with no field before it"
		}
		return ""
	}
	name, _, ok := strings.Cut(l, ":")
	if !ok || name == "" || strings.ContainsAny(name, " \t") {
		return "not Name: value"
	}
	return ""
}

func strconvQuote(s string) string {
	if len(s) > 100 {
		s = s[:100] + "..."
	}
	return strconv.Quote(s)
}
