package main

import (
	"fmt"
	"os"

	"goqmail/internal/admin"
	"goqmail/internal/vdir"
)

// The virtual-domain commands: `goqmail domain|user|alias ...`
// (docs/virtual.md). Exit 0 on success, 100 for a mistake in the
// command (usage, invalid input, exists, not found), 111 for trouble.

func domainCmd(args []string) {
	vcmd("domain", admin.DomainUsage(), args, func(d vdir.Directory, rest []string) (bool, error) {
		return admin.DomainCmd(d, rest, os.Stdout)
	})
}

func userCmd(args []string) {
	vcmd("user", admin.UserUsage(), args, func(d vdir.Directory, rest []string) (bool, error) {
		return admin.UserCmd(d, rest, os.Stdin, os.Stdout)
	})
}

func aliasCmd(args []string) {
	vcmd("alias", admin.AliasUsage(), args, func(d vdir.Directory, rest []string) (bool, error) {
		return admin.AliasCmd(d, rest, os.Stdout)
	})
}

// vcmd takes -root ROOT out of args (else $GOQMAIL_ROOT, else
// /var/goqmail), runs the command and, after a change, tells a running
// server.
func vcmd(name, usage string, args []string, run func(vdir.Directory, []string) (bool, error)) {
	root, rest, err := splitRoot(args)
	if err != nil {
		vfail(name, usage, 100, "%v", err)
	}
	if len(rest) == 0 {
		vfail(name, usage, 100, "which command?")
	}
	switch rest[0] {
	case "help", "-h", "--help":
		fmt.Print(usage)
		return
	}
	d, err := admin.OpenVirtual(root)
	if err != nil {
		vfail(name, "", 111, "%v", err)
	}
	changed, err := run(d, rest)
	if err != nil {
		code := admin.ExitCode(err)
		var help string
		if _, ok := err.(*admin.UsageError); ok {
			help = usage
		}
		vfail(name, help, code, "%v", err)
	}
	if changed {
		fmt.Println(admin.SignalReload(root))
	}
}

func vfail(name, usage string, code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "goqmail %s: "+format+"\n", append([]any{name}, args...)...)
	if usage != "" {
		fmt.Fprint(os.Stderr, "\n"+usage)
	}
	os.Exit(code)
}
