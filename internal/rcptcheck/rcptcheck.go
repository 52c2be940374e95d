// Package rcptcheck tells the SMTP server, at RCPT time, whether a
// recipient at one of our own domains exists, so that mail for a
// nonexistent address is refused with 550 5.1.1 in the SMTP dialog instead
// of being accepted and bounced later. A bounce of spam goes to the forged
// sender, an innocent third party (backscatter); a refusal at RCPT leaves
// the problem with the client that tried (issue 5, part 4).
//
// The answer must agree with what delivery would do, so the check walks
// the same path the message would take: qmail-send's rewriting
// (internal/rewrite) picks the channel; a remote recipient is not our
// business (the relay rules already decided); a virtual one is resolved
// in the virtual directory (internal/vdir) and the domain's vpopmail-style
// .qmail files, as goqmail-local does; a local one is resolved as
// goqmail-lspawn resolves it (users/assign, then qmail-getpw's passwd
// rules, then the alias user) and, for an extension address, as
// goqmail-local's .qmail search (internal/dotqmail) and aliases file
// (internal/aliases) would.
//
// The check fails open on permission problems (the SMTP server runs as an
// unprivileged account and may not be able to read a home directory: the
// delivery, which can, decides later) and answers "try again later" on
// any other lookup failure. It never refuses an address because something
// could not be read, and never accepts one silently when a lookup broke.
//
// The package reads files but holds no global state: every cache lives in
// a Checker (whose sources cache by file identity) or a Session.
package rcptcheck

import (
	"errors"
	"io/fs"
	"strings"

	"goqmail/internal/assign"
	"goqmail/internal/dotqmail"
	"goqmail/internal/rewrite"
	"goqmail/internal/vdir"
)

// Verdict is the answer of a check.
type Verdict int

const (
	// NotLocal: the recipient is routed to another host; whether it
	// exists is not ours to say, and the relay rules already decided.
	NotLocal Verdict = iota
	// Exists: a delivery would find a user, a .qmail file, an alias or a
	// catch-all for it.
	Exists
	// Unverified: the check could not look (permission denied to the SMTP
	// server's account); accept and let the delivery decide.
	Unverified
	// NoSuch: no delivery could succeed; refuse with 550 5.1.1.
	NoSuch
	// TempFail: a lookup failed; answer 451 4.3.0 so the client retries.
	TempFail
)

var verdictNames = [...]string{"not local", "exists", "unverified", "no such user", "temporary failure"}

func (v Verdict) String() string {
	if v < 0 || int(v) >= len(verdictNames) {
		return "unknown verdict"
	}
	return verdictNames[v]
}

// Result is a verdict and what decided it, for the log (never for the
// client: it may name files and accounts).
type Result struct {
	Verdict Verdict
	Why     string
}

// AssignSource gives the current users/assign table; *assign.File is one.
// A nil table means no assignments.
type AssignSource interface {
	Table() (*assign.Table, error)
}

// Directory is the part of vdir.Directory the check uses.
type Directory interface {
	IsDomain(name string) (bool, error)
	Resolve(local, domain string) (vdir.Result, error)
}

// Checker decides whether recipients exist. Its fields are set once and
// not changed afterwards; a Checker may then be used by concurrent
// sessions. The SMTP server builds a new one with each configuration.
type Checker struct {
	// Rules route a recipient as goqmail-send will, with the virtual
	// directory attached (rewrite.Rules.WithDirectory). nil: nothing is
	// local and every recipient is NotLocal.
	Rules *rewrite.Rules

	// Directory resolves virtual recipients; nil: no virtual domains (a
	// recipient the routing still calls virtual is a temporary failure).
	Directory Directory
	// VmailRoot is ROOT/vmail, whose <domain>/ directories hold the
	// per-domain .qmail-<local> and .qmail-default files; "" = none.
	VmailRoot string

	// Assign is users/assign; nil: no assignments.
	Assign AssignSource
	// System is the passwd database and home directories (qmail-getpw);
	// nil: no passwd accounts.
	System assign.System
	// SingleUID > 0 restricts passwd matches to that uid, as the spawner
	// does in single-user mode; 0 or less: no restriction.
	SingleUID int
	// AliasUser receives what nobody owns (control/aliasuser; "" = none).
	AliasUser string
	// AliasesFile is control/aliases, the sendmail-style aliases file the
	// alias user's deliveries consult first; "" = none.
	AliasesFile string

	// OpenDir gives the file system of a home or domain directory for the
	// .qmail search; nil = dotqmail.Home (the real directory). Tests use
	// it to watch which directories are read.
	OpenDir func(dir string) fs.FS
}

// Check decides whether rcpt, an envelope recipient in the queue's form
// (local@domain, split at the last '@'), exists.
func (c *Checker) Check(rcpt string) Result {
	if c.Rules == nil {
		return Result{Verdict: NotLocal, Why: "no routing rules"}
	}
	r := c.Rules.Route(rcpt)
	switch {
	case r.Channel == rewrite.Remote:
		return Result{Verdict: NotLocal, Why: "remote"}
	case r.Virtual:
		return c.virtual(r.Addr)
	default:
		return c.local(r.Addr)
	}
}

// ServesDomain reports whether domain belongs to the virtual directory
// (alias domains included), for the relay decision: such a domain is ours
// from the moment it is made, without a line in rcpthosts or a reload. A
// nil Checker or one without a directory serves none. An error means the
// directory could not be read.
func (c *Checker) ServesDomain(domain string) (bool, error) {
	if c == nil || c.Directory == nil {
		return false, nil
	}
	return c.Directory.IsDomain(strings.ToLower(domain))
}

func (c *Checker) openDir(dir string) fs.FS {
	if c.OpenDir != nil {
		return c.OpenDir(dir)
	}
	return dotqmail.Home(dir)
}

// failure turns a lookup error into a verdict. Permission denied fails
// open: the SMTP server's account is not the one that delivers, and its
// being locked out of a home directory (mode 0700, the Debian default) says
// nothing about the address. Anything else is temporary: refusing would
// lose mail, accepting would bounce it later.
func failure(what string, err error) Result {
	if errors.Is(err, fs.ErrPermission) {
		return Result{Verdict: Unverified, Why: what + ": " + err.Error()}
	}
	return Result{Verdict: TempFail, Why: what + ": " + err.Error()}
}

// splitAddr splits an address at its last '@' (address.Split's rule, the
// one the spawner uses).
func splitAddr(s string) (local, domain string) {
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// lowerASCII lower-cases A-Z only, as qmail does (case_lowerb).
func lowerASCII(s string) string {
	b := []byte(s)
	for i, ch := range b {
		if 'A' <= ch && ch <= 'Z' {
			b[i] = ch + 'a' - 'A'
		}
	}
	return string(b)
}
