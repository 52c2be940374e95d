package smtpd

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"goqmail/internal/address"
	"goqmail/internal/spp"
	"goqmail/internal/tcprules"
)

// hooks is the filter state of one session (docs/antispam.md, "Filter
// hooks"): the environment its programs see, its qmail-spp plugins and
// its milters. nil for sendmail -bs sessions, which are local
// submissions like sendmail's and pass through no filter.
type hooks struct {
	cfg     *filterConfig
	env     map[string]string // tcpserver's variables, the tcp.smtp rule's, the plugins' S and U
	spp     *spp.Session      // nil: no plugins for this client
	milters []*milterState    // milter.go
	authSet bool              // the AUTH variables are in env
	sender  string            // the sender of the transaction, for the milters' log lines
}

// startHooks makes the session's hooks from its tcp.smtp rule: the
// variables tcpserver would have put in qmail-smtpd's environment, NOSPP
// and SPPCONFFILE (qmail-spp), NOMILTER.
func (s *session) startHooks(rule tcprules.Rule) {
	f := s.cfg.filters
	if f == nil || s.stdio {
		return
	}
	h := &hooks{cfg: f, env: map[string]string{
		"PATH":          "/usr/local/bin:/usr/bin:/bin",
		"GOQMAIL_ROOT":  f.root,
		"PROTO":         "TCP",
		"TCPLOCALIP":    s.local.Addr().String(),
		"TCPLOCALPORT":  strconv.Itoa(int(s.local.Port())),
		"TCPREMOTEIP":   s.remote.Addr().String(),
		"TCPREMOTEPORT": strconv.Itoa(int(s.remote.Port())),
	}}
	if f.qqProgram != "" {
		h.env["GOQMAIL_QMAILQUEUE"] = f.qqProgram
	}
	if tmp := os.Getenv("TMPDIR"); tmp != "" {
		h.env["TMPDIR"] = tmp
	}
	if s.relayClient {
		h.env["RELAYCLIENT"] = ""
	}
	for _, v := range rule.Vars {
		h.env[v.Name] = v.Value
	}
	plugins := f.plugins
	if name, ok := rule.Lookup("SPPCONFFILE"); ok && name != "" {
		plugins = f.pluginFiles[name]
	}
	if _, off := rule.Lookup("NOSPP"); !off && plugins != nil && !plugins.Empty() {
		h.spp = &spp.Session{Config: plugins, Dir: f.root, Timeout: f.pluginTimeout, Env: h.env,
			Log: func(format string, args ...any) {
				msg := fmt.Sprintf(format, args...)
				if rest, ok := strings.CutPrefix(msg, "warning: "); ok {
					s.srv.Log.Printf("warning: %s: %s", s.remote, rest)
					return
				}
				s.srv.Log.Printf("%s: %s", s.remote, msg)
			}}
	}
	if _, off := rule.Lookup("NOMILTER"); !off {
		for _, c := range f.milters {
			h.milters = append(h.milters, &milterState{cfg: c})
		}
	}
	s.hooks = h
}

// childEnv is the environment of the session's programs now: after AUTH
// it says who logged in, as qmail's AUTH patch did (TCPREMOTEINFO, and
// RELAYCLIENT since the client may relay), plus SMTPAUTHUSER.
func (s *session) childEnv() map[string]string {
	h := s.hooks
	if s.authUser != "" && !h.authSet {
		h.authSet = true
		h.env["TCPREMOTEINFO"] = s.authUser
		h.env["SMTPAUTHUSER"] = s.authUser
		h.env["RELAYCLIENT"] = ""
	}
	return h.env
}

// greet starts the hooks and answers the new connection: the greeting,
// unless a [connection] plugin answers in its place (qmail-spp's
// spp_connect: an E reply instead of the greeting, and the session goes
// on; R or D end it). It returns whether the session goes on.
func (s *session) greet(rule tcprules.Rule) bool {
	s.startHooks(rule)
	if s.hooks != nil && s.hooks.spp != nil {
		s.childEnv()
		switch res := s.hooks.spp.Connect(); res.Verdict {
		case spp.Refuse:
			s.pluginAnswer(res, "connection", "")
			return true
		case spp.Close:
			return s.pluginAnswer(res, "connection", "")
		}
	}
	s.reply(replyGreeting(s.cfg.Greeting))
	return true
}

// pluginsHelo runs the [helo] plugins; false when they answered HELO.
func (s *session) pluginsHelo(name string) bool {
	if s.hooks == nil || s.hooks.spp == nil {
		return true
	}
	s.childEnv()
	return s.pluginAnswer(s.hooks.spp.Helo(name), "helo", name)
}

// pluginsMail runs the [mail] plugins on the sender. It returns the
// sender, changed when a plugin said C, and false when they answered
// MAIL. O skips no check here (spp.go's package doc).
func (s *session) pluginsMail(sender string) (string, bool) {
	if s.hooks == nil || s.hooks.spp == nil {
		return sender, true
	}
	s.childEnv()
	res := s.hooks.spp.Mail(sender)
	if res.Addr != "" {
		a, _, err := address.ParsePath("<"+res.Addr+">", address.Options{AllowNull: true})
		if err != nil {
			res = s.pluginBadAddr(res, "mail", err)
		} else {
			sender = a.String()
		}
	}
	return sender, s.pluginAnswer(res, "mail", sender)
}

// pluginsRcpt runs the [rcpt] plugins on a recipient, with
// SMTPRCPTHOSTSOK saying whether goqmail's relay rules take its domain.
// It may change the address (C); skip reports O, under which the relay
// and recipient checks are skipped; ok is false when they answered RCPT.
func (s *session) pluginsRcpt(a *address.Addr) (skip, ok bool) {
	if s.hooks == nil || s.hooks.spp == nil {
		return false, true
	}
	s.childEnv()
	domain := a.Domain
	if domain == "" {
		domain = strings.ToLower(s.cfg.EnvNoAtHost)
	}
	hostsOK := s.mayRelay() || (s.cfg.RcptHosts != nil && s.cfg.RcptHosts.Match(domain))
	res := s.hooks.spp.Rcpt(a.String(), hostsOK)
	if res.Addr != "" {
		na, _, err := address.ParsePath("<"+res.Addr+">", address.Options{AllowNoDomain: true})
		if err != nil {
			res = s.pluginBadAddr(res, "rcpt", err)
		} else {
			*a = na
		}
	}
	if res.Verdict == spp.Refuse {
		s.srv.Log.Printf("%s: refused rcpt <%s> from <%s>: %d %s (plugin %s)", s.remote, a.String(), s.tx.sender, res.Reply.Code, res.Reply.Text, res.Plugin)
		s.rcptRefused(res.Reply)
		return false, false
	}
	return res.Verdict == spp.SkipChecks, s.pluginAnswer(res, "rcpt", a.String())
}

// pluginAccepted tells the plugins a recipient was taken
// (SMTPRCPTCOUNT).
func (s *session) pluginAccepted() {
	if s.hooks != nil && s.hooks.spp != nil {
		s.hooks.spp.Accepted()
	}
}

// pluginsData runs the [data] plugins, before 354; false when they
// answered DATA.
func (s *session) pluginsData() bool {
	if s.hooks == nil || s.hooks.spp == nil {
		return true
	}
	s.childEnv()
	if !s.pluginAnswer(s.hooks.spp.Data(), "data", s.tx.sender) {
		s.messageRefused("plugin")
		return false
	}
	return true
}

// pluginHeaders returns the plugins' header lines (H) for the message
// after smtpd's Received line, and starts the next transaction afresh
// (qmail-spp's spp_rset once the data begins).
func (s *session) pluginHeaders() []byte {
	if s.hooks == nil || s.hooks.spp == nil {
		return nil
	}
	h := s.hooks.spp.Headers()
	s.hooks.spp.Reset()
	return h
}

// resetHooks is RSET: the plugins' transaction state goes, and milters
// are told the transaction ended.
func (s *session) resetHooks() {
	if s.hooks == nil {
		return
	}
	if s.hooks.spp != nil {
		s.hooks.spp.Reset()
	}
	s.abortMilters()
}

// pluginAnswer carries out the plugins' decision on a command; it returns
// whether the command goes on. Every refusal is logged with the plugin
// that made it.
func (s *session) pluginAnswer(res spp.Result, stage, arg string) bool {
	switch res.Verdict {
	case spp.Refuse:
		// MAIL and DATA refusals in the lines the log parser knows for
		// them (docs/logs.md), the others as the plugin's.
		switch stage {
		case "mail":
			s.srv.Log.Printf("%s: refused sender <%s>: %d %s (plugin %s)", s.remote, arg, res.Reply.Code, res.Reply.Text, res.Plugin)
		case "data":
			s.srv.Log.Printf("%s: refused message from <%s>: %d %s (plugin %s)", s.remote, arg, res.Reply.Code, res.Reply.Text, res.Plugin)
		default:
			s.srv.Log.Printf("%s: plugin %s: refused %s %s: %d %s", s.remote, res.Plugin, stage, quoteLog(arg), res.Reply.Code, res.Reply.Text)
		}
		s.reply(res.Reply)
		return false
	case spp.Close:
		s.srv.Log.Printf("%s: plugin %s: dropped the session at %s %s", s.remote, res.Plugin, stage, quoteLog(arg))
		s.end = "dropped by plugin " + res.Plugin
		if res.Show {
			s.replyClose(res.Reply)
		} else {
			s.closed = true
		}
		return false
	}
	return true
}

// pluginBadAddr is a C line whose address does not parse: a broken
// plugin, answered like one.
func (s *session) pluginBadAddr(res spp.Result, stage string, err error) spp.Result {
	s.srv.Log.Printf("warning: %s: plugin %s: %s address %q from C does not parse: %v", s.remote, res.Plugin, stage, res.Addr, err)
	return spp.Result{Verdict: spp.Refuse, Reply: spp.ReplyFailed, Plugin: res.Plugin}
}

// closeHooks ends the session's milter connections.
func (s *session) closeHooks() {
	if s.hooks != nil {
		s.closeMilters()
	}
}
