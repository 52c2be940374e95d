package main

import (
	"fmt"
	"os"
	"path/filepath"

	"goqmail/internal/admin"
	"goqmail/internal/control"
)

// rootArgHelp ends the usage of the commands that take ROOT as their
// argument.
const rootArgHelp = "ROOT: the argument, else -root ROOT, else $GOQMAIL_ROOT, else /var/goqmail.\n"

const initUsage = `usage: goqmail init DIR
  Make a self-contained server directory for the invoking user: control/ (domain
  example.test), users/assign with the demo user, home/demo/Maildir, the alias user's
  home/alias (postmaster, abuse, root, mailer-daemon go to the demo user), SMTP on
  $GOQMAIL_LISTEN or 127.0.0.1:2525; submission, POP3 and the web on
  $GOQMAIL_LISTEN_SUBMISSION, $GOQMAIL_LISTEN_POP3 and $GOQMAIL_LISTEN_WEB if set. With
  the web it also makes the virtual user demo@virtual.test, a web site administrator
  (control/webadmins), with a random password it prints and keeps in DIR/webpassword.
  As root it also creates the system accounts. An existing directory is left as it is.
DIR: the argument, else -root DIR, else $GOQMAIL_ROOT (there is no default).
`

const installUsage = `usage: goqmail install [-systemd] [-links] [-mx -cert FILE [-key FILE]]
                       [-destdir DIR] [-mandir DIR] [ROOT]
  As root: create goqmail's groups and accounts, the directories with their owners and
  modes, the programs in ROOT/bin, the man pages in ROOT/man, control/me, locals and
  rcpthosts from the host name when missing, and the alias user (control/aliasuser,
  default alias) with ROOT/alias/Maildir and .qmail-postmaster, -abuse, -root and
  -mailer-daemon, so postmaster@ works from the start (RFC 5321 4.5.1). Then runs
  goqmail check. Idempotent: run it again to repair. Prints what it does.
  By default the server listens for SMTP on port 25 of every address, nothing else.
  -systemd     write /etc/systemd/system/goqmail.service (ExecStart ROOT/bin/goqmaild)
  -links       point /usr/sbin/sendmail, /usr/bin/mailq and /usr/bin/newaliases at
               ROOT/bin (Debian's update-alternatives "mta" group where present;
               another MTA's program is never replaced)
  -mx          listen as a real MX: SMTP 25, submission 587 and 465, POP3 110 and 995
               on every address; needs -cert
  -cert FILE   the TLS certificate chain (PEM), with its private key unless -key FILE;
               copied to control/servercert.pem (0640 root:goqmailnf)
  -destdir DIR put the unit, the links and -mandir under DIR (a staged tree; no
               update-alternatives)
  -mandir DIR  the man pages go to DIR/man8 instead of ROOT/man/man8
` + rootArgHelp

const uninstallUsage = `usage: goqmail uninstall [-destdir DIR] [-mandir DIR] [ROOT]
  As root, with goqmaild stopped: remove what goqmail install put in place, the programs
  (ROOT/bin), the man pages, the systemd unit and the sendmail, mailq and newaliases
  links (-destdir and -mandir as given to install). Keeps the mail (ROOT/queue, the
  mailboxes, ROOT/vmail), the configuration (ROOT/control, users, vdir) and goqmail's
  accounts: goqmail install ROOT puts the programs back.
` + rootArgHelp

const checkUsage = `usage: goqmail check [-config] [ROOT]
  Verify an installation like qmail's instcheck: accounts, every directory and program
  with its owner and mode, every configuration file (its validator), and that
  postmaster@ is deliverable. -config: the configuration files only (goqmaild runs
  this before it starts and before it forwards SIGHUP).
  Prints each problem with its fix. Exit 0 ok, 111 problems found.
` + rootArgHelp

const showctlUsage = `usage: goqmail showctl [ROOT]
  Print every control setting, its effective value and where it came from.
` + rootArgHelp

func initCmd(c *call) {
	if err := admin.Init(c.root, admin.InitOptions{Listen: os.Getenv("GOQMAIL_LISTEN"),
		Submission: os.Getenv("GOQMAIL_LISTEN_SUBMISSION"), POP3: os.Getenv("GOQMAIL_LISTEN_POP3"),
		Web: os.Getenv("GOQMAIL_LISTEN_WEB")}, os.Stdout); err != nil {
		fail("init %s: %v", c.root, err)
	}
}

func installCmd(c *call) {
	exe, err := os.Executable()
	if err != nil {
		fail("install: cannot find this program's directory to copy the programs from: %v", err)
	}
	opt := admin.ServiceOptions{Systemd: c.flags["systemd"], Links: c.flags["links"], MX: c.flags["mx"],
		Cert: c.values["cert"], Key: c.values["key"], DestDir: c.values["destdir"], ManDir: c.values["mandir"],
		Pages: renderedPages()}
	if opt.MX && opt.Cert == "" {
		usageFail(c.cmd, "-mx needs -cert FILE: submission and ports 465 and 995 need a certificate")
	}
	if !opt.MX && (opt.Cert != "" || opt.Key != "") {
		usageFail(c.cmd, "-cert and -key go with -mx")
	}
	if err := admin.Install(c.root, filepath.Dir(exe), os.Stdout); err != nil {
		fail("install %s: %v", c.root, err)
	}
	if err := admin.InstallService(c.root, opt, os.Stdout); err != nil {
		fail("install %s: %v", c.root, err)
	}
	if probs := admin.Check(c.root, true); len(probs) > 0 {
		for _, p := range probs {
			fmt.Println("problem:", p)
		}
		os.Exit(exitTrouble)
	}
	fmt.Printf("installed %s; start it with: %s/bin/goqmaild %s\n", c.root, c.root, c.root)
}

func uninstallCmd(c *call) {
	var pages []string
	for name := range renderedPages() {
		pages = append(pages, name)
	}
	if err := admin.Uninstall(c.root, admin.UninstallOptions{DestDir: c.values["destdir"], ManDir: c.values["mandir"], Pages: pages}, os.Stdout); err != nil {
		fail("uninstall %s: %v", c.root, err)
	}
}

// checkCmd is `goqmail check [-config] [ROOT]`: problems go to standard
// output, one per line with its fix, and make the exit status 111. With
// -config only the configuration is checked (internal/ctlcheck); goqmaild
// runs that before it starts anything and before it forwards a SIGHUP,
// and prints what it says.
func checkCmd(c *call) {
	if !c.flags["config"] {
		rootMode := os.Geteuid() == 0 && isRootOwned(c.root)
		for _, w := range admin.CheckConfig(c.root, rootMode).Warnings {
			fmt.Println("warning:", w)
		}
		probs := admin.Check(c.root, rootMode)
		for _, p := range probs {
			fmt.Println("problem:", p)
		}
		if len(probs) > 0 {
			os.Exit(exitTrouble)
		}
		fmt.Printf("%s: ok\n", c.root)
		return
	}
	// As root, the programs run under their own accounts (goqmaild does
	// so whenever it runs as root): check they can read their files.
	res := admin.CheckConfig(c.root, os.Geteuid() == 0)
	for _, w := range res.Warnings {
		fmt.Println("warning:", w)
	}
	for _, p := range res.Problems {
		fmt.Println("problem:", p)
	}
	if len(res.Problems) > 0 {
		fmt.Printf("%s: %d configuration problem(s)\n", c.root, len(res.Problems))
		os.Exit(exitTrouble)
	}
	fmt.Printf("%s: configuration ok\n", c.root)
}

// showctlCmd shows the configuration even when it is invalid (each bad
// file as its default), then the problems.
func showctlCmd(c *call) {
	snap, probs := control.Inspect(filepath.Join(c.root, "control"))
	fmt.Print(snap.Describe())
	for _, p := range probs {
		fmt.Println("problem:", p)
	}
	if len(probs) > 0 {
		os.Exit(exitTrouble)
	}
}

// isRootOwned tells a root installation from a development directory that
// root happens to check.
func isRootOwned(root string) bool {
	st, err := os.Stat(filepath.Join(root, "queue"))
	if err != nil {
		return true
	}
	return statUID(st) != 0 // a development directory made by root is all root's
}
