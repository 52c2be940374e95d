package admin

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"goqmail/internal/assign"
	"goqmail/internal/control"
	"goqmail/internal/rcptcheck"
	"goqmail/internal/rewrite"
	"goqmail/internal/vdir"
)

// checkPostmaster reports the local domains whose postmaster would be
// refused: RFC 5321 section 4.5.1 requires every host that receives mail
// to accept it for postmaster, and a fresh installation that answered 550
// passed the check (issue 10, item 4).
//
// The question is asked as the SMTP server asks it at RCPT time
// (internal/rcptcheck, built as smtpd builds it), so the check and the
// server cannot disagree: routing, users/assign, passwd, the alias user
// and its .qmail files, the aliases file. Domains that route elsewhere
// are not this host's to answer for. A broken control/ is reported by
// Check itself.
func checkPostmaster(root string, rootMode bool) []Problem {
	ctl := filepath.Join(root, "control")
	snap, err := control.Load(ctl)
	if err != nil {
		return nil
	}
	single := 0 // root: the spawner delivers as anyone
	if !rootMode {
		single = os.Getuid()
	}
	dir := vdir.OpenFiles(filepath.Join(root, "vdir"), filepath.Join(root, "vmail"), -1, -1)
	c := &rcptcheck.Checker{
		Rules:       rewrite.New(snap).WithDirectory(dir),
		Directory:   dir,
		VmailRoot:   filepath.Join(root, "vmail"),
		Assign:      &assign.File{Path: filepath.Join(root, "users", "assign")},
		System:      assign.OSSystem{},
		SingleUID:   single,
		AliasUser:   snap.Line(control.AliasUser),
		AliasesFile: snap.Line(control.Aliases),
	}
	// me and every local domain; one problem per distinct reason.
	var order []string
	byWhy := map[string][]string{}
	seen := map[string]bool{}
	for _, d := range append([]string{snap.Line(control.Me)}, snap.List(control.Locals)...) {
		d = strings.ToLower(d)
		if d == "" || seen[d] {
			continue
		}
		seen[d] = true
		addr := "postmaster@" + d
		res := c.Check(addr)
		var what string
		switch res.Verdict {
		case rcptcheck.Exists, rcptcheck.NotLocal:
			continue
		case rcptcheck.NoSuch:
			what = "refused at RCPT time with 550 5.1.1 (" + res.Why + ")"
		case rcptcheck.TempFail:
			what = "deferred at RCPT time with 451 (" + res.Why + ")"
		default:
			what = "cannot be verified (" + res.Why + ")"
		}
		if _, ok := byWhy[what]; !ok {
			order = append(order, what)
		}
		byWhy[what] = append(byWhy[what], addr)
	}
	var probs []Problem
	for _, what := range order {
		probs = append(probs, Problem{
			Path: strings.Join(byWhy[what], ", "),
			What: what + "; RFC 5321 4.5.1 requires postmaster",
			Fix:  postmasterFix(root, snap.Line(control.AliasUser), rootMode),
		})
	}
	return probs
}

// postmasterFix says how to repair it, naming the file to write.
func postmasterFix(root, aliasUser string, rootMode bool) string {
	if aliasUser == "" {
		return fmt.Sprintf("name the alias user in %s (goqmail install makes it), or give postmaster an account", filepath.Join(root, "control", "aliasuser"))
	}
	home := ""
	if t, err := (&assign.File{Path: filepath.Join(root, "users", "assign")}).Table(); err == nil {
		if e, ok := t.Lookup(aliasUser); ok {
			home = e.Home
		}
	}
	if home == "" {
		if pw, ok, err := (assign.OSSystem{}).LookupUser(aliasUser); err == nil && ok {
			home = pw.Home
		}
	}
	write := "write ./Maildir/ or an address into the alias user's .qmail-postmaster"
	if home != "" {
		write = fmt.Sprintf("write ./Maildir/ or an address into %s", filepath.Join(home, ".qmail-postmaster"))
	}
	if rootMode {
		return "run `goqmail install` as root, which makes the alias user " + aliasUser + " and its .qmail files, or " + write + " (docs/delivery.md)"
	}
	return write + " (docs/delivery.md)"
}
