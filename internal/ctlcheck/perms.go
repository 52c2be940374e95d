package ctlcheck

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"syscall"

	"goqmail/internal/accounts"
	"goqmail/internal/control"
)

// readable checks, for a root installation, that every existing control
// file (and users/assign) can be read by the account of each program that
// reads it. The check itself runs as root and reads everything; the
// programs do not: a servercert.pem left mode 0600 root:root would cost
// smtpd its TLS, an unreadable rcpthosts would stop it from starting.
func (c *checker) readable() {
	if c.opt.Accounts == nil {
		return
	}
	for _, st := range control.All {
		c.readableBy("control/"+st.Name, c.readers(st.UsedBy), st)
	}
	// smtpd's recipient check reads users/assign (the spawner reads it as
	// root).
	c.readableBy("users/assign", []string{"smtpd"}, nil)
}

// readers turns a setting's UsedBy into the programs with accounts. pop3d
// and web count only when they run (a POP3 or web address is configured).
func (c *checker) readers(usedBy []string) []string {
	var progs []string
	for _, u := range usedBy {
		if u == "all" {
			for p := range programAccounts {
				progs = append(progs, p)
			}
			continue
		}
		progs = append(progs, u)
	}
	pop3 := len(c.snap.List(control.POP3Listen))+len(c.snap.List(control.POP3SListen)) > 0
	web := len(c.snap.List(control.WebListen)) > 0
	var out []string
	for _, p := range progs {
		if _, ok := c.opt.Accounts[p]; ok && (p != "pop3d" || pop3) && (p != "web" || web) && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

func (c *checker) readableBy(file string, progs []string, st *control.Setting) {
	path := c.path(file)
	fi, err := os.Stat(path)
	if err != nil {
		return // missing: the default; unreadable by root: reported already
	}
	for _, p := range progs {
		ids := c.opt.Accounts[p]
		acct := programAccounts[p]
		if dir := filepath.Dir(path); !canAccess(dir, ids, 0o1) {
			c.problem(control.Problem{File: file, What: fmt.Sprintf("%s cannot be searched by %s, the account %s runs as", dir, acct.Name, p),
				Fix: "chmod 755 " + dir})
			return
		}
		if canRead(fi, ids) {
			continue
		}
		sys := fi.Sys().(*syscall.Stat_t)
		fix := fmt.Sprintf("chmod 644 %s, or chgrp %s %s and chmod 640 it", path, acct.Group, path)
		switch st {
		case control.ServerCert: // the private key: never for everyone
			fix = fmt.Sprintf("chown root:%s %s; chmod 640 %s", accounts.NoFiles, path, path)
		case control.SMTPRoutes: // may hold relay passwords
			fix = fmt.Sprintf("chown root:%s %s; chmod 640 %s", accounts.Group, path, path)
		}
		c.problem(control.Problem{File: file,
			What: fmt.Sprintf("cannot be read by %s (uid %d, gid %d), the account %s runs as: the file is owned by uid %d, gid %d, mode %#o",
				acct.Name, ids.UID, ids.GID, p, sys.Uid, sys.Gid, fi.Mode().Perm()),
			Fix: fix})
	}
}

// canRead applies the permission bits as the kernel does for a process
// with exactly one uid and one gid (what the supervisor gives each
// program).
func canRead(fi fs.FileInfo, ids accounts.IDs) bool { return allowed(fi, ids, 0o4) }

func canAccess(dir string, ids accounts.IDs, bit fs.FileMode) bool {
	fi, err := os.Stat(dir)
	return err == nil && allowed(fi, ids, bit)
}

func allowed(fi fs.FileInfo, ids accounts.IDs, bit fs.FileMode) bool {
	sys, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	perm := fi.Mode().Perm()
	switch {
	case int(sys.Uid) == ids.UID:
		return perm&(bit<<6) != 0
	case int(sys.Gid) == ids.GID:
		return perm&(bit<<3) != 0
	}
	return perm&bit != 0
}
