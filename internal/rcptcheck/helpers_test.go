package rcptcheck

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"goqmail/internal/assign"
	"goqmail/internal/rewrite"
	"goqmail/internal/vdir"
)

// fakeSystem is an in-memory passwd (assign.System): an account's home
// exists, owned by the account, unless homeErr says otherwise.
type fakeSystem struct {
	users   map[string]assign.PasswdEntry
	userErr map[string]error
	homeErr map[string]error
}

func (s *fakeSystem) LookupUser(name string) (assign.PasswdEntry, bool, error) {
	if err := s.userErr[name]; err != nil {
		return assign.PasswdEntry{}, false, err
	}
	pw, ok := s.users[name]
	return pw, ok, nil
}

func (s *fakeSystem) HomeOwner(home string) (int, error) {
	if err := s.homeErr[home]; err != nil {
		return -1, err
	}
	for _, pw := range s.users {
		if pw.Home == home {
			return pw.UID, nil
		}
	}
	return -1, &fs.PathError{Op: "stat", Path: home, Err: syscall.ENOENT}
}

// fakeDirectory is a virtual directory with canned answers per domain:
// users and aliases by local part, otherwise the domain's catch-all
// answer; alias domains map to their real domain.
type fakeDirectory struct {
	users    map[string]bool        // "local@domain" (lower case)
	forwards map[string][]string    // "local@domain" -> targets
	catchall map[string]vdir.Result // domain -> answer for unknown locals
	aliasOf  map[string]string      // alias domain -> real domain
	broken   map[string]error       // domain -> Resolve error
	domains  map[string]bool
}

func (d *fakeDirectory) IsDomain(name string) (bool, error) {
	if err := d.broken[name]; err != nil {
		return false, err
	}
	return d.domains[name] || d.aliasOf[name] != "", nil
}

func (d *fakeDirectory) Resolve(local, domain string) (vdir.Result, error) {
	domain = strings.ToLower(domain)
	if err := d.broken[domain]; err != nil {
		return vdir.Result{}, err
	}
	if real := d.aliasOf[domain]; real != "" {
		domain = real
	}
	key := strings.ToLower(local) + "@" + domain
	if d.users[key] {
		return vdir.Result{Kind: vdir.Mailbox, Domain: domain, Local: strings.ToLower(local)}, nil
	}
	if t, ok := d.forwards[key]; ok {
		return vdir.Result{Kind: vdir.Forward, Domain: domain, Targets: t}, nil
	}
	if r, ok := d.catchall[domain]; ok {
		r.Domain = domain
		return r, nil
	}
	return vdir.Result{Kind: vdir.NoSuch, Domain: domain, Why: "no such user"}, nil
}

// errFS fails every open with err (a home the SMTP server may not read,
// or a broken disk).
type errFS struct{ err error }

func (e errFS) Open(name string) (fs.File, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: e.err}
}

// writeFiles creates files under root: name -> content; a name ending in
// "/" is a directory. Mode 0644 unless the content starts with "MODE:".
func writeFiles(t testing.TB, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if rest, ok := strings.CutPrefix(content, "MODE:"); ok {
			mode, content = 0o666, rest
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
	}
}

// testSite is a server with local users in users/assign and passwd, an
// alias user with .qmail files and an aliases file, and virtual domains.
type testSite struct {
	root    string
	checker *Checker
	sys     *fakeSystem
	dir     *fakeDirectory
	dirErrs map[string]error // OpenDir failures by directory
}

func newTestSite(t testing.TB) *testSite {
	root := t.TempDir()
	home := func(name string) string { return filepath.Join(root, "home", name) }
	writeFiles(t, root, map[string]string{
		"users/assign": "=demo:demo:1500:1500:" + home("demo") + ":::\n" +
			"+demo-:demo:1500:1500:" + home("demo") + ":-::\n" +
			"=alias:alias:1600:1600:" + home("alias") + ":::\n.\n",
		"home/demo/.qmail-foo":            "./Maildir/\n",
		"home/demo/.qmail-list-default":   "./Maildir/\n",
		"home/joe/.qmail-sub":             "./Maildir/\n",
		"home/joe/.qmail-open":            "MODE:./Maildir/\n",
		"home/locked/":                    "",
		"home/broken/":                    "",
		"home/alias/.qmail-postmaster":    "demo\n",
		"home/alias/.qmail-owner-default": "demo\n",
		"aliases":                         "# system aliases\nwebmaster: joe\nabuse: postmaster\n",
		"vmail/v.example/.qmail-sales":    "&joe@example.test\n",
		"vmail/v.example/.qmail-empty":    "",
		"vmail/d.example/.qmail-default":  "./catchall/Maildir/\n",
		"vmail/r.example/.qmail-default":  "./catchall/Maildir/\n",
		"vmail/r.example/.qmail-keep":     "./keep/Maildir/\n",
	})
	site := &testSite{root: root, dirErrs: map[string]error{
		home("locked"): syscall.EACCES,
		home("broken"): syscall.EIO,
		filepath.Join(root, "vmail", "x.example"): syscall.EACCES,
	}}
	site.sys = &fakeSystem{
		users: map[string]assign.PasswdEntry{
			"joe":    {Name: "joe", UID: 1001, GID: 100, Home: home("joe")},
			"locked": {Name: "locked", UID: 1002, GID: 100, Home: home("locked")},
			"broken": {Name: "broken", UID: 1003, GID: 100, Home: home("broken")},
			"root":   {Name: "root", UID: 0, GID: 0, Home: "/root"},
			"nfs":    {Name: "nfs", UID: 1004, GID: 100, Home: "/nfs/home"},
			"squash": {Name: "squash", UID: 1005, GID: 100, Home: "/squashed/home"},
		},
		userErr: map[string]error{"flaky": errors.New("passwd unreadable")},
		homeErr: map[string]error{
			"/nfs/home":      &fs.PathError{Op: "stat", Path: "/nfs/home", Err: syscall.EIO},
			"/squashed/home": &fs.PathError{Op: "stat", Path: "/squashed/home", Err: syscall.EACCES},
		},
	}
	site.dir = &fakeDirectory{
		domains: map[string]bool{"v.example": true, "c.example": true, "f.example": true, "r.example": true,
			"d.example": true, "x.example": true, "b.example": true, "p.example": true},
		users:    map[string]bool{"alice@v.example": true, "boss@c.example": true, "postmaster@p.example": true},
		forwards: map[string][]string{"info@v.example": {"joe@example.test"}, "void@v.example": nil},
		catchall: map[string]vdir.Result{
			"c.example": {Kind: vdir.Mailbox, Local: "boss"},
			"f.example": {Kind: vdir.Forward, Targets: []string{"joe@example.test"}},
			"r.example": {Kind: vdir.Reject, Why: "catch-all rejects"},
		},
		aliasOf: map[string]string{"alias.example": "v.example"},
		broken:  map[string]error{"b.example": errors.New("vdir/b.example/mailboxes: input/output error")},
	}
	rules := rewrite.Build("example.test", []string{"example.test", "mail.example.test"}, []string{"example.test"},
		[]string{"vd.example:joe"}).WithDirectory(site.dir)
	site.checker = &Checker{
		Rules:       rules,
		Directory:   site.dir,
		VmailRoot:   filepath.Join(root, "vmail"),
		Assign:      &assign.File{Path: filepath.Join(root, "users", "assign")},
		System:      site.sys,
		AliasUser:   "alias",
		AliasesFile: filepath.Join(root, "aliases"),
		OpenDir: func(dir string) fs.FS {
			if err := site.dirErrs[dir]; err != nil {
				return errFS{err}
			}
			return os.DirFS(dir)
		},
	}
	return site
}
