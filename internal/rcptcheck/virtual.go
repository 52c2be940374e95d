package rcptcheck

import (
	"path/filepath"
	"strings"

	"goqmail/internal/dotqmail"
	"goqmail/internal/vdir"
)

// virtual decides for a recipient of a virtual-directory domain, in the
// order goqmail-local delivers it (internal/local, virtual.go):
//
//  1. the directory resolves the address; a user's mailbox or a forward
//     (alias, catch-all mailbox or forward, postmaster) exists;
//  2. otherwise the real domain's directory ROOT/vmail/<domain>/ may hold
//     vpopmail-style instructions: a non-empty `.qmail-<local>` (or
//     `.qmail-<prefix>-default`) file delivers whatever the directory
//     said, and `.qmail-default` delivers what the directory does not
//     know (but not what a catch-all=reject domain refuses);
//  3. anything else is "no mailbox here by that name".
func (c *Checker) virtual(addr string) Result {
	local, domain := splitAddr(addr)
	if c.Directory == nil {
		return Result{Verdict: TempFail, Why: "virtual domain, but no directory configured"}
	}
	res, err := c.Directory.Resolve(local, domain)
	if err != nil {
		return failure("virtual directory", err)
	}
	switch res.Kind {
	case vdir.Mailbox:
		return Result{Verdict: Exists, Why: "virtual user " + res.Local + "@" + res.Domain}
	case vdir.Forward:
		if len(res.Targets) > 0 {
			return Result{Verdict: Exists, Why: "virtual forward"}
		}
	}
	real := strings.ToLower(domain)
	if res.Domain != "" {
		real = res.Domain
	}
	why := res.Why
	if why == "" {
		why = "not in the virtual directory"
	}
	if c.VmailRoot == "" || !safeDomainDir(real) {
		return Result{Verdict: NoSuch, Why: why}
	}
	dir := filepath.Join(c.VmailRoot, real)
	found, err := dotqmail.Search(c.openDir(dir), "-", local)
	if err != nil {
		return failure("virtual domain "+real, err)
	}
	switch {
	case len(found.Data) == 0:
		// No file, or an empty one: the directory's answer stands.
	case found.Name != ".qmail-default":
		return Result{Verdict: Exists, Why: dir + "/" + found.Name}
	case res.Kind == vdir.NoSuch:
		return Result{Verdict: Exists, Why: dir + "/.qmail-default"}
	}
	return Result{Verdict: NoSuch, Why: why}
}

// safeDomainDir accepts a domain as one directory name under ROOT/vmail,
// goqmail-local's rule: never empty, never a path, never hidden (which
// also rules out "." and "..").
func safeDomainDir(domain string) bool {
	return domain != "" && !strings.ContainsAny(domain, "/\x00") && domain[0] != '.'
}
