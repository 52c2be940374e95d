package admin

import (
	"fmt"
	"io"
	"strings"

	"goqmail/internal/vdir"
)

const aliasUsage = `usage: goqmail alias COMMAND ... [-root ROOT]
  add ADDRESS TARGET...  make ADDRESS forward to the targets (replacing any it had)
  del ADDRESS            remove the alias
  list DOMAIN            every alias of the domain
A TARGET is an address, local or remote; a bare name means NAME@the alias's domain.
` + rootHelp

// AliasUsage is the help text of `goqmail alias`.
func AliasUsage() string { return aliasUsage }

// AliasCmd runs `goqmail alias ARGS` against the directory open gives.
func AliasCmd(open Opener, args []string, out io.Writer) (bool, error) {
	fs, err := parseFlags(args, nil, nil)
	if err != nil {
		return false, err
	}
	if len(fs.args) == 0 {
		return false, usagef("which command? add, del or list")
	}
	verb, rest := fs.args[0], fs.args[1:]
	switch verb {
	case "add":
		if len(rest) < 2 {
			return false, usagef("alias add takes an address and at least one target")
		}
		local, domain, err := vdir.SplitAddress(rest[0])
		if err != nil {
			return false, err
		}
		d, err := open()
		if err != nil {
			return false, err
		}
		// "a@x, b@y" as one word is two targets too.
		var targets []string
		for _, w := range rest[1:] {
			for _, t := range strings.Split(w, ",") {
				if t = strings.TrimSpace(t); t != "" {
					targets = append(targets, t)
				}
			}
		}
		if err := d.SetAlias(vdir.Alias{Local: local, Domain: domain, Targets: targets}); err != nil {
			return false, err
		}
		as, err := d.Aliases(domain)
		if err != nil {
			return true, err
		}
		for _, a := range as {
			if a.Local == local {
				fmt.Fprintf(out, "set alias %s\n", describeAlias(a))
			}
		}
		return true, nil
	case "del":
		if len(rest) != 1 {
			return false, usagef("alias del takes one address, got %d arguments", len(rest))
		}
		local, domain, err := vdir.SplitAddress(rest[0])
		if err != nil {
			return false, err
		}
		d, err := open()
		if err != nil {
			return false, err
		}
		if err := d.DeleteAlias(local, domain); err != nil {
			return false, err
		}
		fmt.Fprintf(out, "deleted alias %s@%s\n", local, domain)
		return true, nil
	case "list":
		if len(rest) != 1 {
			return false, usagef("alias list takes one domain, got %d arguments", len(rest))
		}
		name, err := vdir.CheckDomain(rest[0])
		if err != nil {
			return false, err
		}
		d, err := open()
		if err != nil {
			return false, err
		}
		as, err := d.Aliases(name)
		if err != nil {
			return false, err
		}
		for _, a := range as {
			fmt.Fprintln(out, describeAlias(a))
		}
		return false, nil
	}
	return false, usagef("unknown command %q: add, del or list", verb)
}

// describeAlias is the line the aliases file holds, with the domain.
func describeAlias(a vdir.Alias) string {
	return fmt.Sprintf("%s@%s: %s", a.Local, a.Domain, strings.Join(a.Targets, ", "))
}
