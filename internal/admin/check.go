package admin

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"goqmail/internal/accounts"
	"goqmail/internal/ctlcheck"
)

// Problem is one thing wrong with an installation, with what to do.
type Problem struct{ Path, What, Fix string }

func (p Problem) String() string {
	if p.Fix == "" {
		return p.Path + ": " + p.What
	}
	return p.Path + ": " + p.What + "; " + p.Fix
}

// Check verifies the installation at root (qmail's instcheck). rootMode
// says whether it is a root installation with system accounts; otherwise
// everything must belong to the invoking user.
func Check(root string, rootMode bool) []Problem {
	var probs []Problem
	add := func(path, what, fix string) { probs = append(probs, Problem{path, what, fix}) }
	ids := map[string]accounts.IDs{}
	if rootMode {
		for _, a := range accounts.All {
			id, err := accounts.Lookup(a)
			if err != nil {
				add("account "+a.Name, err.Error(), "run `goqmail install` as root")
				continue
			}
			ids[a.Name] = id
		}
	}
	// A directory made by `goqmail init` has no bin/: it runs the programs
	// of the build, wherever they are.
	_, err := os.Stat(filepath.Join(root, "bin"))
	devDir := errors.Is(err, fs.ErrNotExist)
	for _, e := range Layout {
		if devDir && (e.Path == "bin" || strings.HasPrefix(e.Path, "bin/")) {
			continue
		}
		path := filepath.Join(root, e.Path)
		st, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			add(path, "missing", fixFor(rootMode))
			continue
		}
		if err != nil {
			add(path, err.Error(), "check the file system")
			continue
		}
		if e.Link != "" {
			if dst, err := os.Readlink(path); err != nil || dst != e.Link {
				add(path, "is not a symbolic link to "+e.Link, fixFor(rootMode))
			}
			continue
		}
		if e.Dir != st.IsDir() {
			add(path, fmt.Sprintf("is a %v, expected %s", st.Mode().Type(), kind(e.Dir)), fixFor(rootMode))
			continue
		}
		if !e.Dir && !st.Mode().IsRegular() {
			add(path, "is not a regular file", fixFor(rootMode))
			continue
		}
		if st.Mode().Perm() != e.Mode {
			add(path, fmt.Sprintf("mode %#o, expected %#o", st.Mode().Perm(), e.Mode), fmt.Sprintf("chmod %o %s", e.Mode, path))
		}
		uid := int(st.Sys().(*syscall.Stat_t).Uid)
		want, who := os.Getuid(), "you"
		if rootMode {
			want, who = 0, "root"
			if e.Owner != nil {
				id, ok := ids[e.Owner.Name]
				if !ok {
					continue
				}
				want, who = id.UID, e.Owner.Name
			}
		}
		if uid != want {
			add(path, fmt.Sprintf("owned by uid %d, expected %s (uid %d)", uid, who, want), fixFor(rootMode))
		}
	}
	probs = append(probs, CheckConfig(root, rootMode).Problems...)
	if st, err := os.Stat(filepath.Join(root, "control", "rcpthosts")); err != nil || st.Size() == 0 {
		add(filepath.Join(root, "control", "rcpthosts"), "missing or empty: no mail will be accepted from other hosts", "list the domains you receive mail for")
	}
	probs = append(probs, checkPostmaster(root, rootMode)...)
	return probs
}

// ConfigResult is CheckConfig's answer, in the form Check reports.
type ConfigResult struct {
	Problems []Problem
	Warnings []string
}

// CheckConfig validates the configuration under root (internal/ctlcheck):
// what `goqmail check -config` prints and goqmaild runs before it starts
// anything or forwards a SIGHUP. rootMode checks, too, that each file is
// readable by the accounts of the programs that read it.
func CheckConfig(root string, rootMode bool) ConfigResult {
	var opt ctlcheck.Options
	if rootMode {
		opt.Accounts = ctlcheck.AccountsOf()
	}
	res := ctlcheck.Check(root, opt)
	out := ConfigResult{Warnings: res.Warnings}
	for _, p := range res.Problems {
		path := p.File
		if p.Line > 0 {
			path += fmt.Sprintf(" line %d", p.Line)
		}
		out.Problems = append(out.Problems, Problem{Path: path, What: p.What, Fix: p.Fix})
	}
	return out
}

func kind(dir bool) string {
	if dir {
		return "directory"
	}
	return "file"
}

func fixFor(rootMode bool) string {
	if rootMode {
		return "run `goqmail install` as root to repair"
	}
	return "run `goqmail init` to recreate"
}
