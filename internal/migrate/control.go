package migrate

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"goqmail/internal/assign"
	"goqmail/internal/control"
)

// importControl carries QMAILDIR/control over to ROOT/control: every file
// goqmail has a setting for (control.All) as it is, with three
// adjustments for what vpopmail wrote there (vpopmail.c
// add_domain_assign): morercpthosts, the overflow of rcpthosts past 50
// domains, is merged into rcpthosts (goqmail has no such limit and reads
// no cdb); vpopmail's "domain:domain" lines of virtualdomains are left
// out, since the virtual directory serves those domains now; and a
// defaultdelivery that runs vdelivermail is refused. Files goqmail has no
// setting for are listed, not copied.
func (r *run) importControl() error {
	dir := filepath.Join(r.opt.QmailDir, "control")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("read qmail control files: %w", err)
	}
	known := map[string]bool{}
	for _, s := range control.All {
		known[s.Name] = true
	}
	present := map[string]bool{}
	for _, e := range ents {
		present[e.Name()] = true
	}
	read := func(name string) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read qmail control file: %w", err)
		}
		return b, nil
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if present["morercpthosts"] && !present["rcpthosts"] {
		names = append(names, "rcpthosts")
		sort.Strings(names)
	}
	for _, name := range names {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil && !(name == "rcpthosts" && !present[name]) {
			return fmt.Errorf("read qmail control files: %w", err)
		}
		switch {
		case strings.HasPrefix(name, "."), name == "morercpthosts":
			continue // morercpthosts: merged into rcpthosts below
		case fi != nil && fi.IsDir():
			r.notCarried("control/%s/: a directory; goqmail has no such setting", name)
			continue
		case strings.HasSuffix(name, ".cdb"):
			src := strings.TrimSuffix(name, ".cdb")
			if present[src] {
				r.say("skipped: control/%s (compiled from %s, which is read instead)", name, src)
			} else {
				r.notCarried("control/%s: goqmail reads no cdb files; put its source text %s next to it and run the import again", name, src)
			}
			continue
		case !known[name]:
			r.notCarried("control/%s: goqmail has no such setting", name)
			continue
		case name == "smtpplugins":
			// Same format, but the programs are the old installation's
			// (qmail-spp's plugins/): copied blindly, a missing one would
			// stop goqmail's start.
			r.notCarried("control/%s: its plugins are programs of the old installation; check each one and copy the file by hand (docs/antispam.md)", name)
			continue
		}
		var data []byte
		if present[name] {
			if data, err = read(name); err != nil {
				return err
			}
		}
		what := "control " + name
		switch name {
		case "rcpthosts":
			if present["morercpthosts"] {
				more, err := read("morercpthosts")
				if err != nil {
					return err
				}
				var n int
				data, n = mergeLines(data, more)
				what += fmt.Sprintf(" (with the %d domains of morercpthosts)", n)
			}
		case "virtualdomains":
			var n int
			data, n = dropVirtualDomains(data, r.served)
			if n > 0 {
				what += fmt.Sprintf(" (%d vpopmail domain lines left out: the virtual directory serves them)", n)
			}
			if len(bytes.TrimSpace(data)) == 0 {
				r.say("skipped: control/virtualdomains (only vpopmail's domain lines: the virtual directory serves those domains now)")
				continue
			}
		case "defaultdelivery":
			if bytes.Contains(data, []byte("vdelivermail")) {
				r.notCarried("control/defaultdelivery runs vdelivermail, which goqmail replaces; the default ./Maildir/ stays")
				continue
			}
		case "locals":
			for _, l := range strings.Split(string(data), "\n") {
				if d := strings.ToLower(strings.TrimSpace(l)); r.served[d] {
					r.notCarried("control/locals lists %s, a vpopmail domain: goqmail would deliver it to system users; take it out of ROOT/control/locals", d)
				}
			}
		}
		if err := r.writeFile(what, filepath.Join(r.opt.Root, "control", name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// mergeLines appends to a the lines of b it does not have yet
// (case-insensitively, as domains compare) and says how many.
func mergeLines(a, b []byte) ([]byte, int) {
	have := map[string]bool{}
	for _, l := range strings.Split(string(a), "\n") {
		have[strings.ToLower(strings.TrimSpace(l))] = true
	}
	out := append([]byte(nil), a...)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		k := strings.ToLower(strings.TrimSpace(l))
		if k == "" || have[k] {
			continue
		}
		have[k] = true
		out = append(out, strings.TrimSpace(l)+"\n"...)
		n++
	}
	return out, n
}

// dropVirtualDomains removes virtualdomains lines whose domain the
// virtual directory serves.
func dropVirtualDomains(data []byte, served map[string]bool) ([]byte, int) {
	var out bytes.Buffer
	n := 0
	for _, l := range strings.SplitAfter(string(data), "\n") {
		if l == "" {
			continue
		}
		key, _, ok := strings.Cut(strings.TrimSpace(l), ":")
		if ok && served[strings.ToLower(key)] {
			n++
			continue
		}
		out.WriteString(l)
	}
	return out.Bytes(), n
}

// importAssign carries users/assign over as it is (goqmail reads the same
// format, no qmail-newu step), without vpopmail's domain lines: goqmail
// routes those domains through the virtual directory. qmail-newu's
// compiled users/cdb cannot be read, so without the text the import says
// so. The result must parse as goqmail's users/assign, or it is not
// written.
func (r *run) importAssign(data []byte, exists bool) error {
	if !exists {
		if _, err := os.Stat(filepath.Join(r.opt.QmailDir, "users", "cdb")); err == nil {
			r.notCarried("users/cdb: goqmail cannot read qmail-newu's cdb; put the users/assign it was made from at %s and run the import again", filepath.Join(r.opt.QmailDir, "users", "assign"))
		}
		return nil
	}
	var keep bytes.Buffer
	dropped, kept := 0, 0
	for _, l := range strings.SplitAfter(string(data), "\n") {
		if l == "" {
			continue
		}
		if isVpopmailAssignLine(strings.TrimSuffix(l, "\n"), r.served, r.oldRoot) {
			dropped++
			continue
		}
		if strings.TrimSuffix(l, "\n") != "." {
			kept++
		}
		keep.WriteString(l)
	}
	if kept == 0 {
		r.say("skipped: users/assign (only vpopmail's domain lines: the virtual directory serves those domains now)")
		return nil
	}
	if _, err := assign.Parse(bytes.NewReader(keep.Bytes())); err != nil {
		r.notCarried("users/assign: goqmail cannot read it (%v); fix it and run the import again", err)
		return nil
	}
	what := "users/assign"
	if dropped > 0 {
		what += fmt.Sprintf(" (%d vpopmail domain lines left out: the virtual directory serves them)", dropped)
	}
	return r.writeFile(what, filepath.Join(r.opt.Root, "users", "assign"), keep.Bytes(), 0o644)
}

// readAssign reads QMAILDIR/users/assign; exists is false when there is
// none.
func readAssign(qmailDir string) (data []byte, exists bool, err error) {
	if qmailDir == "" {
		return nil, false, nil
	}
	data, err = os.ReadFile(filepath.Join(qmailDir, "users", "assign"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read users/assign: %w", err)
	}
	return data, true, nil
}
