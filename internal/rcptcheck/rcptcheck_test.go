package rcptcheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckTable is the RCPT table of issue 5: for each recipient, the
// verdict the SMTP server acts on (Exists/NotLocal/Unverified accept,
// NoSuch 550 5.1.1, TempFail 451 4.3.0).
func TestCheckTable(t *testing.T) {
	site := newTestSite(t)
	for _, tc := range []struct {
		rcpt string
		want Verdict
		why  string // a substring of Result.Why, when it matters
	}{
		// users/assign: simple and wildcard entries.
		{"demo@example.test", Exists, "users/assign"},
		{"DEMO@example.test", Exists, ""},
		{"demo@mail.example.test", Exists, ""},
		{"demo-foo@example.test", Exists, ".qmail-foo"},
		{"Demo-FOO@example.test", Exists, ".qmail-foo"},
		{"demo-bar@example.test", NoSuch, `extension "bar"`},
		{"demo-list-x@example.test", Exists, ".qmail-list-default"},
		{"demo-list@example.test", NoSuch, ""},
		// passwd accounts (qmail-getpw): the bare user always exists, an
		// extension needs its .qmail file.
		{"joe@example.test", Exists, "account joe"},
		{"Joe@Example.Test", Exists, ""},
		{"joe-sub@example.test", Exists, ".qmail-sub"},
		{"joe-nosub@example.test", NoSuch, ""},
		{"joe-open@example.test", TempFail, "writable"},
		{"locked@example.test", Exists, ""},
		{"locked-x@example.test", Unverified, "permission denied"},
		{"broken-x@example.test", TempFail, "input/output error"},
		{"nfs@example.test", TempFail, ""},
		{"squash@example.test", Unverified, ""},
		{"flaky@example.test", TempFail, "passwd unreadable"},
		// The alias user: its .qmail files, then the aliases file.
		{"postmaster@example.test", Exists, ".qmail-postmaster"},
		{"PostMaster@example.test", Exists, ""},
		{"owner-list@example.test", Exists, ".qmail-owner-default"},
		{"webmaster@example.test", Exists, "aliases file"},
		{"WebMaster@example.test", Exists, "aliases file"},
		{"abuse@example.test", Exists, "aliases file"},
		{"root@example.test", NoSuch, ""},
		{"nobody@example.test", NoSuch, "no .qmail file"},
		{"nobody@mail.example.test", NoSuch, ""},
		{"a@b@example.test", NoSuch, ""},
		{"../../etc/passwd@example.test", NoSuch, ""},
		// Routing: percenthack, virtualdomains prepends, remote domains.
		{"demo%example.test@example.test", Exists, ""},
		{"nobody%remote.example@example.test", NotLocal, ""},
		{"sub@vd.example", Exists, ".qmail-sub"},
		{"other@vd.example", NoSuch, ""},
		{"someone@elsewhere.example", NotLocal, ""},
		// Virtual domains.
		{"alice@v.example", Exists, "virtual user alice@v.example"},
		{"ALICE@V.Example", Exists, ""},
		{"info@v.example", Exists, "forward"},
		{"void@v.example", NoSuch, ""},
		{"bob@v.example", NoSuch, "no such user"},
		{"sales@v.example", Exists, ".qmail-sales"},
		{"Sales@v.example", Exists, ".qmail-sales"},
		{"empty@v.example", NoSuch, ""},
		{"alice@alias.example", Exists, "@v.example"},
		{"sales@alias.example", Exists, "v.example/.qmail-sales"},
		{"bob@alias.example", NoSuch, ""},
		{"anyone@c.example", Exists, "virtual user boss@c.example"},
		{"anyone@f.example", Exists, "forward"},
		{"anyone@r.example", NoSuch, "catch-all rejects"},
		{"keep@r.example", Exists, ".qmail-keep"},
		{"anyone@d.example", Exists, ".qmail-default"},
		{"postmaster@p.example", Exists, ""},
		{"postmaster@v.example", NoSuch, ""},
		{"anyone@x.example", Unverified, ""},
		{"anyone@b.example", TempFail, "input/output error"},
		{"../x@v.example", NoSuch, ""},
	} {
		got := site.checker.Check(tc.rcpt)
		if got.Verdict != tc.want || !strings.Contains(got.Why, tc.why) {
			t.Errorf("Check(%q) = %v (%s), want %v (%q)", tc.rcpt, got.Verdict, got.Why, tc.want, tc.why)
		}
	}
}

func TestCheckConfigurations(t *testing.T) {
	site := newTestSite(t)
	base := *site.checker
	for _, tc := range []struct {
		name  string
		edit  func(c *Checker)
		rcpt  string
		want  Verdict
		write map[string]string
	}{
		{"no alias user", func(c *Checker) { c.AliasUser = "" }, "postmaster@example.test", NoSuch, nil},
		{"alias user not found", func(c *Checker) { c.AliasUser = "nosuch" }, "postmaster@example.test", NoSuch, nil},
		{"alias user from passwd", func(c *Checker) { c.AliasUser = "joe" }, "sub@example.test", Exists, nil},
		{"alias user is root", func(c *Checker) { c.AliasUser = "root" }, "postmaster@example.test", NoSuch, nil},
		{"alias user lookup fails", func(c *Checker) { c.AliasUser = "flaky" }, "nobody@example.test", TempFail, nil},
		{"no aliases file configured", func(c *Checker) { c.AliasesFile = "" }, "webmaster@example.test", NoSuch, nil},
		{"aliases file missing", func(c *Checker) { c.AliasesFile = filepath.Join(site.root, "none") }, "webmaster@example.test", TempFail, nil},
		{"aliases file not needed for real users", func(c *Checker) { c.AliasesFile = filepath.Join(site.root, "none") }, "joe@example.test", Exists, nil},
		{"single-user mode: other uids go to the alias user", func(c *Checker) { c.SingleUID = 1600 }, "joe@example.test", NoSuch, nil},
		{"single-user mode: the alias user itself", func(c *Checker) { c.SingleUID = 1600 }, "postmaster@example.test", Exists, nil},
		{"single-user mode: alias user of another uid", func(c *Checker) { c.SingleUID = 1001 }, "postmaster@example.test", NoSuch, nil},
		{"single-user mode: own account", func(c *Checker) { c.SingleUID = 1001 }, "joe@example.test", Exists, nil},
		{"no users/assign", func(c *Checker) { c.Assign = nil }, "demo@example.test", NoSuch, nil},
		{"no passwd", func(c *Checker) { c.System = nil }, "joe@example.test", NoSuch, nil},
		{"no directory", func(c *Checker) { c.Directory = nil }, "alice@v.example", TempFail, nil},
		{"no vmail root", func(c *Checker) { c.VmailRoot = "" }, "sales@v.example", NoSuch, nil},
		{"no rules", func(c *Checker) { c.Rules = nil }, "nobody@example.test", NotLocal, nil},
		{"broken users/assign defers local mail", nil, "joe@example.test", TempFail,
			map[string]string{"users/assign": "=demo:demo:1500:1500:relative:::\n.\n"}},
		{"broken users/assign does not touch virtual mail", nil, "alice@v.example", Exists,
			map[string]string{"users/assign": "=demo:demo:1500:1500:relative:::\n.\n"}},
	} {
		c := base
		if tc.edit != nil {
			tc.edit(&c)
		}
		if tc.write != nil {
			writeFiles(t, site.root, tc.write)
		}
		if got := c.Check(tc.rcpt); got.Verdict != tc.want {
			t.Errorf("%s: Check(%q) = %v (%s), want %v", tc.name, tc.rcpt, got.Verdict, got.Why, tc.want)
		}
	}
}

// The session cache answers repeats without looking again, but never
// keeps a temporary failure.
func TestSessionCache(t *testing.T) {
	site := newTestSite(t)
	s := site.checker.Session()
	if got := s.Check("joe-new@example.test"); got.Verdict != NoSuch {
		t.Fatalf("before: %v", got)
	}
	if got := s.Check("broken-x@example.test"); got.Verdict != TempFail {
		t.Fatalf("broken: %v", got)
	}
	writeFiles(t, site.root, map[string]string{"home/joe/.qmail-new": "./Maildir/\n"})
	delete(site.dirErrs, filepath.Join(site.root, "home", "broken"))
	if got := s.Check("joe-new@example.test"); got.Verdict != NoSuch {
		t.Errorf("cached answer changed within the session: %v", got)
	}
	if got := s.Check("broken-x@example.test"); got.Verdict != NoSuch {
		t.Errorf("a temporary failure was cached: %v", got)
	}
	if got := site.checker.Session().Check("joe-new@example.test"); got.Verdict != Exists {
		t.Errorf("a new session does not see the new file: %v", got)
	}
	for i := 0; i < 3*maxCached; i++ {
		s.Check("nobody" + strings.Repeat("x", i%7) + "@example.test")
		s.Check("n" + string(rune('a'+i%26)) + strings.Repeat("y", i) + "@elsewhere.example")
	}
	if len(s.cache) > maxCached {
		t.Errorf("cache holds %d entries, limit %d", len(s.cache), maxCached)
	}
}

func TestVerdictString(t *testing.T) {
	for v, want := range map[Verdict]string{NotLocal: "not local", Exists: "exists", Unverified: "unverified",
		NoSuch: "no such user", TempFail: "temporary failure", Verdict(99): "unknown verdict", Verdict(-1): "unknown verdict"} {
		if got := v.String(); got != want {
			t.Errorf("%d: %q, want %q", int(v), got, want)
		}
	}
}

// The real file system, not the test seam: a home the check may not read
// fails open. Skipped as root, who reads everything.
func TestUnreadableHomeFailsOpen(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("needs an ordinary user: root reads every directory, so the home cannot be unreadable")
	}
	site := newTestSite(t)
	c := *site.checker
	c.OpenDir = nil
	home := filepath.Join(site.root, "home", "joe")
	if err := os.Chmod(home, 0); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(home, 0o755)
	if got := c.Check("joe-sub@example.test"); got.Verdict != Unverified {
		t.Errorf("unreadable home: %v (%s), want unverified", got.Verdict, got.Why)
	}
}

func TestServesDomain(t *testing.T) {
	site := newTestSite(t)
	for _, tc := range []struct {
		domain  string
		want    bool
		wantErr bool
	}{
		{"v.example", true, false},
		{"V.Example", true, false},
		{"alias.example", true, false},
		{"example.test", false, false},
		{"elsewhere.example", false, false},
		{"b.example", false, true},
	} {
		got, err := site.checker.ServesDomain(tc.domain)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("ServesDomain(%q) = %v, %v; want %v, error %v", tc.domain, got, err, tc.want, tc.wantErr)
		}
	}
	var none *Checker
	if ok, err := none.ServesDomain("v.example"); ok || err != nil {
		t.Errorf("nil checker: %v, %v", ok, err)
	}
	if ok, err := (&Checker{}).ServesDomain("v.example"); ok || err != nil {
		t.Errorf("no directory: %v, %v", ok, err)
	}
}
