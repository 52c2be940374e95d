// Package ctlcheck validates a goqmail configuration as a whole: every
// control file by its declaration (internal/control), the files that have
// parsers of their own by those parsers (tcp.smtp, smtproutes,
// servercert.pem, defaultdelivery, users/assign, the aliases file, the
// filter hooks: milters, smtpplugins, qmailqueue), the settings that only make sense together (TLS listeners and the
// certificate), and, for a root installation, whether the account of each
// program that reads a file may read it.
//
// It is what `goqmail check` runs, and what goqmaild runs (as the child
// `goqmail check -config ROOT`) before it starts anything and before it
// forwards a SIGHUP: goqmaild itself, a root program, links none of these
// parsers (internal/layering).
package ctlcheck

import (
	"path/filepath"

	"goqmail/internal/accounts"
	"goqmail/internal/control"
)

// Options adjust a check.
type Options struct {
	// Accounts, for a root installation, maps the programs that run under
	// an account of their own ("smtpd", "send", "remote", "queue",
	// "pop3d", "log") to its ids; each file is then checked to be readable by the
	// accounts of the programs that read it, as they run (one uid, one gid,
	// no supplementary groups). nil: everything runs as one user; no check.
	Accounts map[string]accounts.IDs
}

// Result is what a check found. Problems make the configuration unusable
// (goqmaild refuses to start, or to forward SIGHUP); warnings are for the
// administrator's eyes and change nothing.
type Result struct {
	Problems control.Problems
	Warnings []string
}

// Check validates the configuration under root (ROOT/control, ROOT/users).
func Check(root string, opt Options) Result {
	snap, probs := control.Inspect(filepath.Join(root, "control"))
	c := &checker{root: root, snap: snap, opt: opt, res: Result{Problems: probs, Warnings: snap.Warnings}}
	c.tcpRules()
	c.smtpRoutes()
	c.certificate()
	c.listeners()
	c.res.Problems = append(c.res.Problems, control.AuthProblems(snap)...)
	c.defaultDelivery()
	c.assign()
	c.aliases()
	c.checkPassword()
	c.filters()
	c.dkimKeys()
	c.srs()
	c.logs()
	c.readable()
	return c.res
}

// AccountsOf returns the ids of the accounts the supervisor runs the
// programs under, for Options.Accounts. An account that does not exist is
// left out (the supervisor reports it when it starts).
func AccountsOf() map[string]accounts.IDs {
	out := map[string]accounts.IDs{}
	for prog, a := range programAccounts {
		if ids, err := accounts.Lookup(*a); err == nil {
			out[prog] = ids
		}
	}
	return out
}

// programAccounts are the programs with an account of their own
// (internal/supervise's service table). The supervisor, the spawner and
// the auth service run as root; deliveries as the recipient.
var programAccounts = map[string]*accounts.Account{
	"smtpd": &accounts.SMTPD, "queue": &accounts.Queue, "send": &accounts.Send,
	"remote": &accounts.Remote, "pop3d": &accounts.POP3, "log": &accounts.Log, "dkimsign": &accounts.DKIM, "acme": &accounts.ACME,
	"web": &accounts.Web,
}

type checker struct {
	root string
	snap *control.Snapshot
	opt  Options
	res  Result
}

func (c *checker) problem(p control.Problem) { c.res.Problems = append(c.res.Problems, p) }
func (c *checker) warn(p control.Problem)    { c.res.Warnings = append(c.res.Warnings, p.String()) }

// path is the absolute path of a file relative to the root.
func (c *checker) path(rel string) string { return filepath.Join(c.root, rel) }
