package admin

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"goqmail/internal/assign"
	"goqmail/internal/atomicfile"
	"goqmail/internal/control"
	"goqmail/internal/maildir"
)

// AliasNames are the addresses a mail host must answer for, which the
// alias user receives (qmail's INSTALL.alias: postmaster, mailer-daemon
// and root; RFC 5321 section 4.5.1 requires postmaster, RFC 2142 asks for
// abuse).
var AliasNames = []string{"postmaster", "mailer-daemon", "root", "abuse"}

// aliasDelivery is what install puts in the alias user's .qmail files: the
// Maildir in its home, read by whoever the admin makes postmaster
// (INSTALL.alias leaves the choice to the admin; a Maildir loses nothing
// until then).
const aliasDelivery = "./Maildir/\n"

// installAlias gives a root installation its alias user (control/aliasuser,
// default alias) so that postmaster@, abuse@, root@ and mailer-daemon@
// are accepted at RCPT time and delivered from the first start (issue 10,
// item 4): the account (useradd, like the others), its home ROOT/alias
// with a Maildir, and a .qmail file for each of AliasNames.
//
// The account is found as the spawner finds it (users/assign, then
// passwd). A home elsewhere that works (an imported qmail site's
// /var/qmail/alias) is the admin's and left alone. An account whose home
// does not exist (made for another ROOT, or /nonexistent) gets ROOT/alias
// through a users/assign line, as goqmail init does.
func installAlias(root string, out io.Writer) error {
	ctl := filepath.Join(root, "control")
	snap, err := control.Load(ctl)
	if err != nil {
		return fmt.Errorf("%s: %w", ctl, err)
	}
	name := snap.Line(control.AliasUser)
	if name == "" {
		fmt.Fprintf(out, "%s is empty: no alias user, so postmaster@ must be an account of its own (goqmail check verifies it)\n", filepath.Join(ctl, "aliasuser"))
		return nil
	}
	home := filepath.Join(root, "alias")
	assignPath := filepath.Join(root, "users", "assign")
	table, err := (&assign.File{Path: assignPath}).Table()
	if err != nil {
		return fmt.Errorf("%s: %w", assignPath, err)
	}
	if e, ok := table.Lookup(name); ok {
		if e.Home != home {
			fmt.Fprintf(out, "alias user %s: home %s (users/assign), outside %s: left as it is\n", name, e.Home, root)
			return nil
		}
		return aliasHome(home, e.UID, e.GID, out)
	}
	pw, ok, err := (assign.OSSystem{}).LookupUser(name)
	if err != nil {
		return err
	}
	if !ok {
		if err := run(out, "useradd", "--system", "--user-group", "--no-create-home", "--home-dir", home,
			"--shell", "/usr/sbin/nologin", "--comment", "goqmail alias user (postmaster abuse root mailer-daemon)", name); err != nil {
			return err
		}
		if pw, ok, err = (assign.OSSystem{}).LookupUser(name); err != nil || !ok {
			return fmt.Errorf("alias user %s: not in /etc/passwd after useradd (%v)", name, err)
		}
	}
	if pw.UID == 0 {
		return fmt.Errorf("%s names %s, which has uid 0: goqmail never delivers as root; name another account there", filepath.Join(ctl, "aliasuser"), name)
	}
	if pw.Home != home {
		if st, err := os.Stat(pw.Home); err == nil && st.IsDir() && int(st.Sys().(*syscall.Stat_t).Uid) == pw.UID && filepath.IsAbs(pw.Home) {
			fmt.Fprintf(out, "alias user %s: home %s, outside %s: left as it is\n", name, pw.Home, root)
			return nil
		}
		line := fmt.Sprintf("=%s:%s:%d:%d:%s:::", name, name, pw.UID, pw.GID, home)
		if err := addAssign(assignPath, line, out); err != nil {
			return err
		}
	}
	return aliasHome(home, pw.UID, pw.GID, out)
}

// aliasHome makes (or repairs) the alias user's home: owned by it, mode
// 0755 (goqmail-local defers for a home writable by others or sticky), a
// Maildir, and the .qmail files that are missing. The .qmail files belong
// to root, as INSTALL.alias has root write them; an existing one is the
// admin's and kept.
func aliasHome(home string, uid, gid int, out io.Writer) error {
	if err := os.MkdirAll(home, 0o755); err != nil {
		return err
	}
	if err := os.Chown(home, uid, gid); err != nil {
		return err
	}
	if err := os.Chmod(home, 0o755); err != nil {
		return err
	}
	md := filepath.Join(home, "Maildir")
	if err := maildir.Make(md, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s: %w", md, err)
	}
	if err := chownTree(md, uid, gid); err != nil {
		return err
	}
	for _, a := range AliasNames {
		if err := writeIfMissing(filepath.Join(home, ".qmail-"+a), aliasDelivery, out); err != nil {
			return err
		}
	}
	return nil
}

// addAssign puts line into users/assign before its final ".", or makes
// the file. It is replaced atomically, mode 0644: the spawner refuses a
// users/assign others can write.
func addAssign(path, line string, out io.Writer) error {
	old, err := os.ReadFile(path)
	var data []byte
	switch {
	case errors.Is(err, fs.ErrNotExist):
		data = []byte(line + "\n.\n")
	case err != nil:
		return err
	case !bytes.HasSuffix(old, []byte("\n.\n")) && !bytes.Equal(old, []byte(".\n")):
		return fmt.Errorf("%s does not end with a line \".\" (qmail-users(5)): fix it, then run goqmail install again", path)
	default:
		data = append(append(old[:len(old)-2:len(old)-2], line+"\n"...), ".\n"...)
	}
	fmt.Fprintf(out, "%s: added %s\n", path, strings.TrimSpace(line))
	return atomicfile.WriteFile(path, data, 0o644)
}
