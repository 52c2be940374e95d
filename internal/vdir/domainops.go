package vdir

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"goqmail/internal/dirsync"
)

// normalizeDomain checks every field of d and returns it in the form the
// domain file stores.
func normalizeDomain(d Domain) (Domain, error) {
	name, err := CheckDomain(d.Name)
	if err != nil {
		return Domain{}, err
	}
	d.Name = name
	if d.AliasOf != "" {
		if d.AliasOf, err = CheckDomain(d.AliasOf); err != nil {
			return Domain{}, fmt.Errorf("alias of: %w", err)
		}
		if d.AliasOf == name {
			return Domain{}, invalidf("domain %s cannot be an alias of itself", name)
		}
		if d.Postmaster != "" || d.Catchall != (Catchall{}) || d.Quota != 0 {
			return Domain{}, invalidf("alias domain %s cannot have its own postmaster, catch-all or quota: it answers exactly like %s", name, d.AliasOf)
		}
		return d, nil
	}
	if d.Postmaster, err = checkPostmaster(d.Postmaster, name); err != nil {
		return Domain{}, err
	}
	if d.Catchall, err = checkCatchall(d.Catchall, name); err != nil {
		return Domain{}, err
	}
	if err := checkQuota("quota", d.Quota); err != nil {
		return Domain{}, err
	}
	return d, nil
}

// checkRefs refuses settings of d that name a user or alias s does not
// have: a catch-all mailbox or a postmaster that points nowhere would
// silently turn into bounces.
func checkRefs(d Domain, s *snapshot) error {
	if c := d.Catchall; c.Kind == CatchMailbox {
		if _, ok := s.boxes[c.Target]; !ok {
			return notFoundf("catch-all mailbox:%s: %s has no user %s (add the user first, then set the catch-all)", c.Target, d.Name, c.Target)
		}
	}
	if p := d.Postmaster; p != "" && !strings.Contains(p, "@") {
		_, isUser := s.boxes[p]
		_, isAlias := s.aliases[p]
		if !isUser && !isAlias {
			return notFoundf("postmaster %s: %s has no user or alias %s (add it first, or give a full address)", p, d.Name, p)
		}
	}
	return nil
}

// checkAliasTarget refuses an alias domain whose target is missing or is
// itself an alias domain (one level only, so lookups cannot loop).
func (f *Files) checkAliasTarget(d Domain) error {
	t, err := f.load(d.AliasOf, false)
	if err != nil {
		return err
	}
	if !t.exists {
		return notFoundf("alias domain %s: there is no domain %s to be an alias of", d.Name, d.AliasOf)
	}
	if t.dom.AliasOf != "" {
		return invalidf("alias domain %s: %s is itself an alias domain of %s; make %s an alias of %s instead", d.Name, d.AliasOf, t.dom.AliasOf, d.Name, t.dom.AliasOf)
	}
	return nil
}

// aliasDomainsOf lists the alias domains that answer for name.
func (f *Files) aliasDomainsOf(name string) ([]string, error) {
	all, err := f.Domains()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range all {
		if d.AliasOf == name {
			out = append(out, d.Name)
		}
	}
	return out, nil
}

// AddDomain creates a domain or alias domain. Its directory is built
// complete under ROOT/vdir/.tmp-<domain>-<random>/ and renamed into
// place, so a failure at any step leaves no half-made domain; the
// mailbox directory ROOT/vmail/<domain> is made before the rename and
// removed again if the rename fails.
func (f *Files) AddDomain(d Domain) error {
	d, err := normalizeDomain(d)
	if err != nil {
		return err
	}
	unlock, err := f.lock()
	if err != nil {
		return err
	}
	defer unlock()
	cur, err := f.load(d.Name, false)
	if err != nil {
		return err
	}
	if cur.exists {
		if cur.dom.AliasOf != "" {
			return existsf("domain %s already exists (an alias domain of %s)", d.Name, cur.dom.AliasOf)
		}
		return existsf("domain %s already exists", d.Name)
	}
	if d.AliasOf != "" {
		if err := f.checkAliasTarget(d); err != nil {
			return err
		}
	} else if err := checkRefs(d, &snapshot{dom: d}); err != nil {
		return err
	}
	if err := f.createDomain(d); err != nil {
		return fmt.Errorf("add domain %s: %w", d.Name, err)
	}
	return nil
}

func (f *Files) createDomain(d Domain) error {
	tmp := filepath.Join(f.vdir, ".tmp-"+d.Name+"-"+randomSuffix())
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return err
	}
	madeMailDir := false
	fail := func(err error) error {
		os.RemoveAll(tmp)
		if madeMailDir {
			os.Remove(filepath.Join(f.vmail, d.Name))
		}
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fail(err)
	}
	if err := f.writeDomainFile(tmp, d); err != nil {
		return fail(err)
	}
	if d.AliasOf == "" {
		if err := f.writeEmptyTables(tmp, d.Name); err != nil {
			return fail(err)
		}
		var err error
		if madeMailDir, err = f.makeDomainMailDir(d.Name); err != nil {
			return fail(err)
		}
	}
	if err := f.rename(tmp, filepath.Join(f.vdir, d.Name)); err != nil {
		return fail(err)
	}
	return dirsync.Dir(f.vdir)
}

// writeEmptyTables makes the user and alias tables of a new domain, so
// that Dovecot finds a (still empty) passwd file from the start.
func (f *Files) writeEmptyTables(dir, name string) error {
	if err := f.writeMailboxes(dir, nil); err != nil {
		return err
	}
	if err := f.writeAliases(dir, nil); err != nil {
		return err
	}
	return f.writePasswd(dir, name, nil, nil)
}

// SetDomain replaces the settings of an existing domain: postmaster,
// catch-all, default quota, or which domain an alias domain answers for.
// A domain with users or aliases cannot become an alias domain, and the
// target of alias domains cannot become one itself.
func (f *Files) SetDomain(d Domain) error {
	d, err := normalizeDomain(d)
	if err != nil {
		return err
	}
	unlock, err := f.lock()
	if err != nil {
		return err
	}
	defer unlock()
	cur, err := f.load(d.Name, false)
	if err != nil {
		return err
	}
	if !cur.exists {
		return notFoundf("no virtual domain %s", d.Name)
	}
	dir := filepath.Join(f.vdir, d.Name)
	if d.AliasOf != "" {
		if n, a := len(cur.boxes), len(cur.aliases); n+a > 0 {
			return invalidf("domain %s has %d users and %d aliases: delete them before making it an alias domain", d.Name, n, a)
		}
		if ds, err := f.aliasDomainsOf(d.Name); err != nil {
			return err
		} else if len(ds) > 0 {
			return invalidf("domain %s is the target of alias domains %s: it cannot become an alias domain itself", d.Name, strings.Join(ds, ", "))
		}
		if err := f.checkAliasTarget(d); err != nil {
			return err
		}
		if err := f.writeDomainFile(dir, d); err != nil {
			return fmt.Errorf("set domain %s: %w", d.Name, err)
		}
		for _, n := range []string{fileMailboxes, fileAliases, filePasswd} {
			os.Remove(filepath.Join(dir, n)) // empty, checked above
		}
		return nil
	}
	if err := checkRefs(d, cur); err != nil {
		return err
	}
	if cur.dom.AliasOf != "" {
		// An alias domain becomes a domain of its own: tables first, so
		// it never exists without them.
		if err := f.writeEmptyTables(dir, d.Name); err != nil {
			return fmt.Errorf("set domain %s: %w", d.Name, err)
		}
		if _, err := f.makeDomainMailDir(d.Name); err != nil {
			return fmt.Errorf("set domain %s: %w", d.Name, err)
		}
	}
	if err := f.writeDomainFile(dir, d); err != nil {
		return fmt.Errorf("set domain %s: %w", d.Name, err)
	}
	return nil
}

// DeleteDomain removes a domain or alias domain. The directory is first
// renamed to ROOT/vdir/.deleted-<domain>-<time> (one atomic step: the
// domain is gone for every reader) and then removed. The mailboxes are
// kept: ROOT/vmail/<domain> is renamed to ROOT/vmail/.deleted-<domain>-<time>
// for the administrator to archive or remove, so that a new domain of
// the same name starts empty.
func (f *Files) DeleteDomain(name string) error {
	d, err := CheckDomain(name)
	if err != nil {
		return err
	}
	unlock, err := f.lock()
	if err != nil {
		return err
	}
	defer unlock()
	cur, err := f.load(d, false)
	if err != nil {
		return err
	}
	if !cur.exists {
		return notFoundf("no virtual domain %s", d)
	}
	if ds, err := f.aliasDomainsOf(d); err != nil {
		return err
	} else if len(ds) > 0 {
		return invalidf("domain %s is the target of alias domains %s: delete those first", d, strings.Join(ds, ", "))
	}
	gone := aside(f.vdir, d)
	if err := os.Rename(filepath.Join(f.vdir, d), gone); err != nil {
		return fmt.Errorf("delete domain %s: %w", d, err)
	}
	if err := dirsync.Dir(f.vdir); err != nil {
		return fmt.Errorf("delete domain %s: %w", d, err)
	}
	if err := os.RemoveAll(gone); err != nil {
		return fmt.Errorf("domain %s deleted, but removing %s failed: %w", d, gone, err)
	}
	if cur.dom.AliasOf != "" {
		return nil
	}
	return f.moveAside(filepath.Join(f.vmail, d), f.vmail, d)
}
