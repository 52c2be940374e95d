package admin

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"goqmail/internal/accounts"
	"goqmail/internal/pidlock"
	"goqmail/internal/vdir"
)

// The virtual-domain commands (`goqmail domain|user|alias ...`,
// docs/virtual.md): vpopmail's vadddomain, vadduser, valias and friends.
// Each parses its arguments, validates them, changes the directory
// through vdir.Directory (every change is atomic there) and reports what
// it did. They return (changed, error): the caller tells running servers
// to reload after a change.

// UsageError is a mistake on the command line: exit 100 with the message.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, args ...any) error {
	return &UsageError{fmt.Sprintf(format, args...)}
}

// ExitCode maps a command's error to qmail's exit codes: 0, 100 for a
// permanent mistake of the caller (usage, invalid input, exists, not
// found), 111 for trouble worth retrying (I/O, permissions).
func ExitCode(err error) int {
	var u *UsageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrRecordsWrong):
		return 1
	case errors.As(err, &u), errors.Is(err, vdir.ErrInvalid), errors.Is(err, vdir.ErrExists), errors.Is(err, vdir.ErrNotFound), errors.Is(err, errNoKey):
		return 100
	}
	return 111
}

// OpenVirtual opens ROOT's file directory. As root the passwd lines and
// mailboxes get the goqmailv account's ids; otherwise the invoking user
// is the virtual user (single-user mode).
func OpenVirtual(root string) (*vdir.Files, error) {
	if st, err := os.Stat(filepath.Join(root, "control")); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("%s has no control directory: not a goqmail installation (give -root ROOT or set GOQMAIL_ROOT)", root)
	}
	ids := accounts.Current()
	if os.Geteuid() == 0 {
		var err error
		if ids, err = accounts.Lookup(accounts.Virtual); err != nil {
			return nil, err
		}
	}
	return vdir.OpenFiles(filepath.Join(root, "vdir"), filepath.Join(root, "vmail"), ids.UID, ids.GID), nil
}

// SignalReload tells a running goqmaild about a change with SIGHUP, if
// one holds ROOT/run/goqmaild.pid (a pid file left by a goqmaild that died
// names nobody, or someone else). Readers notice changed files by
// themselves at their next lookup, so this only hurries things along;
// the returned text says which happened.
func SignalReload(root string) string {
	pid := pidlock.Holder(filepath.Join(root, "run", "goqmaild.pid"))
	if pid <= 1 {
		return "running servers pick up changes by themselves"
	}
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		return "running servers pick up changes by themselves"
	}
	return fmt.Sprintf("told goqmaild (pid %d) to reload", pid)
}

// flagSet is the little option parser the commands share: "--name value",
// "--name=value" or "-name value"; every other word is an argument.
type flagSet struct {
	takes map[string]bool // names taking a value (without dashes)
	bools map[string]bool // names without a value
	vals  map[string]string
	args  []string
}

func parseFlags(words []string, withValue, boolean []string) (*flagSet, error) {
	fs := &flagSet{takes: map[string]bool{}, bools: map[string]bool{}, vals: map[string]string{}}
	for _, n := range withValue {
		fs.takes[n] = true
	}
	for _, n := range boolean {
		fs.bools[n] = true
	}
	for i := 0; i < len(words); i++ {
		w := words[i]
		if !strings.HasPrefix(w, "-") || w == "-" {
			fs.args = append(fs.args, w)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(w, "-"), "=")
		switch {
		case fs.bools[name]:
			if hasVal {
				return nil, usagef("--%s takes no value", name)
			}
			fs.vals[name] = ""
		case fs.takes[name]:
			if !hasVal {
				if i+1 >= len(words) {
					return nil, usagef("--%s needs a value", name)
				}
				i++
				val = words[i]
			}
			if _, dup := fs.vals[name]; dup {
				return nil, usagef("--%s given twice", name)
			}
			fs.vals[name] = val
		case name == "password":
			return nil, usagef("a password is never taken from the command line (other users can see it there): give it on standard input")
		default:
			return nil, usagef("unknown option %s", w)
		}
	}
	return fs, nil
}

func (fs *flagSet) has(name string) bool { _, ok := fs.vals[name]; return ok }

// parseSize reads a byte count: digits, optionally followed by K, M or G
// (powers of 1024).
func parseSize(s, what string) (int64, error) {
	mult := int64(1)
	t := strings.ToUpper(s)
	switch {
	case strings.HasSuffix(t, "K"):
		mult, t = 1<<10, t[:len(t)-1]
	case strings.HasSuffix(t, "M"):
		mult, t = 1<<20, t[:len(t)-1]
	case strings.HasSuffix(t, "G"):
		mult, t = 1<<30, t[:len(t)-1]
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, usagef("%s %q is not a size (digits, optionally followed by K, M or G; 0 = unlimited)", what, s)
	}
	return n * mult, nil
}

func parseCount(s, what string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, usagef("%s %q is not a number >= 0 (0 = unlimited)", what, s)
	}
	return n, nil
}

const domainUsage = `usage: goqmail domain COMMAND ... [-root ROOT]
  add DOMAIN [--alias-of D] [--postmaster X] [--catchall RULE] [--quota BYTES]
  set DOMAIN [--alias-of D] [--postmaster X] [--catchall RULE] [--quota BYTES]
  del DOMAIN            remove it (its mailboxes are kept under vmail/.deleted-DOMAIN-TIME)
  list                  every domain and alias domain
  show DOMAIN           settings, alias domains, users and aliases
RULE: bounce (default) | reject | mailbox:USER | forward:ADDRESS[,ADDRESS...]
X: a user or alias of the domain, or a full address ("" = the user postmaster, else the catch-all)
BYTES: digits, optionally followed by K, M or G; 0 = none
` + rootHelp

// DomainUsage is the help text of `goqmail domain`.
func DomainUsage() string { return domainUsage }

// Opener opens the virtual directory. The commands call it only once the
// command line is known to be good, so a mistake in it is reported as
// such (exit 100) even when the directory cannot be opened.
type Opener func() (vdir.Directory, error)

// DomainCmd runs `goqmail domain ARGS` against the directory open gives.
func DomainCmd(open Opener, args []string, out io.Writer) (bool, error) {
	fs, err := parseFlags(args, []string{"alias-of", "postmaster", "catchall", "quota"}, nil)
	if err != nil {
		return false, err
	}
	if len(fs.args) == 0 {
		return false, usagef("which command? add, set, del, list or show")
	}
	verb, rest := fs.args[0], fs.args[1:]
	if verb == "list" {
		if len(rest) != 0 || len(fs.vals) != 0 {
			return false, usagef("domain list takes no arguments")
		}
		d, err := open()
		if err != nil {
			return false, err
		}
		return false, listDomains(d, out)
	}
	if len(rest) != 1 {
		return false, usagef("domain %s takes one domain name, got %d arguments", verb, len(rest))
	}
	name, err := vdir.CheckDomain(rest[0])
	if err != nil {
		return false, err
	}
	switch verb {
	case "add", "set", "del", "show":
	default:
		return false, usagef("unknown command %q: add, set, del, list or show", verb)
	}
	d, err := open()
	if err != nil {
		return false, err
	}
	switch verb {
	case "add", "set":
		dom := vdir.Domain{Name: name}
		if verb == "set" {
			if len(fs.vals) == 0 {
				return false, usagef("domain set: nothing to change (give --alias-of, --postmaster, --catchall or --quota)")
			}
			cur, ok, err := d.Domain(name)
			if err != nil {
				return false, err
			}
			if !ok {
				return false, fmt.Errorf("no virtual domain %s: %w", name, vdir.ErrNotFound)
			}
			dom = cur
		}
		if err := applyDomainFlags(&dom, fs); err != nil {
			return false, err
		}
		if verb == "add" {
			err = d.AddDomain(dom)
		} else {
			err = d.SetDomain(dom)
		}
		if err != nil {
			return false, err
		}
		done := "added"
		if verb == "set" {
			done = "changed"
		}
		fmt.Fprintf(out, "%s domain %s\n", done, describeDomain(dom))
		return true, nil
	case "del":
		if len(fs.vals) != 0 {
			return false, usagef("domain del takes no options")
		}
		if err := d.DeleteDomain(name); err != nil {
			return false, err
		}
		fmt.Fprintf(out, "deleted domain %s (mailboxes, if any, kept under vmail/.deleted-%s-TIME)\n", name, name)
		return true, nil
	case "show":
		if len(fs.vals) != 0 {
			return false, usagef("domain show takes no options")
		}
		return false, showDomain(d, name, out)
	}
	return false, usagef("unknown command %q: add, set, del, list or show", verb)
}

func applyDomainFlags(dom *vdir.Domain, fs *flagSet) error {
	if fs.has("alias-of") {
		dom.AliasOf = fs.vals["alias-of"]
		if dom.AliasOf != "" {
			// An alias domain has no settings of its own.
			dom.Postmaster, dom.Catchall, dom.Quota = "", vdir.Catchall{}, 0
		}
	}
	if fs.has("postmaster") {
		dom.Postmaster = fs.vals["postmaster"]
	}
	if fs.has("catchall") {
		c, err := vdir.ParseCatchall(fs.vals["catchall"], dom.Name)
		if err != nil {
			return err
		}
		dom.Catchall = c
	}
	if fs.has("quota") {
		q, err := parseSize(fs.vals["quota"], "--quota")
		if err != nil {
			return err
		}
		dom.Quota = q
	}
	return nil
}

// describeDomain is one line: the name and its settings as the domain
// file spells them.
func describeDomain(d vdir.Domain) string {
	if d.AliasOf != "" {
		return d.Name + " aliasof=" + d.AliasOf
	}
	s := d.Name
	if d.Postmaster != "" {
		s += " postmaster=" + d.Postmaster
	}
	return s + fmt.Sprintf(" catchall=%s quota=%d", d.Catchall, d.Quota)
}

func listDomains(d vdir.Directory, out io.Writer) error {
	ds, err := d.Domains()
	if err != nil {
		return err
	}
	for _, dom := range ds {
		fmt.Fprintln(out, describeDomain(dom))
	}
	return nil
}

func showDomain(d vdir.Directory, name string, out io.Writer) error {
	dom, ok, err := d.Domain(name)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("no virtual domain %s: %w", name, vdir.ErrNotFound)
	}
	if dom.AliasOf != "" {
		fmt.Fprintf(out, "domain %s: an alias domain of %s (its users and aliases are those of %s)\n", name, dom.AliasOf, dom.AliasOf)
		return nil
	}
	all, err := d.Domains()
	if err != nil {
		return err
	}
	var aliasDomains []string
	for _, o := range all {
		if o.AliasOf == name {
			aliasDomains = append(aliasDomains, o.Name)
		}
	}
	users, err := d.Users(name)
	if err != nil {
		return err
	}
	aliases, err := d.Aliases(name)
	if err != nil {
		return err
	}
	pm := dom.Postmaster
	if pm == "" {
		pm = "(the user or alias postmaster if there is one, else the catch-all)"
	}
	fmt.Fprintf(out, "domain %s\npostmaster: %s\ncatchall: %s\nquota for new users: %d bytes\n", name, pm, dom.Catchall, dom.Quota)
	if len(aliasDomains) == 0 {
		aliasDomains = []string{"(none)"}
	}
	fmt.Fprintf(out, "alias domains: %s\n", strings.Join(aliasDomains, " "))
	fmt.Fprintf(out, "users: %d\n", len(users))
	for _, u := range users {
		fmt.Fprintf(out, "  %s\n", describeUser(u))
	}
	fmt.Fprintf(out, "aliases: %d\n", len(aliases))
	for _, a := range aliases {
		fmt.Fprintf(out, "  %s\n", describeAlias(a))
	}
	return nil
}
