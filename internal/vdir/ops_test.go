package vdir

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// Each step runs on one directory set up by standardDomain; the steps of
// a table run in order, so later ones see earlier changes.
type step struct {
	name string
	do   func(f *Files) error
	kind error
	frag string
}

func runSteps(t *testing.T, f *Files, steps []step) {
	t.Helper()
	for _, s := range steps {
		wantErr(t, s.name, s.do(f), s.kind, s.frag)
	}
}

func TestDomainOps(t *testing.T) {
	f, _ := newFiles(t)
	standardDomain(t, f)
	runSteps(t, f, []step{
		{"add again", func(f *Files) error { return f.AddDomain(Domain{Name: "EXAMPLE.com"}) }, ErrExists, "domain example.com already exists"},
		{"add alias domain again", func(f *Files) error { return f.AddDomain(Domain{Name: "example.net"}) }, ErrExists, "already exists (an alias domain of example.com)"},
		{"bad name", func(f *Files) error { return f.AddDomain(Domain{Name: "exa mple.com"}) }, ErrInvalid, "character ' ' not allowed"},
		{"alias of missing", func(f *Files) error { return f.AddDomain(Domain{Name: "a.org", AliasOf: "nosuch.org"}) }, ErrNotFound, "there is no domain nosuch.org to be an alias of"},
		{"alias of alias", func(f *Files) error { return f.AddDomain(Domain{Name: "a.org", AliasOf: "example.net"}) }, ErrInvalid, "example.net is itself an alias domain of example.com; make a.org an alias of example.com instead"},
		{"alias of itself", func(f *Files) error { return f.AddDomain(Domain{Name: "a.org", AliasOf: "a.org"}) }, ErrInvalid, "cannot be an alias of itself"},
		{"alias with settings", func(f *Files) error {
			return f.AddDomain(Domain{Name: "a.org", AliasOf: "example.com", Quota: 5})
		}, ErrInvalid, "alias domain a.org cannot have its own postmaster, catch-all or quota"},
		{"negative quota", func(f *Files) error { return f.AddDomain(Domain{Name: "a.org", Quota: -1}) }, ErrInvalid, "quota -1 is negative"},
		{"catch-all mailbox in new domain", func(f *Files) error {
			return f.AddDomain(Domain{Name: "a.org", Catchall: Catchall{CatchMailbox, "bob"}})
		}, ErrNotFound, "catch-all mailbox:bob: a.org has no user bob"},
		{"postmaster local in new domain", func(f *Files) error { return f.AddDomain(Domain{Name: "a.org", Postmaster: "pm"}) }, ErrNotFound, "postmaster pm: a.org has no user or alias pm"},
		{"bad catch-all kind", func(f *Files) error { return f.AddDomain(Domain{Name: "a.org", Catchall: Catchall{Kind: 9}}) }, ErrInvalid, "unknown catch-all kind 9"},
		{"bad forward", func(f *Files) error {
			return f.AddDomain(Domain{Name: "a.org", Catchall: Catchall{CatchForward, "x@"}})
		}, ErrInvalid, "not a valid address"},
		{"add with forward and postmaster address", func(f *Files) error {
			return f.AddDomain(Domain{Name: "a.org", Postmaster: "PM@Example.com", Catchall: Catchall{CatchForward, "x@y.org"}, Quota: 77})
		}, nil, ""},
		{"set missing", func(f *Files) error { return f.SetDomain(Domain{Name: "nosuch.org"}) }, ErrNotFound, "no virtual domain nosuch.org"},
		{"set catch-all to missing user", func(f *Files) error {
			return f.SetDomain(Domain{Name: "example.com", Catchall: Catchall{CatchMailbox, "carol"}})
		}, ErrNotFound, "example.com has no user carol"},
		{"set catch-all to user", func(f *Files) error {
			return f.SetDomain(Domain{Name: "example.com", Catchall: Catchall{CatchMailbox, "bob"}, Postmaster: "info"})
		}, nil, ""},
		{"domain with users cannot become alias", func(f *Files) error { return f.SetDomain(Domain{Name: "example.com", AliasOf: "a.org"}) }, ErrInvalid, "has 2 users and 1 aliases"},
		{"empty domain becomes alias", func(f *Files) error { return f.SetDomain(Domain{Name: "a.org", AliasOf: "example.com"}) }, nil, ""},
		{"add c.org", func(f *Files) error { return f.AddDomain(Domain{Name: "c.org"}) }, nil, ""},
		{"add d.org alias of c.org", func(f *Files) error { return f.AddDomain(Domain{Name: "d.org", AliasOf: "c.org"}) }, nil, ""},
		{"alias target cannot become alias", func(f *Files) error { return f.SetDomain(Domain{Name: "c.org", AliasOf: "example.com"}) }, ErrInvalid, "domain c.org is the target of alias domains d.org: it cannot become an alias domain itself"},
		{"delete d.org", func(f *Files) error { return f.DeleteDomain("d.org") }, nil, ""},
		{"delete c.org", func(f *Files) error { return f.DeleteDomain("c.org") }, nil, ""},
		{"retarget alias domain", func(f *Files) error { return f.SetDomain(Domain{Name: "example.net", AliasOf: "nosuch.org"}) }, ErrNotFound, "no domain nosuch.org"},
		{"delete target of alias", func(f *Files) error { return f.DeleteDomain("example.com") }, ErrInvalid, "domain example.com is the target of alias domains a.org, example.net: delete those first"},
		{"delete missing", func(f *Files) error { return f.DeleteDomain("nosuch.org") }, ErrNotFound, "no virtual domain nosuch.org"},
		{"delete bad name", func(f *Files) error { return f.DeleteDomain("../x") }, ErrInvalid, "empty label"},
		{"alias domain becomes real", func(f *Files) error { return f.SetDomain(Domain{Name: "a.org", Quota: 5}) }, nil, ""},
		{"user in former alias domain", func(f *Files) error { return f.AddUser(User{Local: "z", Domain: "a.org"}, "pw") }, nil, ""},
		{"delete domain with users", func(f *Files) error { return f.DeleteDomain("a.org") }, nil, ""},
	})
	ds, err := f.Domains()
	must(t, err)
	want := []Domain{
		{Name: "example.com", Postmaster: "info", Catchall: Catchall{CatchMailbox, "bob"}},
		{Name: "example.net", AliasOf: "example.com"},
	}
	if !reflect.DeepEqual(ds, want) {
		t.Errorf("Domains = %+v\nwant %+v", ds, want)
	}
}

func TestDeleteDomainKeepsMailboxes(t *testing.T) {
	f, root := newFiles(t)
	standardDomain(t, f)
	must(t, f.DeleteDomain("example.net"))
	must(t, f.DeleteDomain("example.com"))
	if ok, _ := f.IsDomain("example.com"); ok {
		t.Fatal("still a domain")
	}
	ents, _ := os.ReadDir(filepath.Join(root, "vdir"))
	for _, e := range ents {
		if e.Name() != ".lock" {
			t.Errorf("left in vdir: %s", e.Name())
		}
	}
	kept, _ := filepath.Glob(filepath.Join(root, "vmail", ".deleted-example.com-*", "bob", "Maildir", "new"))
	if len(kept) != 1 {
		t.Errorf("mailbox not kept aside: %v", kept)
	}
	// A new domain of the same name starts empty.
	must(t, f.AddDomain(Domain{Name: "example.com"}))
	if us, _ := f.Users("example.com"); len(us) != 0 {
		t.Errorf("users in new domain: %v", us)
	}
	if _, err := os.Stat(filepath.Join(root, "vmail", "example.com", "bob")); err == nil {
		t.Error("old mailbox in the new domain")
	}
}

func TestUserOps(t *testing.T) {
	f, root := newFiles(t)
	standardDomain(t, f)
	must(t, f.AddDomain(Domain{Name: "quota.org", Quota: 5000}))
	runSteps(t, f, []step{
		{"add existing", func(f *Files) error { return f.AddUser(User{Local: "BOB", Domain: "example.com"}, "x") }, ErrExists, "user bob@example.com already exists"},
		{"add over alias", func(f *Files) error { return f.AddUser(User{Local: "info", Domain: "example.com"}, "x") }, ErrExists, "info@example.com is an alias (to bob@example.com, Someone@elsewhere.org): delete the alias first"},
		{"add to missing domain", func(f *Files) error { return f.AddUser(User{Local: "x", Domain: "nosuch.org"}, "x") }, ErrNotFound, "no virtual domain nosuch.org"},
		{"add to alias domain", func(f *Files) error { return f.AddUser(User{Local: "x", Domain: "example.net"}, "x") }, ErrInvalid, "example.net is an alias domain of example.com"},
		{"bad local", func(f *Files) error { return f.AddUser(User{Local: "x/y", Domain: "example.com"}, "x") }, ErrInvalid, "character '/' not allowed"},
		{"empty password", func(f *Files) error { return f.AddUser(User{Local: "carol", Domain: "example.com"}, "") }, ErrInvalid, "empty password"},
		{"long password", func(f *Files) error {
			return f.AddUser(User{Local: "carol", Domain: "example.com"}, strings.Repeat("p", 73))
		}, ErrInvalid, "password is 73 bytes long; bcrypt uses at most 72"},
		{"newline in password", func(f *Files) error { return f.AddUser(User{Local: "carol", Domain: "example.com"}, "a\nb") }, ErrInvalid, "line break"},
		{"negative quota", func(f *Files) error {
			return f.AddUser(User{Local: "carol", Domain: "example.com", QuotaMessages: -2}, "x")
		}, ErrInvalid, "message quota -2 is negative"},
		{"import bad hash", func(f *Files) error {
			return f.AddUserHash(User{Local: "carol", Domain: "example.com", Hash: "{SHA1}abc"})
		}, ErrInvalid, "user carol@example.com: password hash: malformed password hash: unsupported scheme {SHA1}"},
		{"import plain with colon", func(f *Files) error {
			return f.AddUserHash(User{Local: "carol", Domain: "example.com", Hash: "{PLAIN}a:b"})
		}, ErrInvalid, "contains ':'"},
		{"import crypt", func(f *Files) error {
			return f.AddUserHash(User{Local: "carol", Domain: "example.com", Hash: "{MD5-CRYPT}$1$saltstri$YMyguxXMBpd2TEZ.vS/3q1"})
		}, nil, ""},
		{"default quota", func(f *Files) error { return f.AddUser(User{Local: "q", Domain: "quota.org"}, "x") }, nil, ""},
		{"passwd missing user", func(f *Files) error { return f.SetPassword("nobody", "example.com", "x") }, ErrNotFound, "no user nobody@example.com"},
		{"passwd empty", func(f *Files) error { return f.SetPassword("bob", "example.com", "") }, ErrInvalid, "empty password"},
		{"passwd", func(f *Files) error { return f.SetPassword("Bob", "Example.com", "newpw") }, nil, ""},
		{"quota missing user", func(f *Files) error { return f.SetQuota("nobody", "example.com", 1, 1) }, ErrNotFound, "no user nobody@example.com"},
		{"quota negative", func(f *Files) error { return f.SetQuota("bob", "example.com", -1, 1) }, ErrInvalid, "quota -1 is negative"},
		{"quota", func(f *Files) error { return f.SetQuota("alice", "example.com", 2048, 0) }, nil, ""},
		{"delete missing", func(f *Files) error { return f.DeleteUser("nobody", "example.com") }, ErrNotFound, "no user nobody@example.com"},
		{"catch-all user", func(f *Files) error {
			return f.SetDomain(Domain{Name: "example.com", Catchall: Catchall{CatchMailbox, "alice"}, Postmaster: "carol"})
		}, nil, ""},
		{"delete catch-all user", func(f *Files) error { return f.DeleteUser("alice", "example.com") }, ErrInvalid, "user alice@example.com is the catch-all mailbox of example.com: change the catch-all first"},
		{"delete postmaster user", func(f *Files) error { return f.DeleteUser("carol", "example.com") }, ErrInvalid, "user carol@example.com is the postmaster of example.com: change the postmaster first"},
		{"delete", func(f *Files) error { return f.DeleteUser("BOB", "example.com") }, nil, ""},
		{"delete again", func(f *Files) error { return f.DeleteUser("bob", "example.com") }, ErrNotFound, "no user bob@example.com"},
		{"re-add", func(f *Files) error { return f.AddUser(User{Local: "bob", Domain: "example.com"}, "again") }, nil, ""},
	})
	us, err := f.Users("example.com")
	must(t, err)
	var got []string
	for _, u := range us {
		got = append(got, u.Local+" "+pwScheme(u.Hash))
	}
	if want := []string{"alice BLF-CRYPT", "bob BLF-CRYPT", "carol MD5-CRYPT"}; !reflect.DeepEqual(got, want) {
		t.Errorf("users %v, want %v", got, want)
	}
	if u, ok, _ := f.User("alice", "example.com"); !ok || u.QuotaBytes != 2048 || u.QuotaMessages != 0 {
		t.Errorf("alice %+v %v", u, ok)
	}
	if u, ok, _ := f.User("q", "quota.org"); !ok || u.QuotaBytes != 5000 {
		t.Errorf("default quota not applied: %+v", u)
	}
	if _, ok, _ := f.Authenticate("bob@example.com", "again"); !ok {
		t.Error("re-added bob cannot log in")
	}
	// The old mailbox was kept aside; the re-added user has a fresh one.
	kept, _ := filepath.Glob(filepath.Join(root, "vmail", "example.com", ".deleted-bob-*", "Maildir"))
	if len(kept) != 1 {
		t.Errorf("deleted mailbox not kept: %v", kept)
	}
	if _, err := os.Stat(filepath.Join(root, "vmail", "example.com", "bob", "Maildir", "cur")); err != nil {
		t.Errorf("re-added user has no Maildir: %v", err)
	}
}

func pwScheme(h string) string {
	if i := strings.IndexByte(h, '}'); i > 0 && h[0] == '{' {
		return h[1:i]
	}
	return h
}

func TestAliasOps(t *testing.T) {
	f, _ := newFiles(t)
	standardDomain(t, f)
	runSteps(t, f, []step{
		{"alias over user", func(f *Files) error {
			return f.SetAlias(Alias{Local: "Bob", Domain: "example.com", Targets: []string{"x@y.org"}})
		}, ErrExists, "bob@example.com is a user: an address is either a user or an alias"},
		{"no targets", func(f *Files) error { return f.SetAlias(Alias{Local: "a", Domain: "example.com"}) }, ErrInvalid, "alias a@example.com: no target addresses"},
		{"self target", func(f *Files) error {
			return f.SetAlias(Alias{Local: "a", Domain: "example.com", Targets: []string{"A@example.com"}})
		}, ErrInvalid, "target \"A@example.com\" is the alias itself"},
		{"bare self target", func(f *Files) error {
			return f.SetAlias(Alias{Local: "a", Domain: "example.com", Targets: []string{"a"}})
		}, ErrInvalid, "is the alias itself"},
		{"bad target", func(f *Files) error {
			return f.SetAlias(Alias{Local: "a", Domain: "example.com", Targets: []string{"x@y..org"}})
		}, ErrInvalid, "target \"x@y..org\" is not a valid address"},
		{"bad bare target", func(f *Files) error {
			return f.SetAlias(Alias{Local: "a", Domain: "example.com", Targets: []string{"x y"}})
		}, ErrInvalid, "target \"x y\""},
		{"alias domain", func(f *Files) error {
			return f.SetAlias(Alias{Local: "a", Domain: "example.net", Targets: []string{"x@y.org"}})
		}, ErrInvalid, "example.net is an alias domain of example.com"},
		{"missing domain", func(f *Files) error {
			return f.SetAlias(Alias{Local: "a", Domain: "no.org", Targets: []string{"x@y.org"}})
		}, ErrNotFound, "no virtual domain no.org"},
		{"set", func(f *Files) error {
			return f.SetAlias(Alias{Local: "Sales", Domain: "example.com", Targets: []string{"alice", "bob", "alice@example.com", "x@[192.0.2.1]"}})
		}, nil, ""},
		{"replace", func(f *Files) error {
			return f.SetAlias(Alias{Local: "info", Domain: "example.com", Targets: []string{"alice"}})
		}, nil, ""},
		{"postmaster alias", func(f *Files) error { return f.SetDomain(Domain{Name: "example.com", Postmaster: "info"}) }, nil, ""},
		{"delete postmaster alias", func(f *Files) error { return f.DeleteAlias("info", "example.com") }, ErrInvalid, "alias info@example.com is the postmaster of example.com"},
		{"delete missing", func(f *Files) error { return f.DeleteAlias("nosuch", "example.com") }, ErrNotFound, "no alias nosuch@example.com"},
		{"delete", func(f *Files) error { return f.DeleteAlias("SALES", "example.com") }, nil, ""},
	})
	as, err := f.Aliases("example.com")
	must(t, err)
	want := []Alias{{Local: "info", Domain: "example.com", Targets: []string{"alice@example.com"}}}
	if !reflect.DeepEqual(as, want) {
		t.Errorf("Aliases = %+v, want %+v", as, want)
	}
	if _, err := f.Aliases("example.net"); err == nil {
		t.Error("Aliases of an alias domain: no error")
	}
}

// TestFileFormats pins the exact bytes of the four files: Dovecot reads
// passwd, and goqmail-local reads the others.
func TestFileFormats(t *testing.T) {
	f, root := newFiles(t)
	must(t, f.AddDomain(Domain{Name: "example.com"}))
	must(t, f.AddUserHash(User{Local: "bob", Domain: "example.com", Hash: "{PLAIN}pw", QuotaBytes: 1000}))
	must(t, f.AddUserHash(User{Local: "alice", Domain: "example.com", Hash: "{PLAIN}pw2", QuotaMessages: 7}))
	must(t, f.AddUserHash(User{Local: "carl", Domain: "example.com", Hash: "{PLAIN}pw3"}))
	must(t, f.SetAlias(Alias{Local: "info", Domain: "example.com", Targets: []string{"bob", "x@y.org"}}))
	must(t, f.SetDomain(Domain{Name: "example.com", Postmaster: "bob", Catchall: Catchall{CatchForward, "a@b.org,c"}, Quota: 9}))
	must(t, f.AddDomain(Domain{Name: "example.net", AliasOf: "example.com"}))
	dir := filepath.Join(root, "vdir", "example.com")
	vm := filepath.Join(root, "vmail", "example.com")
	uid, gid := os.Getuid(), os.Getgid()
	for name, want := range map[string]string{
		"domain":    "postmaster=bob\ncatchall=forward:a@b.org,c@example.com\nquota=9\n",
		"mailboxes": "alice 0 7\nbob 1000 0\ncarl 0 0\n",
		"aliases":   "info: bob@example.com, x@y.org\n",
		"passwd": "alice:{PLAIN}pw2:" + itoa(uid) + ":" + itoa(gid) + "::" + vm + "/alice::userdb_quota_rule=*:messages=7\n" +
			"bob:{PLAIN}pw:" + itoa(uid) + ":" + itoa(gid) + "::" + vm + "/bob::userdb_quota_rule=*:storage=1000B\n" +
			"carl:{PLAIN}pw3:" + itoa(uid) + ":" + itoa(gid) + "::" + vm + "/carl::\n",
	} {
		if got := readFile(t, filepath.Join(dir, name)); got != want {
			t.Errorf("%s:\n%s\nwant:\n%s", name, got, want)
		}
	}
	if got := readFile(t, filepath.Join(root, "vdir", "example.net", "domain")); got != "aliasof=example.com\n" {
		t.Errorf("alias domain file %q", got)
	}
	wantPasswd := os.FileMode(0o600)
	if isRoot() {
		wantPasswd = 0o640
	}
	for name, mode := range map[string]os.FileMode{"domain": 0o644, "mailboxes": 0o644, "aliases": 0o644, "passwd": wantPasswd} {
		st, err := os.Stat(filepath.Join(dir, name))
		must(t, err)
		if st.Mode().Perm() != mode {
			t.Errorf("%s mode %v, want %v", name, st.Mode().Perm(), mode)
		}
	}
	// The domain directory is searchable (smtpd checks .qmail-<local> by
	// name), the mailboxes are the virtual account's alone.
	if st, err := os.Stat(vm); err != nil || st.Mode().Perm() != 0o711 {
		t.Errorf("%s: %v %v, want 0711", vm, st.Mode(), err)
	}
	for _, p := range []string{vm + "/bob", vm + "/bob/Maildir", vm + "/bob/Maildir/tmp", vm + "/bob/Maildir/new", vm + "/bob/Maildir/cur"} {
		st, err := os.Stat(p)
		if err != nil || !st.IsDir() || st.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v %v", p, st.Mode(), err)
		}
	}
	// No temporary files are left behind.
	ents, _ := os.ReadDir(dir)
	if len(ents) != 4 {
		t.Errorf("files in domain dir: %v", ents)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
