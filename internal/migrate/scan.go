package migrate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// srcDomain is one real vpopmail domain as found in the old tree.
type srcDomain struct {
	name  string
	dir   string // the directory holding vpasswd
	users []*srcUser
	dots  map[string][]byte // ext -> content of .qmail-<ext> (not default)
	// def is .qmail-default (nil: none).
	def   []byte
	quota int64    // default quota for new users (.qmailadmin-limits)
	bad   []string // vpasswd lines that could not be read
}

// srcUser is one vpasswd entry.
type srcUser struct {
	entry VpasswdEntry
	local string
	home  string // the mailbox directory as found ("" = none on disk)
}

// source is what the vpopmail tree holds.
type source struct {
	domains  []*srcDomain      // sorted by name
	aliases  map[string]string // alias domain -> real domain
	problems []string
}

// assignDomain is a vpopmail line of users/assign:
// "+<domain>-:<real domain>:uid:gid:<domain dir>:-::" (vpopmail.c
// add_domain_assign). An alias domain (vaddaliasdomain) has its own name
// first and the real domain's name and directory after it.
type assignDomain struct {
	name, real, dir string
}

// parseAssignDomains picks vpopmail's domain lines out of users/assign,
// as vpopmail's get_domain_entries does: lines starting with '+' whose
// first field ends in '-' and contains a '.'. Other lines are not its
// business.
func parseAssignDomains(data []byte) []assignDomain {
	var out []assignDomain
	for line := range strings.SplitSeq(string(data), "\n") {
		if !strings.HasPrefix(line, "+") {
			continue
		}
		f := strings.Split(line[1:], ":")
		if len(f) < 5 || !strings.HasSuffix(f[0], "-") || !strings.Contains(f[0], ".") || f[1] == "" || !strings.HasPrefix(f[4], "/") {
			continue
		}
		out = append(out, assignDomain{
			name: strings.ToLower(strings.TrimSuffix(f[0], "-")),
			real: strings.ToLower(f[1]),
			dir:  filepath.Clean(f[4]),
		})
	}
	return out
}

// isVpopmailAssignLine reports whether an assign line is one of
// vpopmail's domain lines for a domain in served (or living in the old
// tree): the virtual directory serves those domains now.
func isVpopmailAssignLine(line string, served map[string]bool, oldRoot string) bool {
	ds := parseAssignDomains([]byte(line + "\n"))
	if len(ds) != 1 {
		return false
	}
	d := ds[0]
	return served[d.name] || (oldRoot != "" && strings.HasPrefix(d.dir+"/", oldRoot+"/"))
}

// scanVpopmail reads the vpopmail tree under root: the domains listed in
// users/assign (assignData, may be nil) and the entries of root/domains,
// which are domain directories holding vpasswd, symbolic links to them
// (old-style alias domains), or the hash buckets of a large installation
// (names without a dot, holding more domain directories).
func scanVpopmail(root string, assignData []byte) (*source, error) {
	src := &source{aliases: map[string]string{}}
	byName := map[string]*srcDomain{}
	byDir := map[string]*srcDomain{} // real path -> domain
	realPath := func(p string) string {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return r
		}
		return filepath.Clean(p)
	}
	addReal := func(name, dir string) error {
		if d, ok := byName[name]; ok && realPath(d.dir) == realPath(dir) {
			return nil
		}
		if d, ok := byDir[realPath(dir)]; ok {
			if d.name != name {
				src.aliases[name] = d.name
			}
			return nil
		}
		d, err := readDomain(name, dir, root)
		if err != nil {
			return err
		}
		byName[name], byDir[realPath(dir)] = d, d
		src.domains = append(src.domains, d)
		return nil
	}

	ads := parseAssignDomains(assignData)
	// Real domains first, so that alias lines find them.
	var missing []assignDomain
	for _, a := range ads {
		if a.name != a.real {
			continue
		}
		dir := rebase(a.dir, root)
		if dir == "" {
			missing = append(missing, a)
			continue
		}
		if err := addReal(a.name, dir); err != nil {
			return nil, err
		}
	}
	for _, a := range ads {
		if a.name != a.real {
			src.aliases[a.name] = a.real
		}
	}

	var walk func(dir string, depth int) error
	walk = func(dir string, depth int) error {
		ents, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) && depth == 0 {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read vpopmail tree: %w", err)
		}
		// Directories before symbolic links: a link to a domain
		// directory is an alias domain (vpopmail before 5.4 made alias
		// domains that way), whatever the names' order.
		sort.SliceStable(ents, func(i, j int) bool {
			return ents[i].Type()&fs.ModeSymlink == 0 && ents[j].Type()&fs.ModeSymlink != 0
		})
		for _, e := range ents {
			name, path := e.Name(), filepath.Join(dir, e.Name())
			if strings.HasPrefix(name, ".") {
				continue // .dir-control, .no-user.msg, .quotawarn.msg ...
			}
			fi, err := os.Stat(path)
			if err != nil || !fi.IsDir() {
				continue
			}
			if _, err := os.Stat(filepath.Join(path, "vpasswd")); err == nil {
				if err := addReal(strings.ToLower(name), path); err != nil {
					return err
				}
				continue
			}
			if !strings.Contains(name, ".") && depth < 2 {
				if err := walk(path, depth+1); err != nil {
					return err
				}
				continue
			}
			if _, known := byName[strings.ToLower(name)]; !known && src.aliases[strings.ToLower(name)] == "" {
				src.problems = append(src.problems, fmt.Sprintf("domain %s: %s has no vpasswd (a SQL or LDAP backend cannot be imported)", name, path))
			}
		}
		return nil
	}
	if err := walk(filepath.Join(root, "domains"), 0); err != nil {
		return nil, err
	}
	for _, a := range missing {
		if _, ok := byName[a.name]; !ok {
			src.problems = append(src.problems, fmt.Sprintf("domain %s: users/assign points at %s, which has no vpasswd (a SQL or LDAP backend cannot be imported)", a.name, a.dir))
		}
	}

	// An alias of an alias answers for the last real domain.
	for a := range src.aliases {
		r := src.aliases[a]
		for i := 0; i < 10 && src.aliases[r] != ""; i++ {
			r = src.aliases[r]
		}
		if _, ok := byName[r]; !ok {
			src.problems = append(src.problems, fmt.Sprintf("alias domain %s: it answers for %s, which was not found", a, r))
			delete(src.aliases, a)
			continue
		}
		src.aliases[a] = r
	}
	for a := range src.aliases {
		if _, ok := byName[a]; ok {
			delete(src.aliases, a) // listed as both: the real domain wins
		}
	}
	sort.Slice(src.domains, func(i, j int) bool { return src.domains[i].name < src.domains[j].name })
	return src, nil
}

// readDomain reads one domain directory: vpasswd, the .qmail files and
// the default quota of qmailadmin's .qmailadmin-limits.
func readDomain(name, dir, root string) (*srcDomain, error) {
	d := &srcDomain{name: name, dir: dir, dots: map[string][]byte{}}
	data, err := os.ReadFile(filepath.Join(dir, "vpasswd"))
	if err != nil {
		return nil, fmt.Errorf("domain %s: %w", name, err)
	}
	for n, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		e, err := ParseVpasswdLine(line)
		if err != nil {
			d.bad = append(d.bad, fmt.Sprintf("%s line %d: %v", filepath.Join(dir, "vpasswd"), n+1, err))
			continue
		}
		d.users = append(d.users, &srcUser{entry: e, local: strings.ToLower(e.Name), home: findHome(e.Dir, root)})
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("domain %s: %w", name, err)
	}
	for _, e := range ents {
		ext, ok := strings.CutPrefix(e.Name(), ".qmail-")
		if !ok || !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("domain %s: %w", name, err)
		}
		if ext == "default" {
			d.def = b
		} else {
			d.dots[ext] = b
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, ".qmailadmin-limits")); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "default_quota:"); ok {
				if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && n > 0 {
					d.quota = n
				}
			}
		}
	}
	return d, nil
}

// findHome finds a user's directory from the vpasswd dir field ("" when
// it does not exist: vpopmail makes it at the first delivery).
func findHome(dir, root string) string {
	if dir == "" {
		return ""
	}
	return rebase(dir, root)
}

// rebase finds a directory of the old tree: the path as it is, or, when
// the tree has been moved or mounted elsewhere, the same path below
// root/domains. "" when neither exists.
func rebase(dir, root string) string {
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		return dir
	}
	if i := strings.LastIndex(dir, "/domains/"); i >= 0 {
		alt := filepath.Join(root, dir[i+1:])
		if fi, err := os.Stat(alt); err == nil && fi.IsDir() {
			return alt
		}
	}
	return ""
}
