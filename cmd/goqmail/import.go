package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"goqmail/internal/accounts"
	"goqmail/internal/migrate"
	"goqmail/internal/rootdir"
	"goqmail/internal/vdir"
)

const importUsage = `usage: goqmail import [--dry-run] [--qmail QMAILDIR] [--vpopmail VPOPMAILDIR] [-root ROOT]
  Carry a qmail installation (QMAILDIR/control, QMAILDIR/users/assign; default /var/qmail)
  and a vpopmail tree (VPOPMAILDIR/domains; default /home/vpopmail) over to the goqmail
  installation ROOT: control files, users/assign, and in the virtual directory the same
  domains, alias domains, users (their password hashes where goqmail can verify them),
  quotas, aliases, catch-alls, .qmail instruction files and mailboxes (copied).
  Prints one line per action and, at the end, what could not be carried over and a
  summary; progress on long imports goes to standard error.
  --dry-run    print what would be done, change nothing
  Running it again changes nothing that is there and copies only new messages; every
  mailbox's Maildir++ maildirsize is recounted from what the mailbox holds.
  Exit: 0 everything carried over, 1 something could not be (listed), 100 usage, 111 trouble.
` + rootHelp

// importCmd runs `goqmail import ...`; see docs/commands.md. ROOT follows
// the rule of every command (it used to be required as -root: an import
// into /var/goqmail by default is what a system installation wants, and
// the directory must already be an installation).
func importCmd(c *call) {
	fl := flag.NewFlagSet("import", flag.ContinueOnError)
	fl.SetOutput(io.Discard) // usageFail says what is wrong, once
	dry := fl.Bool("dry-run", false, "")
	qmailDir := fl.String("qmail", "", "")
	vpopDir := fl.String("vpopmail", "", "")
	// Say "unknown option --x" for what flag calls "flag provided but
	// not defined: -x", and never take an option for a directory.
	for i := 0; i < len(c.args); i++ {
		a := c.args[i]
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name, _, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f := fl.Lookup(name)
		switch {
		case f == nil:
			usageFail(c.cmd, "unknown option %s", a)
		case name != "dry-run" && !hasVal && i+1 < len(c.args):
			i++
			if err := rootdir.CheckDir(a, c.args[i]); err != nil {
				usageFail(c.cmd, "%v", err)
			}
		}
	}
	if err := fl.Parse(c.args); err != nil {
		usageFail(c.cmd, "%v", err)
	}
	if fl.NArg() > 0 {
		usageFail(c.cmd, "unexpected argument %q", fl.Arg(0))
	}
	given := map[string]bool{}
	fl.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, p := range []struct {
		name string
		dir  string
	}{{"qmail", *qmailDir}, {"vpopmail", *vpopDir}} {
		if given[p.name] {
			if err := rootdir.CheckDir("--"+p.name, p.dir); err != nil { // --qmail=
				usageFail(c.cmd, "%v", err)
			}
		}
	}
	root := c.root
	if fi, err := os.Stat(filepath.Join(root, "control")); err != nil || !fi.IsDir() {
		importFail(111, "%s is not a goqmail installation (it has no control/): make it with goqmail install or goqmail init first, or give -root ROOT", root)
	}
	*qmailDir = sourceDir("qmail", *qmailDir, "/var/qmail", given["qmail"])
	*vpopDir = sourceDir("vpopmail", *vpopDir, "/home/vpopmail", given["vpopmail"])
	if *qmailDir == "" && *vpopDir == "" {
		usageFail(c.cmd, "nothing to import: neither /var/qmail nor /home/vpopmail exists; give --qmail or --vpopmail")
	}

	owner, ids := importOwner()
	dir := vdir.OpenFiles(filepath.Join(root, "vdir"), filepath.Join(root, "vmail"), ids.UID, ids.GID)
	rep, err := migrate.Run(migrate.Options{
		QmailDir: *qmailDir, VpopmailDir: *vpopDir, Root: root,
		Dir: dir, Owner: owner, DryRun: *dry, Out: os.Stdout, Progress: os.Stderr,
	})
	if err != nil {
		importFail(111, "%v", err)
	}
	if !rep.Complete() {
		os.Exit(1)
	}
}

// sourceDir is a source directory to read, or "" to skip it: a default
// that does not exist is skipped (with a note), a given one must exist.
func sourceDir(what, dir, def string, given bool) string {
	if !given {
		dir = def
	}
	_, err := os.Stat(dir)
	switch {
	case err == nil:
		return dir
	case given:
		importFail(111, "--%s %s: %v", what, dir, err)
	case errors.Is(err, fs.ErrNotExist):
		fmt.Printf("no %s installation at %s: not imported (give --%s DIR)\n", what, def, what)
		return ""
	default:
		importFail(111, "%s: %v", dir, err)
	}
	return ""
}

// importOwner is the account that owns the virtual mailboxes: goqmailv
// when run as root (vpopmail's vpopmail user), otherwise the running
// user, who plays every account in a single-user installation.
func importOwner() (*migrate.Owner, accounts.IDs) {
	if os.Geteuid() != 0 {
		return nil, accounts.Current()
	}
	ids, err := accounts.Lookup(accounts.Virtual)
	if err != nil {
		importFail(111, "%v", err)
	}
	return &migrate.Owner{UID: ids.UID, GID: ids.GID}, ids
}

func importFail(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "goqmail import: "+format+"\n", args...)
	os.Exit(code)
}
