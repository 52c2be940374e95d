// Command goqmail is the administrator's tool.
//
//	goqmail init DIR        make a self-contained server directory (no root needed)
//	goqmail install [ROOT]  create accounts, directories and programs (root; default /var/goqmail)
//	goqmail check [ROOT]    verify an installation, like qmail's instcheck
//	goqmail check -config [ROOT]  validate the configuration only (goqmaild runs it)
//	goqmail showctl [ROOT]  print every control setting, its value and where it came from
//	goqmail queue CMD ...   list, stat, show, retry, hold, release, delete, requeue
//	goqmail domain|user|alias CMD ...  virtual domains, users and aliases (docs/virtual.md)
//	goqmail import ...      carry a qmail/vpopmail installation over
//
// Every command is documented in docs/commands.md.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"goqmail/internal/admin"
	"goqmail/internal/control"
)

const defaultRoot = "/var/goqmail"

func usage() {
	fmt.Fprint(os.Stderr, `usage:
  goqmail init DIR          make a self-contained server directory for this user
  goqmail install [ROOT]    as root: accounts, directories, programs (default /var/goqmail)
  goqmail check [ROOT]      verify an installation (default /var/goqmail)
  goqmail check -config [ROOT]  validate every configuration file only
  goqmail showctl [ROOT]    print the effective control settings (default /var/goqmail)
  goqmail queue CMD [ARGS]  look at and manage the queue (goqmail queue help)
  goqmail domain CMD [ARGS] virtual domains: add, del, list, show, set (goqmail domain help)
  goqmail user CMD [ARGS]   virtual users: add, del, passwd, list, show (goqmail user help)
  goqmail alias CMD [ARGS]  virtual aliases: add, del, list (goqmail alias help)
  goqmail import [ARGS]     carry a qmail/vpopmail installation over (goqmail import -h)
  goqmail relay list|revoke IP   POP-before-SMTP grants
`)
	os.Exit(100)
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "goqmail: "+format+"\n", args...)
	os.Exit(111)
}

func rootArg(args []string) string {
	switch len(args) {
	case 0:
		return defaultRoot
	case 1:
		return args[0]
	}
	usage()
	return ""
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	cmd, args := os.Args[1], os.Args[2:]
	switch cmd {
	case "init":
		if len(args) != 1 {
			usage()
		}
		if err := admin.Init(args[0], admin.InitOptions{Listen: os.Getenv("GOQMAIL_LISTEN"),
			Submission: os.Getenv("GOQMAIL_LISTEN_SUBMISSION"), POP3: os.Getenv("GOQMAIL_LISTEN_POP3")}, os.Stdout); err != nil {
			fail("init %s: %v", args[0], err)
		}
	case "install":
		root := rootArg(args)
		exe, err := os.Executable()
		if err != nil {
			fail("%v", err)
		}
		if err := admin.Install(root, filepath.Dir(exe), os.Stdout); err != nil {
			fail("install: %v", err)
		}
		if probs := admin.Check(root, true); len(probs) > 0 {
			for _, p := range probs {
				fmt.Println("problem:", p)
			}
			os.Exit(111)
		}
		fmt.Printf("installed %s; start it with: %s/bin/goqmaild %s\n", root, root, root)
	case "check":
		checkCmd(args)
	case "showctl":
		// Shows the configuration even when it is invalid (each bad file
		// as its default), then the problems.
		snap, probs := control.Inspect(filepath.Join(rootArg(args), "control"))
		fmt.Print(snap.Describe())
		for _, p := range probs {
			fmt.Println("problem:", p)
		}
		if len(probs) > 0 {
			os.Exit(111)
		}
	case "queue":
		queueCmd(args)
	case "domain":
		domainCmd(args)
	case "user":
		userCmd(args)
	case "alias":
		aliasCmd(args)
	case "import":
		importCmd(args)
	case "relay":
		relayCmd(args)
	case "help", "-h", "--help":
		usage()
	default:
		fmt.Fprintf(os.Stderr, "goqmail: unknown command %q\n", cmd)
		usage()
	}
}

// checkCmd is `goqmail check [-config] [ROOT]`: problems go to standard
// output, one per line with its fix, and make the exit status 111. With
// -config only the configuration is checked (internal/ctlcheck); goqmaild
// runs that before it starts anything and before it forwards a SIGHUP,
// and prints what it says.
func checkCmd(args []string) {
	configOnly := len(args) > 0 && (args[0] == "-config" || args[0] == "--config")
	if configOnly {
		args = args[1:]
	}
	root := rootArg(args)
	if !configOnly {
		rootMode := os.Geteuid() == 0 && isRootOwned(root)
		for _, w := range admin.CheckConfig(root, rootMode).Warnings {
			fmt.Println("warning:", w)
		}
		probs := admin.Check(root, rootMode)
		for _, p := range probs {
			fmt.Println("problem:", p)
		}
		if len(probs) > 0 {
			os.Exit(111)
		}
		fmt.Printf("%s: ok\n", root)
		return
	}
	// As root, the programs run under their own accounts (goqmaild does
	// so whenever it runs as root): check they can read their files.
	res := admin.CheckConfig(root, os.Geteuid() == 0)
	for _, w := range res.Warnings {
		fmt.Println("warning:", w)
	}
	for _, p := range res.Problems {
		fmt.Println("problem:", p)
	}
	if len(res.Problems) > 0 {
		fmt.Printf("%s: %d configuration problem(s)\n", root, len(res.Problems))
		os.Exit(111)
	}
	fmt.Printf("%s: configuration ok\n", root)
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
