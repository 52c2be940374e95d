package rcptcheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"goqmail/internal/rewrite"
	"goqmail/internal/vdir"
)

// newVirtualSite makes a real file-based directory (internal/vdir) with:
// v.example (user alice, alias info, a vpopmail-style .qmail-sales file,
// no postmaster), p.example (postmaster=alice),
// catch-all domains to a mailbox (c.example), a forward (f.example) and
// reject (r.example), an alias domain (alias.example -> v.example), and
// d.example whose directory has a .qmail-default.
func newVirtualSite(t testing.TB) *Checker {
	t.Helper()
	root := t.TempDir()
	dir := vdir.OpenFiles(filepath.Join(root, "vdir"), filepath.Join(root, "vmail"), os.Getuid(), os.Getgid())
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	user := func(local, domain string) {
		must(dir.AddUserHash(vdir.User{Local: local, Domain: domain, Hash: "{PLAIN}secret"}))
	}
	must(dir.AddDomain(vdir.Domain{Name: "v.example"}))
	user("alice", "v.example")
	must(dir.SetAlias(vdir.Alias{Local: "info", Domain: "v.example", Targets: []string{"alice", "joe@elsewhere.example"}}))
	must(dir.AddDomain(vdir.Domain{Name: "alias.example", AliasOf: "v.example"}))
	must(dir.AddDomain(vdir.Domain{Name: "p.example"}))
	user("alice", "p.example")
	must(dir.SetDomain(vdir.Domain{Name: "p.example", Postmaster: "alice"}))
	must(dir.AddDomain(vdir.Domain{Name: "c.example"}))
	user("boss", "c.example")
	must(dir.SetDomain(vdir.Domain{Name: "c.example", Catchall: vdir.Catchall{Kind: vdir.CatchMailbox, Target: "boss"}}))
	must(dir.AddDomain(vdir.Domain{Name: "f.example", Catchall: vdir.Catchall{Kind: vdir.CatchForward, Target: "joe@elsewhere.example"}}))
	must(dir.AddDomain(vdir.Domain{Name: "r.example", Catchall: vdir.Catchall{Kind: vdir.CatchReject}}))
	user("carol", "r.example")
	must(dir.AddDomain(vdir.Domain{Name: "d.example"}))
	writeFiles(t, root, map[string]string{
		"vmail/v.example/.qmail-sales":   "&joe@elsewhere.example\n",
		"vmail/d.example/.qmail-default": "./catchall/Maildir/\n",
	})
	return &Checker{
		Rules:     rewrite.Build("example.test", []string{"example.test"}, nil, nil).WithDirectory(dir),
		Directory: dir,
		VmailRoot: filepath.Join(root, "vmail"),
	}
}

// TestCheckRealDirectory is the virtual half of the RCPT table against
// the real directory: existing, unknown, catch-all, alias, alias-domain
// and postmaster addresses.
func TestCheckRealDirectory(t *testing.T) {
	c := newVirtualSite(t)
	for _, tc := range []struct {
		rcpt string
		want Verdict
		why  string
	}{
		{"alice@v.example", Exists, "virtual user alice@v.example"},
		{"Alice@v.example", Exists, ""},
		{"info@v.example", Exists, "forward"},
		{"bob@v.example", NoSuch, "no such user"},
		{"sales@v.example", Exists, ".qmail-sales"},
		{"postmaster@v.example", NoSuch, ""},
		{"alice@alias.example", Exists, "alice@v.example"},
		{"info@alias.example", Exists, "forward"},
		{"sales@alias.example", Exists, filepath.Join("v.example", ".qmail-sales")},
		{"bob@alias.example", NoSuch, ""},
		{"postmaster@p.example", Exists, "alice@p.example"},
		{"PostMaster@p.example", Exists, ""},
		{"anyone@c.example", Exists, "boss@c.example"},
		{"we!rd@c.example", Exists, "boss@c.example"},
		{"anyone@f.example", Exists, "forward"},
		{"anyone@r.example", NoSuch, "catch-all"},
		{"carol@r.example", Exists, ""},
		{"anyone@d.example", Exists, ".qmail-default"},
		{"nobody@unknown-domain.example", NotLocal, ""},
		{"nobody@example.test", NoSuch, ""}, // local, and no users at all
	} {
		got := c.Check(tc.rcpt)
		if got.Verdict != tc.want || !strings.Contains(got.Why, tc.why) {
			t.Errorf("Check(%q) = %v (%s), want %v (%q)", tc.rcpt, got.Verdict, got.Why, tc.want, tc.why)
		}
	}
}
