package main

import (
	"fmt"
	"os"
	"slices"

	"golang.org/x/term"

	"goqmail/internal/admin"
	"goqmail/internal/vdir"
)

// The virtual-domain commands: `goqmail domain|user|alias ...`
// (docs/virtual.md). Exit 0 on success, 100 for a mistake in the
// command (usage, invalid input, exists, not found), 111 for trouble.

func domainUsage() string { return admin.DomainUsage() }
func userUsage() string   { return admin.UserUsage() }
func aliasUsage() string  { return admin.AliasUsage() }

func domainCmd(c *call) {
	vcmd(c, func(open admin.Opener) (bool, error) {
		return admin.DomainCmd(open, c.args, os.Stdout)
	})
}

func userCmd(c *call) {
	vcmd(c, func(open admin.Opener) (bool, error) {
		return admin.UserCmd(open, c.args, passwordSource(c.args), os.Stdout)
	})
}

func aliasCmd(c *call) {
	vcmd(c, func(open admin.Opener) (bool, error) {
		return admin.AliasCmd(open, c.args, os.Stdout)
	})
}

// passwordSource asks on the terminal, without echo and twice, when
// standard input is one; otherwise (a pipe, a file, or --password-stdin)
// the password is the first line of standard input.
func passwordSource(args []string) admin.PasswordSource {
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) || slices.Contains(args, "--password-stdin") || slices.Contains(args, "-password-stdin") {
		return admin.PipePassword(os.Stdin)
	}
	return admin.TerminalPassword(os.Stderr, func() ([]byte, error) { return term.ReadPassword(fd) })
}

// vcmd runs a virtual-directory command on ROOT's directory and, after a
// change, tells a running server.
func vcmd(c *call, run func(admin.Opener) (bool, error)) {
	if len(c.args) == 0 {
		usageFail(c.cmd, "which command?")
	}
	open := func() (vdir.Directory, error) { return admin.OpenVirtual(c.root) }
	changed, err := run(open)
	if err != nil {
		if _, ok := err.(*admin.UsageError); ok {
			usageFail(c.cmd, "%v", err)
		}
		fmt.Fprintf(os.Stderr, "goqmail %s: %v\n", c.cmd.name, err)
		os.Exit(admin.ExitCode(err))
	}
	if changed {
		fmt.Println(admin.SignalReload(c.root))
	}
}
