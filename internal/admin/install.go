package admin

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"goqmail/internal/accounts"
	"goqmail/internal/assign"
	"goqmail/internal/atomicfile"
)

// Install creates a root installation at root: groups and accounts,
// directories with their owners and modes, the programs from binDir, a
// minimal control/ if there is none, and the alias user that receives
// postmaster@ (installAlias). It is idempotent: run it again to repair.
// out receives one line per action.
func Install(root, binDir string, out io.Writer) error {
	if os.Geteuid() != 0 {
		return errors.New("install needs root: it creates system accounts and root-owned directories (for a development setup without root, use `goqmail init DIR`)")
	}
	// Homes in passwd and users/assign are absolute.
	root, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	if err := EnsureAccounts(out, accounts.All...); err != nil {
		return err
	}
	for _, e := range Layout {
		path := filepath.Join(root, e.Path)
		if e.Link != "" {
			if dst, err := os.Readlink(path); err != nil || dst != e.Link {
				os.Remove(path)
				if err := os.Symlink(e.Link, path); err != nil {
					return fmt.Errorf("install %s: %w", path, err)
				}
			}
			continue
		}
		if e.Dir {
			if err := os.MkdirAll(path, e.Mode); err != nil {
				return err
			}
		} else {
			name := filepath.Base(e.Path)
			if e.From != "" {
				name = e.From
			}
			src := filepath.Join(binDir, name)
			if err := copyFile(src, path, e.Mode); err != nil {
				return fmt.Errorf("install %s: %w", path, err)
			}
		}
		uid, gid := 0, 0
		if e.Owner != nil {
			id, err := accounts.Lookup(*e.Owner)
			if err != nil {
				return err
			}
			uid, gid = id.UID, id.GID
		}
		if err := os.Lchown(path, uid, gid); err != nil {
			return err
		}
		if err := os.Chmod(path, e.Mode); err != nil {
			return err
		}
	}
	host, _ := os.Hostname()
	if err := writeIfMissing(filepath.Join(root, "control", "me"), host+"\n", out); err != nil {
		return err
	}
	if !strings.Contains(host, ".") {
		fmt.Fprintf(out, "warning: host name %q is not fully qualified; edit %s\n", host, filepath.Join(root, "control", "me"))
	}
	for _, f := range []string{"locals", "rcpthosts"} {
		if err := writeIfMissing(filepath.Join(root, "control", f), host+"\n", out); err != nil {
			return err
		}
	}
	return installAlias(root, out)
}

// EnsureAccounts creates the groups and the given system accounts that do
// not exist yet (groupadd, useradd; no home, no login shell).
func EnsureAccounts(out io.Writer, list ...accounts.Account) error {
	groups := append([]string(nil), accounts.Groups...)
	for _, a := range list {
		if !slices.Contains(groups, a.Group) {
			groups = append(groups, a.Group) // an account's own group (the demo user's)
		}
	}
	for _, g := range groups {
		if ok, err := groupExists(g); err != nil {
			return err
		} else if !ok {
			if err := run(out, "groupadd", "--system", g); err != nil {
				return err
			}
		}
	}
	for _, a := range list {
		if pw, ok, err := (assign.OSSystem{}).LookupUser(a.Name); err != nil {
			return err
		} else if ok {
			// An account made by an older version may have another
			// primary group (goqmailv once shared goqmailnf with smtpd).
			if want, err := groupID(a.Group); err == nil && want >= 0 && pw.GID != want {
				if err := run(out, "usermod", "--gid", a.Group, a.Name); err != nil {
					return err
				}
			}
		} else {
			comment := "goqmail " + strings.NewReplacer(":", " ", ",", " ").Replace(a.Purpose)
			if err := run(out, "useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
				"--shell", "/usr/sbin/nologin", "--gid", a.Group, "--comment", comment, a.Name); err != nil {
				return err
			}
		}
	}
	return nil
}

func writeIfMissing(path, content string, out io.Writer) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	fmt.Fprintf(out, "wrote %s\n", path)
	return atomicfile.WriteFile(path, []byte(content), 0o644)
}

func run(out io.Writer, name string, args ...string) error {
	fmt.Fprintf(out, "%s %s\n", name, strings.Join(args, " "))
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func groupExists(name string) (bool, error) {
	f, err := os.Open("/etc/group")
	if err != nil {
		return false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if n, _, _ := strings.Cut(sc.Text(), ":"); n == name {
			return true, nil
		}
	}
	return false, sc.Err()
}

// copyFile installs a program: a new file renamed over the old, so a
// running program is never overwritten in place.
func copyFile(src, dst string, mode os.FileMode) error {
	if s, err := filepath.Abs(src); err == nil {
		if d, err := filepath.Abs(dst); err == nil && s == d {
			return nil
		}
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(dst, data, mode)
}

// groupID returns a group's gid from /etc/group, or -1.
func groupID(name string) (int, error) {
	g, err := user.LookupGroup(name)
	if err != nil {
		return -1, err
	}
	return strconv.Atoi(g.Gid)
}
