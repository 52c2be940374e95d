package admin

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"goqmail/internal/accounts"
	"goqmail/internal/atomicfile"
	"goqmail/internal/maildir"
	"goqmail/internal/vdir"
)

// Demo names the embedded default: a local test domain (RFC 2606 .test)
// and a demo user whose Maildir is inside the directory.
const (
	DemoDomain = "example.test"
	DemoHost   = "mail.example.test"
	DemoUser   = "demo"
	DemoListen = "127.0.0.1:2525"
)

// InitOptions adjusts the embedded default.
type InitOptions struct {
	Listen string // SMTP address; DemoListen if empty
	// Submission (587-style, AUTH required) and POP3 addresses; empty: none.
	Submission, POP3 string
	// Web is the HTTPS address of the webmail and web administration
	// (control/weblisten); empty: none. With it, Init also makes the
	// virtual user DemoWebLogin with a random password, a site
	// administrator (control/webadmins), and prints the password.
	Web string
}

// The demo's web login: a virtual user, because a development directory's
// auth service cannot read /etc/shadow, and the demo user of users/assign
// has no password at all.
const (
	DemoVirtualDomain = "virtual.test"
	DemoWebLogin      = "demo@" + DemoVirtualDomain
	// DemoWebPasswordFile (under DIR, mode 0600) keeps the password for a
	// second `make run`, which does not run Init again.
	DemoWebPasswordFile = "webpassword"
)

// Init creates a self-contained goqmail directory for the invoking user: no
// root needed, SMTP on loopback, the domain example.test delivered to the
// demo user's Maildir under DIR/home/demo. An existing directory is left as
// it is (delete it to start over).
//
// Run as root, Init also creates goqmail's system accounts (as install does)
// and an account for the demo mailbox, and gives queue/ to the queue's
// account: started as root, goqmail runs every program under its own
// account and never delivers as root, so a root demo needs them.
func Init(dir string, opt InitOptions, out io.Writer) error {
	if _, err := os.Stat(filepath.Join(dir, "control", "me")); err == nil {
		fmt.Fprintf(out, "%s already set up; leaving it as it is\n", dir)
		return nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	name, uid, gid := DemoUser, os.Getuid(), os.Getgid()
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	asRoot := os.Geteuid() == 0
	if asRoot {
		if err := reachable(abs); err != nil {
			return err
		}
		if err := EnsureAccounts(out, append(accounts.All, accounts.Demo)...); err != nil {
			return err
		}
		ids, err := accounts.Lookup(accounts.Demo)
		if err != nil {
			return err
		}
		name, uid, gid = accounts.Demo.Name, ids.UID, ids.GID
	}
	if opt.Listen == "" {
		opt.Listen = DemoListen
	}
	for _, e := range Layout {
		// No bin/: a development directory runs the programs of the build.
		if e.Dir && e.Path != "bin" {
			if err := os.MkdirAll(filepath.Join(abs, e.Path), e.Mode); err != nil {
				return err
			}
		}
	}
	home := filepath.Join(abs, "home", DemoUser)
	aliasHome := filepath.Join(abs, "home", "alias")
	for _, h := range []string{home, aliasHome} {
		if err := os.MkdirAll(h, 0o755); err != nil {
			return err
		}
		if err := maildir.Make(filepath.Join(h, "Maildir"), 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	// qmail's INSTALL.alias: postmaster, mailer-daemon and root must reach
	// a person, and abuse (RFC 2142) too; here the demo user (a bare name
	// is completed with the domain the mail came to).
	for _, a := range AliasNames {
		if err := atomicfile.WriteFile(filepath.Join(aliasHome, ".qmail-"+a), []byte(DemoUser+"\n"), 0o644); err != nil {
			return err
		}
	}
	if asRoot {
		if err := chownTree(home, uid, gid); err != nil {
			return err
		}
		if err := chownTree(aliasHome, uid, gid); err != nil {
			return err
		}
		q, err := accounts.Lookup(accounts.Queue)
		if err != nil {
			return err
		}
		if err := chownTree(filepath.Join(abs, "queue"), q.UID, q.GID); err != nil {
			return err
		}
		v, err := accounts.Lookup(accounts.Virtual)
		if err != nil {
			return err
		}
		if err := chownTree(filepath.Join(abs, "vmail"), v.UID, v.GID); err != nil {
			return err
		}
		sd, err := accounts.Lookup(accounts.SMTPD)
		if err != nil {
			return err
		}
		if err := chownTree(filepath.Join(abs, "greylist"), sd.UID, sd.GID); err != nil {
			return err
		}
		lg, err := accounts.Lookup(accounts.Log)
		if err != nil {
			return err
		}
		if err := chownTree(filepath.Join(abs, "log"), lg.UID, lg.GID); err != nil {
			return err
		}
		ac, err := accounts.Lookup(accounts.ACME)
		if err != nil {
			return err
		}
		if err := chownTree(filepath.Join(abs, "acme"), ac.UID, ac.GID); err != nil {
			return err
		}
	}
	files := map[string]string{
		"control/me":         DemoHost + "\n",
		"control/locals":     DemoDomain + "\n" + DemoHost + "\n",
		"control/rcpthosts":  DemoDomain + "\n" + DemoHost + "\n",
		"control/smtplisten": opt.Listen + "\n",
		"control/tcp.smtp": "# Access rules, tcprules(1) syntax. Uncomment to let this host relay:\n" +
			"# 127.:allow,RELAYCLIENT=\"\"\n",
		// demo, demo-anything (its .qmail-anything files), and the alias
		// account that receives what nobody owns (control/aliasuser).
		"control/submissionlisten": opt.Submission + "\n",
		"control/pop3listen":       opt.POP3 + "\n",
		"control/weblisten":        opt.Web + "\n",
		"users/assign": fmt.Sprintf("=%s:%s:%d:%d:%s:::\n+%s-:%s:%d:%d:%s:-::\n=alias:%s:%d:%d:%s:::\n.\n",
			DemoUser, name, uid, gid, home, DemoUser, name, uid, gid, home, name, uid, gid, aliasHome),
	}
	for name, content := range files {
		if err := atomicfile.WriteFile(filepath.Join(abs, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	cert, err := demoCertificate(DemoHost)
	if err != nil {
		return err
	}
	certPath := filepath.Join(abs, "control", "servercert.pem")
	if err := atomicfile.WriteFile(certPath, cert, 0o640); err != nil {
		return err
	}
	if asRoot {
		// Readable by the network programs (group goqmailnf), no one else.
		if err := os.Chown(certPath, 0, nofilesGID()); err != nil {
			return err
		}
	}
	if opt.Web != "" {
		if err := initWeb(abs, opt.Web, out); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "made %s: domain %s, user %s@%s -> %s/Maildir, SMTP on %s\n", abs, DemoDomain, DemoUser, DemoDomain, home, opt.Listen)
	return nil
}

// initWeb makes the demo's web login: the virtual domain
// DemoVirtualDomain, its user DemoWebLogin with a random password (kept
// in DIR/webpassword, 0600, and printed), listed in control/webadmins.
func initWeb(abs, listen string, out io.Writer) error {
	dir, err := OpenVirtual(abs)
	if err != nil {
		return err
	}
	if err := dir.AddDomain(vdir.Domain{Name: DemoVirtualDomain}); err != nil {
		return fmt.Errorf("demo web domain: %w", err)
	}
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	pw := strings.ToLower(base32.StdEncoding.EncodeToString(b))
	if err := dir.AddUser(vdir.User{Local: "demo", Domain: DemoVirtualDomain}, pw); err != nil {
		return fmt.Errorf("demo web user: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(abs, DemoWebPasswordFile), []byte(pw+"\n"), 0o600); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(abs, "control", "webadmins"), []byte(DemoWebLogin+"\n"), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(out, "web on https://%s/: log in as %s with password %s (a site administrator; kept in %s)\n",
		listen, DemoWebLogin, pw, filepath.Join(abs, DemoWebPasswordFile))
	return nil
}

func chownTree(dir string, uid, gid int) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
}

// reachable checks that goqmail's accounts can reach dir: every existing
// directory on the way must let others pass (o+x), or the queue and the
// delivery processes fail with "permission denied" later.
func reachable(dir string) error {
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err == nil && st.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("%s (mode %#o) does not let other users through, and goqmail's accounts must reach %s: chmod o+x %s, or choose another directory", d, st.Mode().Perm(), dir, d)
		}
		if d == "/" || d == "." {
			return nil
		}
	}
}

// nofilesGID is the gid of the network programs' group, or 0.
func nofilesGID() int {
	g, err := user.LookupGroup(accounts.NoFiles)
	if err != nil {
		return 0
	}
	gid, _ := strconv.Atoi(g.Gid)
	return gid
}
