package rcptcheck

import (
	"fmt"

	"goqmail/internal/aliases"
	"goqmail/internal/assign"
	"goqmail/internal/dotqmail"
)

// local resolves a recipient of a local domain as goqmail-lspawn does
// (lspawn.Resolver.Resolve: users/assign, then qmail-getpw's passwd rules,
// then the alias user) and asks whether goqmail-local would then find a
// delivery for it.
func (c *Checker) local(addr string) Result {
	local, _ := splitAddr(addr)
	var table *assign.Table
	if c.Assign != nil {
		t, err := c.Assign.Table()
		if err != nil {
			return failure("users/assign", err)
		}
		table = t
	}
	if e, ok := table.Lookup(local); ok {
		return c.delivers(e, "users/assign entry for "+e.User)
	}
	if c.System != nil {
		e, ok, err := assign.LookupPasswd(c.System, local)
		if err != nil {
			return failure("passwd", err)
		}
		// In single-user mode the spawner hands other accounts' addresses
		// to the alias user; so does the check.
		if ok && (c.SingleUID <= 0 || e.UID == c.SingleUID) {
			return c.delivers(e, "account "+e.User)
		}
	}
	return c.alias(table, local)
}

// alias handles an address nobody owns, as qmail-getpw gives it to the
// alias user with Dash "-" and Ext the whole local part (lower-cased):
// it exists if the aliases file names it or a .qmail file of the alias
// user matches it (~alias/.qmail-postmaster, ~alias/.qmail-default).
func (c *Checker) alias(table *assign.Table, local string) Result {
	if c.AliasUser == "" {
		return Result{Verdict: NoSuch, Why: "no such user, and no alias user"}
	}
	e, ok := table.Lookup(c.AliasUser)
	if !ok && c.System != nil {
		var err error
		e, ok, err = assign.LookupPasswd(c.System, c.AliasUser)
		if err != nil {
			return failure("alias user", err)
		}
	}
	if !ok || (c.SingleUID > 0 && e.UID != c.SingleUID) || e.UID == 0 {
		return Result{Verdict: NoSuch, Why: fmt.Sprintf("no such user, and the alias user %q does not exist", c.AliasUser)}
	}
	e.Dash, e.Ext = "-", lowerASCII(local)
	if c.AliasesFile != "" {
		// goqmail-local asks the aliases file first (fastforward).
		t, err := aliases.Load(c.AliasesFile)
		if t == nil {
			return failure("aliases file", err)
		}
		// Bad lines (err != nil with a table) do not stop the delivery
		// either: it logs them and uses the rest.
		if _, ok := t.Lookup(e.Ext); ok {
			return Result{Verdict: Exists, Why: "aliases file"}
		}
	}
	return c.delivers(e, "alias user "+e.User)
}

// delivers reports whether goqmail-local would deliver for e: the bare
// user (Dash "") always has a delivery (its .qmail or the default
// delivery); an extension exists only if the .qmail search finds a file,
// otherwise qmail-local bounces "Sorry, no mailbox here by that name".
func (c *Checker) delivers(e assign.Entry, who string) Result {
	if e.Dash == "" {
		return Result{Verdict: Exists, Why: who}
	}
	found, err := dotqmail.Search(c.openDir(e.Home), e.Dash, e.Ext)
	if err != nil {
		return failure(who+": "+e.Home, err)
	}
	if found.Name == "" {
		return Result{Verdict: NoSuch, Why: fmt.Sprintf("%s: no .qmail file for extension %q", who, e.Ext)}
	}
	return Result{Verdict: Exists, Why: who + ": " + found.Name}
}
