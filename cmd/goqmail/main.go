// Command goqmail is the administrator's tool.
//
//	goqmail init DIR        make a self-contained server directory (no root needed)
//	goqmail install [ROOT]  create accounts, directories and programs (root; default /var/goqmail)
//	goqmail uninstall [ROOT] remove programs, unit and links; keep mail and configuration
//	goqmail check [ROOT]    verify an installation, like qmail's instcheck
//	goqmail showctl [ROOT]  print every control setting, its value and where it came from
//	goqmail queue CMD ...   list, stat, show, retry, hold, release, delete, requeue
//	goqmail domain|user|alias CMD ...  virtual domains, users and aliases (docs/virtual.md)
//	goqmail import ...      carry a qmail/vpopmail installation over
//	goqmail relay CMD ...   POP-before-SMTP grants
//	goqmail log summary     qmailanalog's and pflogsumm's report from the log
//	goqmail dkim CMD ...    DKIM keys: keygen, show, list, use, retire (docs/outbound.md)
//	goqmail srs CMD         SRS secrets: rotate, list
//	goqmail dns records|check DOMAIN  the DNS records a domain needs, and a check of them
//	goqmail status [ROOT]   programs, listeners, queue, recent deliveries, certificate; exit 111 when something is wrong
//	goqmail admin-session   the web administration's session, started by goqmail-auth (docs/web.md)
//
// Every command finds its installation the same way (internal/rootdir:
// -root DIR anywhere, else the positional ROOT where the command takes
// one, else $GOQMAIL_ROOT, else /var/goqmail), prints its help for -h or
// --help (stdout, exit 0) and answers a bad argument with what is wrong
// and its usage (stderr, exit 100). Exit codes are qmail's: 0 done, 100
// a permanent mistake of the caller, 111 trouble worth retrying.
//
// Every command is documented in docs/commands.md.
package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"goqmail/internal/admin"
	"goqmail/internal/rootdir"
)

// Exit codes, as qmail's programs use them.
const (
	exitUsage   = 100
	exitTrouble = 111
)

// command is one `goqmail NAME ...`.
type command struct {
	name    string
	summary string // the line in goqmail's own usage
	usage   string // its help text, starting with "usage: goqmail NAME"
	// rootArg: the command takes the root as an optional positional
	// argument (goqmail install /var/goqmail) and no other argument.
	rootArg bool
	// explicitRoot: the command makes a new directory and will not fall
	// back to /var/goqmail (init makes a development directory; the
	// system one is install's).
	explicitRoot bool
	// flags are the options a rootArg command accepts, without dashes
	// ("config" for -config or --config).
	flags []string
	// valueFlags are a rootArg command's options that take a value
	// (-cert FILE, -cert=FILE, -warn-days 14).
	valueFlags []string
	run        func(c *call)
}

// call is one parsed invocation.
type call struct {
	cmd  *command
	root string
	src  rootdir.Source
	args []string // the arguments after the command name, root taken out
	// flags are the rootArg command's options given, without dashes.
	flags map[string]bool
	// values are its valueFlags given, without dashes.
	values map[string]string
}

// commands lists every command, in the order of the usage text.
var commands []*command

func init() {
	commands = []*command{
		{name: "init", summary: "init DIR          make a self-contained server directory for this user",
			usage: initUsage, rootArg: true, explicitRoot: true, run: initCmd},
		{name: "install", summary: "install [OPTIONS] [ROOT]  as root: accounts, directories, programs, the alias user; unit, links, MX listeners",
			usage: installUsage, rootArg: true, flags: []string{"systemd", "links", "mx"}, valueFlags: []string{"cert", "key", "destdir", "mandir"}, run: installCmd},
		{name: "uninstall", summary: "uninstall [ROOT]  as root: remove programs, unit and links; keep mail and configuration",
			usage: uninstallUsage, rootArg: true, valueFlags: []string{"destdir", "mandir"}, run: uninstallCmd},
		{name: "check", summary: "check [-config] [ROOT]  verify an installation (qmail's instcheck); -config: the configuration only",
			usage: checkUsage, rootArg: true, flags: []string{"config"}, run: checkCmd},
		{name: "showctl", summary: "showctl [ROOT]    print the effective control settings",
			usage: showctlUsage, rootArg: true, run: showctlCmd},
		{name: "queue", summary: "queue CMD [ARGS]  look at and manage the queue",
			usage: queueUsage, run: queueCmd},
		{name: "domain", summary: "domain CMD [ARGS] virtual domains: add, del, list, show, set",
			usage: domainUsage(), run: domainCmd},
		{name: "user", summary: "user CMD [ARGS]   virtual users: add, del, passwd, set, list, show",
			usage: userUsage(), run: userCmd},
		{name: "alias", summary: "alias CMD [ARGS]  virtual aliases: add, del, list",
			usage: aliasUsage(), run: aliasCmd},
		{name: "import", summary: "import [ARGS]     carry a qmail/vpopmail installation over",
			usage: importUsage, run: importCmd},
		{name: "relay", summary: "relay CMD [ARGS]  POP-before-SMTP grants: list, revoke",
			usage: relayUsage, run: relayCmd},
		{name: "log", summary: "log summary [FILES]  what qmailanalog and pflogsumm print, from the log",
			usage: logUsage, run: logCmd},
		{name: "dkim", summary: "dkim CMD [ARGS]   DKIM keys: keygen, show, list, use, retire",
			usage: admin.DKIMUsage, run: dkimCmd},
		{name: "srs", summary: "srs CMD           SRS secrets: rotate, list",
			usage: admin.SRSUsage, run: srsCmd},
		{name: "dns", summary: "dns records|check DOMAIN  the DNS records a domain needs, and whether they are there",
			usage: admin.DNSUsage, run: dnsCmd},
		{name: "status", summary: "status [ROOT]     is it running, and well? (for people and for monitoring)",
			usage: statusUsage, rootArg: true, valueFlags: []string{"cert-days", "queue-age", "window"}, run: statusCmd},
		{name: "admin-session", summary: "admin-session ...  the web administration's session (started by goqmail-auth)",
			usage: adminSessionUsage, run: adminSessionCmd},
	}
}

// rootHelp is the paragraph every usage text ends with.
const rootHelp = "ROOT: -root ROOT (anywhere), else $GOQMAIL_ROOT, else /var/goqmail.\n"

func mainUsage() string {
	var b strings.Builder
	b.WriteString("usage: goqmail COMMAND [ARGS] [-root ROOT]\n")
	for _, c := range commands {
		b.WriteString("  goqmail " + c.summary + "\n")
	}
	b.WriteString(rootHelp)
	b.WriteString("goqmail COMMAND --help says more; docs/commands.md has it all.\n")
	return b.String()
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// usageError is a command line that cannot be followed: the message, then
// the usage of cmd (goqmail's own when nil), exit 100.
type usageError struct {
	cmd *command
	msg string
}

func (e *usageError) Error() string { return e.msg }

// helpRequest is -h, --help or help: print the usage of cmd (goqmail's own
// when nil) to standard output and exit 0.
type helpRequest struct{ cmd *command }

func (helpRequest) Error() string { return "help" }

// isHelp reports whether a word asks for help.
func isHelp(w string) bool { return w == "-h" || w == "-help" || w == "--help" }

// parse reads a command line (without the program name). getenv is
// os.Getenv, or a test's.
func parse(argv []string, getenv func(string) string) (*call, error) {
	flag, rest, err := rootdir.Split(argv)
	if err != nil {
		// The usage to show is that of the first command named.
		var cmd *command
		for _, w := range argv {
			if cmd = lookup(w); cmd != nil {
				break
			}
		}
		return nil, &usageError{cmd, err.Error()}
	}
	var cmd *command
	if len(rest) > 0 {
		cmd = lookup(rest[0])
	}
	if len(rest) == 0 {
		return nil, &usageError{nil, "which command?"}
	}
	if isHelp(rest[0]) || rest[0] == "help" {
		if len(rest) > 1 && lookup(rest[1]) != nil {
			return nil, helpRequest{lookup(rest[1])}
		}
		return nil, helpRequest{}
	}
	if cmd == nil {
		if strings.HasPrefix(rest[0], "-") {
			return nil, &usageError{nil, fmt.Sprintf("unknown option %s", rest[0])}
		}
		return nil, &usageError{nil, fmt.Sprintf("unknown command %q", rest[0])}
	}
	args := rest[1:]
	for i, a := range args {
		if a == "--" {
			break
		}
		if isHelp(a) || (i == 0 && a == "help" && !cmd.rootArg) {
			return nil, helpRequest{cmd}
		}
	}
	var positional string
	flags := map[string]bool{}
	values := map[string]string{}
	if cmd.rootArg {
		for i := 0; i < len(args); i++ {
			a := args[i]
			name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
			switch {
			case strings.HasPrefix(a, "-") && slices.Contains(cmd.flags, name) && !hasValue:
				flags[name] = true
				continue
			case strings.HasPrefix(a, "-") && slices.Contains(cmd.valueFlags, name):
				if !hasValue {
					if i+1 >= len(args) || args[i+1] == "" {
						return nil, &usageError{cmd, fmt.Sprintf("option %s needs a value", a)}
					}
					i++
					value = args[i]
				}
				if value == "" {
					return nil, &usageError{cmd, fmt.Sprintf("option %s needs a value", a)}
				}
				values[name] = value
				continue
			case strings.HasPrefix(a, "-"):
				return nil, &usageError{cmd, fmt.Sprintf("unknown option %s", a)}
			case positional != "":
				return nil, &usageError{cmd, fmt.Sprintf("unexpected argument %q: %s takes one directory", a, cmd.name)}
			}
			positional = a
		}
		args = nil
	}
	root, src, err := rootdir.Resolve(flag, positional, getenv)
	if err != nil {
		return nil, &usageError{cmd, err.Error()}
	}
	if cmd.explicitRoot && src == rootdir.FromDefault {
		return nil, &usageError{cmd, fmt.Sprintf("%s needs a directory: give DIR, -root DIR or $GOQMAIL_ROOT", cmd.name)}
	}
	return &call{cmd: cmd, root: root, src: src, args: args, flags: flags, values: values}, nil
}

func main() {
	c, err := parse(os.Args[1:], os.Getenv)
	var help helpRequest
	var uerr *usageError
	switch {
	case errors.As(err, &help):
		if help.cmd == nil {
			fmt.Print(mainUsage())
		} else {
			fmt.Print(help.cmd.usage)
		}
		os.Exit(0)
	case errors.As(err, &uerr):
		usageFail(uerr.cmd, "%s", uerr.msg)
	}
	c.cmd.run(c)
}

// usageFail reports a mistake on the command line: what is wrong, then the
// usage, on standard error; exit 100.
func usageFail(cmd *command, format string, args ...any) {
	name, usage := "goqmail", mainUsage()
	if cmd != nil {
		name, usage = "goqmail "+cmd.name, cmd.usage
	}
	fmt.Fprintf(os.Stderr, "%s: %s\n\n%s", name, fmt.Sprintf(format, args...), usage)
	os.Exit(exitUsage)
}

// fail reports trouble (exit 111).
func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "goqmail: "+format+"\n", args...)
	os.Exit(exitTrouble)
}
