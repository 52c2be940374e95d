package migrate

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"goqmail/internal/atomicfile"
	"goqmail/internal/vdir"
)

// importVpopmail sets up the domains, users, aliases, catch-alls,
// instruction files, mailboxes and alias domains of the old tree.
func (r *run) importVpopmail(src *source) error {
	for _, p := range src.problems {
		r.notCarried("%s", p)
	}
	ix := &mailboxIndex{byOldHome: map[string]string{}, newHome: map[string]string{}, oldRoot: r.oldRoot}
	for _, d := range src.domains {
		for _, u := range d.users {
			addr := u.local + "@" + d.name
			if u.entry.Dir != "" {
				ix.byOldHome[filepath.Clean(u.entry.Dir)] = addr
			}
			if u.home != "" {
				ix.byOldHome[filepath.Clean(u.home)] = addr
			}
			ix.newHome[addr] = r.opt.Dir.MailboxHome(u.local, d.name)
		}
	}
	if !r.opt.DryRun {
		if err := os.MkdirAll(r.opt.VmailRoot, 0o755); err != nil {
			return fmt.Errorf("import: %w", err)
		}
	}
	for _, d := range src.domains {
		r.tally.usersTotal += len(d.users)
	}
	r.progressf("%s with %s to look at", plural(len(src.domains), "domain"), plural(r.tally.usersTotal, "user"))
	for _, d := range src.domains {
		r.tally.domains++
		if err := r.importDomain(d, ix); err != nil {
			return err
		}
	}
	aliases := make([]string, 0, len(src.aliases))
	for a := range src.aliases {
		aliases = append(aliases, a)
	}
	sort.Strings(aliases)
	for _, a := range aliases {
		if err := r.importAliasDomain(a, src.aliases[a]); err != nil {
			return err
		}
	}
	return nil
}

// isRefusal sorts an error of the virtual directory: a refusal (the
// thing is invalid or missing) is a problem of this item, anything else
// is trouble that stops the import.
func isRefusal(err error) bool {
	return errors.Is(err, vdir.ErrInvalid) || errors.Is(err, vdir.ErrNotFound)
}

func (r *run) importDomain(d *srcDomain, ix *mailboxIndex) error {
	want := vdir.Catchall{Kind: vdir.CatchBounce}
	var note string
	if d.def != nil {
		c, n, problem := planDefault(d.name, d.def, ix)
		if problem != "" {
			r.notCarried("%s", problem)
		} else {
			want, note = c, n
		}
	}
	catchLine := "catch-all " + d.name + ": " + want.String()
	if note != "" {
		catchLine += " (" + note + ")"
	}

	existing, exists, err := r.opt.Dir.Domain(d.name)
	if err != nil {
		return fmt.Errorf("import domain %s: %w", d.name, err)
	}
	// A catch-all mailbox must be a user of the domain: it is set once
	// the users are in.
	created, pendingCatch := false, want.Kind == vdir.CatchMailbox
	switch {
	case exists && existing.AliasOf != "":
		r.notCarried("domain %s: already in the virtual directory as an alias domain of %s; its users were not imported", d.name, existing.AliasOf)
		return nil
	case exists:
		pendingCatch = false
		r.say("domain %s: already there", d.name)
	default:
		line := "domain " + d.name
		if d.quota > 0 {
			line += " (default " + FormatQuota(d.quota, 0) + ")"
		}
		dom := vdir.Domain{Name: d.name, Catchall: want, Quota: d.quota}
		if pendingCatch {
			dom.Catchall = vdir.Catchall{Kind: vdir.CatchBounce}
		}
		if !r.opt.DryRun {
			err := r.opt.Dir.AddDomain(dom)
			switch {
			case err != nil && isRefusal(err):
				r.notCarried("domain %s: %v; its users, aliases and mailboxes were not imported", d.name, err)
				return nil
			case err != nil:
				return fmt.Errorf("import domain %s: %w", d.name, err)
			}
		}
		existing, created = dom, true
		r.say("%s", line)
		if !pendingCatch {
			r.say("%s", catchLine)
		}
	}
	if err := r.mkdir(filepath.Join(r.opt.VmailRoot, d.name), 0o755); err != nil {
		return err
	}
	for _, b := range d.bad {
		r.notCarried("%s", b)
	}
	users := map[string]bool{}
	sort.SliceStable(d.users, func(i, j int) bool { return d.users[i].local < d.users[j].local })
	for _, u := range d.users {
		if users[u.local] {
			r.notCarried("user %s@%s: listed twice in vpasswd; the first line was imported, as vpopmail used it", u.local, d.name)
			continue
		}
		users[u.local] = true
		if err := r.importUser(d, u); err != nil {
			return err
		}
		r.userDone()
	}
	if err := r.importDotFiles(d, users, ix); err != nil {
		return err
	}
	switch {
	case pendingCatch && r.opt.DryRun:
		r.say("%s", catchLine)
	case pendingCatch:
		existing.Catchall = want
		if err := r.opt.Dir.SetDomain(existing); err != nil {
			if !isRefusal(err) {
				return fmt.Errorf("import catch-all of %s: %w", d.name, err)
			}
			r.notCarried("catch-all %s: %s: %v (left at bounce)", d.name, want, err)
			break
		}
		r.say("%s", catchLine)
	case !created && existing.Catchall == want:
		r.say("catch-all %s: already there", d.name)
	case !created:
		r.say("catch-all %s: kept %s (vpopmail had %s)", d.name, existing.Catchall, want)
	}
	return nil
}

func (r *run) importAliasDomain(alias, real string) error {
	existing, exists, err := r.opt.Dir.Domain(alias)
	if err != nil {
		return fmt.Errorf("import alias domain %s: %w", alias, err)
	}
	switch {
	case exists && existing.AliasOf == real:
		r.say("alias domain %s -> %s: already there", alias, real)
		return nil
	case exists:
		r.notCarried("alias domain %s -> %s: %s is already in the virtual directory as something else", alias, real, alias)
		return nil
	}
	if !r.opt.DryRun {
		err := r.opt.Dir.AddDomain(vdir.Domain{Name: alias, AliasOf: real})
		switch {
		case err != nil && isRefusal(err):
			r.notCarried("alias domain %s -> %s: %v", alias, real, err)
			return nil
		case err != nil && !errors.Is(err, vdir.ErrExists):
			return fmt.Errorf("import alias domain %s: %w", alias, err)
		}
	}
	r.say("alias domain %s -> %s", alias, real)
	return nil
}

// importDotFiles turns the domain's .qmail-<ext> files and the users' own
// .qmail files into aliases and instruction files.
func (r *run) importDotFiles(d *srcDomain, users map[string]bool, ix *mailboxIndex) error {
	exts := make([]string, 0, len(d.dots))
	for ext := range d.dots {
		exts = append(exts, ext)
	}
	sort.Strings(exts)
	for _, ext := range exts {
		local := strings.ReplaceAll(ext, ":", ".")
		p := planDotQmail(ext, d.name, d.dots[ext], users[local], ix)
		if err := r.applyDotPlan(d.name, local, ext, ".qmail-"+ext, p); err != nil {
			return err
		}
	}
	for _, u := range d.users {
		if u.home == "" || u.local == "" {
			continue
		}
		addr := u.local + "@" + d.name
		ents, err := os.ReadDir(u.home)
		if err != nil {
			return fmt.Errorf("import %s: %w", addr, err)
		}
		for _, e := range ents {
			name := e.Name()
			if !strings.HasPrefix(name, ".qmail") || !e.Type().IsRegular() {
				continue
			}
			if name != ".qmail" {
				r.notCarried("%s: %s: per-user extension files are not carried over; make it the domain's .qmail-%s%s", addr, filepath.Join(u.home, name), u.local, strings.TrimPrefix(name, ".qmail"))
				continue
			}
			ext := strings.ReplaceAll(u.local, ".", ":")
			if _, shadowed := d.dots[ext]; shadowed {
				r.say("skipped: %s (the domain's .qmail-%s came first for vpopmail too)", filepath.Join(u.home, name), ext)
				continue
			}
			data, err := os.ReadFile(filepath.Join(u.home, name))
			if err != nil {
				return fmt.Errorf("import %s: %w", addr, err)
			}
			p := planUserDotQmail(addr, u.home, data, ix)
			if err := r.applyDotPlan(d.name, u.local, ext, filepath.Join(u.home, ".qmail"), p); err != nil {
				return err
			}
		}
	}
	return nil
}

// applyDotPlan carries out what one .qmail file became.
func (r *run) applyDotPlan(domain, local, ext, from string, p dotPlan) error {
	addr := local + "@" + domain
	switch {
	case p.problem != "":
		r.notCarried("%s", p.problem)
	case p.skip != "":
		r.say("skipped: %s of %s (%s)", from, domain, p.skip)
	case p.alias != nil:
		refused, err := r.importAlias(vdir.Alias{Local: local, Domain: domain, Targets: p.alias})
		if err != nil || refused == nil {
			return err
		}
		p.alias, p.why = nil, fmt.Sprintf("not an alias: %v", refused)
		return r.applyDotPlan(domain, local, ext, from, p)
	default:
		path := filepath.Join(r.opt.VmailRoot, domain, ".qmail-"+ext)
		what := fmt.Sprintf("instructions %s: %s copied to %s", addr, from, path)
		if p.why != "" {
			what += " (" + p.why + ")"
		}
		if err := r.writeInstructions(what, path, p.instr); err != nil {
			return err
		}
		for _, line := range p.notes {
			r.notCarried("%s: %s was copied, but its line %q names the old vpopmail tree; change it when that tree is gone", addr, path, line)
		}
	}
	return nil
}

// importAlias sets an alias unless it is there. refused is the
// directory's reason when it will not store the alias; err is trouble.
func (r *run) importAlias(a vdir.Alias) (refused, err error) {
	line := fmt.Sprintf("alias %s@%s -> %s", a.Local, a.Domain, strings.Join(a.Targets, ", "))
	// The directory's own check of forward targets, so that a dry run
	// knows what the directory would refuse.
	if _, err := vdir.ParseCatchall("forward:"+strings.Join(a.Targets, ","), a.Domain); err != nil {
		if inner := errors.Unwrap(err); inner != nil {
			err = inner // without the "catch-all" wrapping
		}
		return err, nil
	}
	if !r.opt.DryRun {
		have, err := r.opt.Dir.Aliases(a.Domain)
		if err != nil && !isRefusal(err) {
			return nil, fmt.Errorf("import alias %s@%s: %w", a.Local, a.Domain, err)
		}
		for _, h := range have {
			if h.Local != a.Local {
				continue
			}
			if sameTargets(h.Targets, a.Targets) {
				r.say("%s: already there", line)
			} else {
				r.say("alias %s@%s: kept -> %s (vpopmail had %s)", a.Local, a.Domain, strings.Join(h.Targets, ", "), strings.Join(a.Targets, ", "))
			}
			return nil, nil
		}
		if err := r.opt.Dir.SetAlias(a); err != nil {
			if isRefusal(err) || errors.Is(err, vdir.ErrExists) {
				return err, nil
			}
			return nil, fmt.Errorf("import alias %s@%s: %w", a.Local, a.Domain, err)
		}
	}
	r.say("%s", line)
	return nil, nil
}

func sameTargets(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !strings.EqualFold(a[i], b[i]) {
			return false
		}
	}
	return true
}

// writeInstructions writes an instruction file for goqmail's virtual
// delivery unless it exists; an existing different one is kept (the
// admin may have changed it since an earlier run).
func (r *run) writeInstructions(what, path string, data []byte) error {
	old, err := os.ReadFile(path)
	switch {
	case err == nil && string(old) == string(data):
		r.say("%s: already there", what)
		return nil
	case err == nil:
		r.say("%s: kept the different file that is there", what)
		return nil
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("import %s: %w", path, err)
	}
	r.say("%s", what)
	if r.opt.DryRun {
		return nil
	}
	if err := atomicfile.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("import %s: %w", path, err)
	}
	if r.opt.Owner != nil {
		if err := os.Chown(path, r.opt.Owner.UID, r.opt.Owner.GID); err != nil {
			return fmt.Errorf("import %s: %w", path, err)
		}
	}
	return nil
}
