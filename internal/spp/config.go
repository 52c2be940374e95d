// Package spp runs qmail-spp plugins: qmail-spp (Paweł Foremski, 0.42),
// the SMTP plugin patch of qmail-smtpd, lets a site hang programs on the
// connection, HELO/EHLO, MAIL, RCPT and DATA. Each plugin runs with the
// session in its environment and answers on its standard output, one
// command per line (see Session). goqmail reads the same
// control/smtpplugins and speaks the same language, so a qmail site's
// plugins (vchkuser, greylisting and blocklist scripts) run unchanged.
//
// Differences from qmail-spp, each a decision: a plugin is bounded in time
// (control/timeoutplugin; qmail-spp waited forever); its standard input
// is /dev/null instead of closed; what it writes on standard error goes to
// smtpd's log; a malformed answer gets 451 instead of going to the client
// as it is; P lines only continue an E or R reply; O at MAIL skips no
// check (goqmail's sender checks guard AUTH on submission); the [auth]
// section of later patches is not supported and refused at load.
package spp

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"goqmail/internal/control"
)

// Stage is the SMTP moment a plugin runs at.
type Stage int

const (
	Connection Stage = iota // before the greeting
	Helo                    // HELO and EHLO
	Mail                    // MAIL, SMTPMAILFROM set
	Rcpt                    // RCPT, SMTPRCPTTO set
	Data                    // DATA, before 354
	numStages
)

var stageNames = [numStages]string{"connection", "helo", "mail", "rcpt", "data"}

func (s Stage) String() string { return stageNames[s] }

// Plugin is one line of smtpplugins.
type Plugin struct {
	Line  int
	Name  string // for the log: the program as written, FILE:LINE for a shell command
	Path  string // the program, absolute; "" for a shell command
	Shell string // the command after ':', run with /bin/sh -c
}

// Config is smtpplugins: the plugins of each stage, in file order.
type Config struct {
	File   string // "control/smtpplugins" or the SPPCONFFILE it came from
	stages [numStages][]Plugin
}

// Plugins returns the plugins of a stage.
func (c *Config) Plugins(s Stage) []Plugin {
	if c == nil {
		return nil
	}
	return c.stages[s]
}

// Empty reports a configuration without plugins.
func (c *Config) Empty() bool {
	for _, p := range c.stages {
		if len(p) > 0 {
			return false
		}
	}
	return true
}

// Fix says how to write smtpplugins, for error messages.
const Fix = "write a section line [connection], [helo], [mail], [rcpt] or [data], then one plugin per line: " +
	"a program (an absolute path or one relative to ROOT, executable) or :command for /bin/sh -c"

// Parse reads smtpplugins (items as control reads a list: comments and
// blank lines gone). Relative program paths are relative to root, where
// qmail-spp's were relative to /var/qmail. Programs must exist and be
// executable now: one that is missing would answer every command 451.
// Every bad line is a problem naming file and line.
func Parse(file string, items []control.Item, root string) (*Config, control.Problems) {
	c := &Config{File: file}
	var probs control.Problems
	stage := Stage(-1)
	bad := func(it control.Item, format string, args ...any) {
		probs = append(probs, control.Problem{File: file, Line: it.Line, What: fmt.Sprintf(format, args...), Fix: Fix})
	}
	for _, it := range items {
		t := it.Text
		if strings.HasPrefix(t, "[") {
			name, ok := strings.CutSuffix(t[1:], "]")
			stage = -1
			for s, n := range stageNames {
				if ok && strings.EqualFold(name, n) {
					stage = Stage(s)
				}
			}
			if stage < 0 {
				bad(it, "%q is not a section goqmail knows", t)
			}
			continue
		}
		if stage < 0 {
			bad(it, "plugin %q is not under a known section", t)
			continue
		}
		p := Plugin{Line: it.Line, Name: t}
		if cmd, ok := strings.CutPrefix(t, ":"); ok {
			if strings.TrimSpace(cmd) == "" {
				bad(it, "%q has no command after ':'", t)
				continue
			}
			p.Shell = cmd
			p.Name = fmt.Sprintf("%s:%d", file, it.Line)
		} else {
			if strings.ContainsAny(t, " \t") {
				bad(it, "%q: a program line is a path without arguments (write :command for a shell command)", t)
				continue
			}
			p.Path = t
			if !filepath.IsAbs(t) {
				p.Path = filepath.Join(root, t)
			}
			fi, err := os.Stat(p.Path)
			if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
				bad(it, "%s is not an executable file", p.Path)
				continue
			}
		}
		c.stages[stage] = append(c.stages[stage], p)
	}
	return c, probs
}

// Load reads smtpplugins from dir (ROOT/control) with Parse; a missing
// file is no plugins.
func Load(snap *control.Snapshot, root string) (*Config, control.Problems) {
	items, err := snap.ReadList(control.SMTPPlugins)
	if err != nil {
		return nil, control.Problems{{File: "control/smtpplugins", What: err.Error(), Fix: "make the file readable by smtpd's account"}}
	}
	return Parse("control/smtpplugins", items, root)
}

// LoadFile reads another plugin file (SPPCONFFILE in tcp.smtp), relative
// to root when not absolute, as qmail-spp read it relative to /var/qmail.
func LoadFile(name, root string) (*Config, control.Problems) {
	path := name
	if !filepath.IsAbs(path) {
		path = filepath.Join(root, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, control.Problems{{File: name, What: err.Error(), Fix: "create the file or remove SPPCONFFILE from tcp.smtp"}}
	}
	return Parse(name, control.Items(data), root)
}
