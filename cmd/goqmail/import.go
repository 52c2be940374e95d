package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"goqmail/internal/accounts"
	"goqmail/internal/migrate"
	"goqmail/internal/vdir"
)

const importUsage = `usage: goqmail import [--dry-run] [--qmail QMAILDIR] [--vpopmail VPOPMAILDIR] -root ROOT
  Carry a qmail installation (QMAILDIR/control, QMAILDIR/users/assign; default /var/qmail)
  and a vpopmail tree (VPOPMAILDIR/domains; default /home/vpopmail) over to the goqmail
  installation ROOT: control files, users/assign, and in the virtual directory the same
  domains, alias domains, users (their password hashes where goqmail can verify them),
  quotas, aliases, catch-alls, .qmail instruction files and mailboxes (copied).
  Prints one line per action and, at the end, what could not be carried over.
  --dry-run    print what would be done, change nothing
  Running it again changes nothing that is there and copies only new messages.
  Exit: 0 everything carried over, 1 something could not be (listed), 100 usage, 111 trouble.
`

// importCmd runs `goqmail import ...`; see docs/commands.md.
func importCmd(args []string) {
	fl := flag.NewFlagSet("import", flag.ContinueOnError)
	fl.SetOutput(os.Stderr)
	fl.Usage = func() { fmt.Fprint(os.Stderr, importUsage) }
	dry := fl.Bool("dry-run", false, "")
	qmailDir := fl.String("qmail", "", "")
	vpopDir := fl.String("vpopmail", "", "")
	root := fl.String("root", "", "")
	if err := fl.Parse(args); err != nil {
		os.Exit(100)
	}
	switch {
	case fl.NArg() > 0:
		importFail(100, "unexpected argument %q", fl.Arg(0))
	case *root == "":
		importFail(100, "-root ROOT is required: the goqmail installation to import into")
	}
	given := map[string]bool{}
	fl.Visit(func(f *flag.Flag) { given[f.Name] = true })
	*qmailDir = sourceDir("qmail", *qmailDir, "/var/qmail", given["qmail"])
	*vpopDir = sourceDir("vpopmail", *vpopDir, "/home/vpopmail", given["vpopmail"])
	if *qmailDir == "" && *vpopDir == "" {
		importFail(100, "nothing to import: neither /var/qmail nor /home/vpopmail exists; give --qmail or --vpopmail")
	}
	if fi, err := os.Stat(*root); err != nil || !fi.IsDir() {
		importFail(111, "%s is not a goqmail installation directory: make it with goqmail install or goqmail init first", *root)
	}

	owner, ids := importOwner()
	dir := vdir.OpenFiles(filepath.Join(*root, "vdir"), filepath.Join(*root, "vmail"), ids.UID, ids.GID)
	rep, err := migrate.Run(migrate.Options{
		QmailDir: *qmailDir, VpopmailDir: *vpopDir, Root: *root,
		Dir: dir, Owner: owner, DryRun: *dry, Out: os.Stdout,
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
	if code == 100 {
		fmt.Fprint(os.Stderr, importUsage)
	}
	os.Exit(code)
}
