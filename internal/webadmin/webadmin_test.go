package webadmin

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"goqmail/internal/logline"
	"goqmail/internal/proto"
	"goqmail/internal/vdir"
	"goqmail/internal/webrpc"
)

// allOps is every operation of ops.go: each must be registered.
var allOps = []string{
	OpWhoami, OpDomains, OpDomainAdd, OpDomainDelete, OpDomainSet, OpUsers, OpUserAdd, OpUserDelete,
	OpUserPassword, OpUserQuota, OpAliases, OpAliasSet, OpAliasDelete, OpQueue, OpQueueShow, OpQueueRetry,
	OpQueueHold, OpQueueRelease, OpQueueDelete, OpGrants, OpGrantDelete, OpDKIM, OpDNS, OpLog, OpHealth,
}

// siteOps are the operations a domain admin may not call at all.
var siteOps = map[string]bool{
	OpDomainAdd: true, OpDomainDelete: true, OpQueue: true, OpQueueShow: true, OpQueueRetry: true,
	OpQueueHold: true, OpQueueRelease: true, OpQueueDelete: true, OpGrants: true, OpGrantDelete: true,
	OpLog: true, OpHealth: true,
}

// setup makes a root with example.com (alias domain example.net) and
// other.org, and returns a session of role for it.
func setup(t *testing.T, role, domain string) (*Session, *vdir.Files, *bytes.Buffer) {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"control", "log", "relay"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dir := vdir.OpenFiles(filepath.Join(root, "vdir"), filepath.Join(root, "vmail"), os.Getuid(), os.Getgid())
	for _, err := range []error{
		dir.AddDomain(vdir.Domain{Name: "example.com"}),
		dir.AddDomain(vdir.Domain{Name: "example.net", AliasOf: "example.com"}),
		dir.AddDomain(vdir.Domain{Name: "other.org"}),
		dir.AddUserHash(vdir.User{Local: "postmaster", Domain: "example.com", Hash: "{PLAIN}x"}),
		dir.AddUserHash(vdir.User{Local: "carol", Domain: "other.org", Hash: "{PLAIN}x"}),
		dir.SetAlias(vdir.Alias{Local: "sales", Domain: "other.org", Targets: []string{"carol@other.org"}}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	var log bytes.Buffer
	s, err := New(root, role, domain, "postmaster@example.com", logline.NewTo(&log, "admin-session"))
	if err != nil {
		t.Fatal(err)
	}
	s.Open = func() (*vdir.Files, error) { return dir, nil }
	s.Queue = func(string, proto.Admin) (string, error) { t.Error("the queue was asked"); return "", nil }
	return s, dir, &log
}

func call(s *Session, op string, args ...string) *webrpc.Response {
	return s.Handle(&webrpc.Request{Op: op, Args: args})
}

func TestEveryOpRegistered(t *testing.T) {
	got := strings.Join(Ops(), " ")
	for _, op := range allOps {
		if !strings.Contains(" "+got+" ", " "+op+" ") {
			t.Errorf("%s is not registered", op)
		}
		if SiteOnly(op) != siteOps[op] {
			t.Errorf("%s: site only %v, want %v", op, SiteOnly(op), siteOps[op])
		}
	}
	if len(Ops()) != len(allOps) {
		t.Errorf("registered %v, ops.go has %d", Ops(), len(allOps))
	}
}

// A domain admin is refused every site operation and every operation on
// another domain, and nothing changes.
func TestDomainAdminConfined(t *testing.T) {
	s, dir, _ := setup(t, proto.RoleDomain, "example.com")
	other := map[string][]string{
		OpDomainSet: {"other.org", "bounce", "0"}, OpUsers: {"other.org"}, OpUserAdd: {"eve@other.org", "pw"},
		OpUserDelete: {"carol@other.org"}, OpUserPassword: {"carol@other.org", "pw"}, OpUserQuota: {"carol@other.org", "1", "1"},
		OpAliases: {"other.org"}, OpAliasSet: {"sales@other.org", "postmaster@example.com"}, OpAliasDelete: {"sales@other.org"},
		OpDKIM: {"other.org"}, OpDNS: {"other.org"},
		// Upper case and a trailing dot are the same domain.
		OpWhoami: nil, OpDomains: nil,
	}
	for _, op := range allOps {
		if siteOps[op] {
			args := []string{"0123456789abcdef", "bounce"}
			if r := call(s, op, args...); r.Status != webrpc.Forbidden {
				t.Errorf("domain admin %s: %v %q, want forbidden", op, r.Status, r.Text)
			}
			continue
		}
		args, ok := other[op]
		if !ok {
			t.Errorf("no cross-domain case for %s", op)
			continue
		}
		if op == OpWhoami || op == OpDomains {
			continue
		}
		if r := call(s, op, args...); r.Status != webrpc.Forbidden {
			t.Errorf("domain admin %s %v: %v %q, want forbidden", op, args, r.Status, r.Text)
		}
		upper := append([]string(nil), args...)
		upper[0] = strings.ToUpper(upper[0])
		if r := call(s, op, upper...); r.Status != webrpc.Forbidden {
			t.Errorf("domain admin %s %v: %v %q, want forbidden", op, upper, r.Status, r.Text)
		}
	}
	r := call(s, OpDomains)
	if r.Status != webrpc.OK || len(r.Rows) != 2 || r.Rows[0][0] != "example.com" || r.Rows[1][0] != "example.net" {
		t.Errorf("domains of a domain admin: %v %q %v", r.Status, r.Text, r.Rows)
	}
	if _, ok, _ := dir.User("carol", "other.org"); !ok {
		t.Error("carol@other.org is gone")
	}
	if as, _ := dir.Aliases("other.org"); len(as) != 1 || as[0].Targets[0] != "carol@other.org" {
		t.Errorf("other.org's aliases changed: %v", as)
	}
	if d, _, _ := dir.Domain("other.org"); d.Catchall.Kind != vdir.CatchBounce {
		t.Errorf("other.org changed: %+v", d)
	}
	if r := call(s, OpWhoami); r.Rows[0][0] != "domain" || r.Rows[0][1] != "example.com" {
		t.Errorf("whoami: %v", r.Rows)
	}
}

// Within its domain and its alias domains a domain admin does what the
// goqmail commands do.
func TestDomainAdminOwnDomain(t *testing.T) {
	s, dir, log := setup(t, proto.RoleDomain, "example.com")
	steps := []struct {
		op   string
		args []string
		want webrpc.Status
	}{
		{OpUserAdd, []string{"dave@example.com", "davepw", "1000000", "50"}, webrpc.OK},
		{OpUserAdd, []string{"dave@example.com", "again"}, webrpc.Conflict},
		{OpUserAdd, []string{"--quota=1@example.com", "pw"}, webrpc.Invalid},
		{OpUserQuota, []string{"dave@example.com", "2M", "0"}, webrpc.OK},
		{OpUserPassword, []string{"dave@example.com", "newpw"}, webrpc.OK},
		{OpAliasSet, []string{"info@example.com", "dave@example.com,carol@other.org"}, webrpc.OK},
		{OpAliasSet, []string{"info@example.net", "dave@example.com"}, webrpc.Invalid}, // in scope; vdir says why not
		{OpAliasSet, []string{"x@example.com", "--all"}, webrpc.Invalid},
		{OpDomainSet, []string{"example.com", "mailbox:dave", ""}, webrpc.OK},
		{OpUserDelete, []string{"postmaster@example.com"}, webrpc.Invalid},
		{OpUserDelete, []string{"nobody@example.com"}, webrpc.NotFound},
		{OpDKIM, []string{"example.com"}, webrpc.OK},
	}
	for _, st := range steps {
		if r := call(s, st.op, st.args...); r.Status != st.want {
			t.Errorf("%s %v: %v %q, want %v", st.op, st.args, r.Status, r.Text, st.want)
		}
	}
	u, ok, _ := dir.User("dave", "example.com")
	if !ok || u.QuotaBytes != 2<<20 || u.QuotaMessages != 0 {
		t.Errorf("dave: %+v %v", u, ok)
	}
	if _, ok, _ := dir.Authenticate("dave@example.com", "newpw"); !ok {
		t.Error("dave's new password does not work")
	}
	r := call(s, OpUsers, "example.com")
	if r.Status != webrpc.OK || len(r.Rows) != 2 || r.Rows[0][0] != "dave@example.com" || r.Rows[0][1] != "2097152" {
		t.Errorf("users: %v %q %v", r.Status, r.Text, r.Rows)
	}
	r = call(s, OpAliases, "example.com")
	if len(r.Rows) != 1 || r.Rows[0][1] != "dave@example.com,carol@other.org" {
		t.Errorf("aliases: %v", r.Rows)
	}
	if d, _, _ := dir.Domain("example.com"); d.Catchall.Kind != vdir.CatchMailbox {
		t.Errorf("catch-all not set: %+v", d)
	}
	if strings.Contains(log.String(), "davepw") || strings.Contains(log.String(), "newpw") {
		t.Errorf("a password reached the log:\n%s", log)
	}
	if !strings.Contains(log.String(), "user.add dave@example.com (password)") {
		t.Errorf("the change is not logged:\n%s", log)
	}
}

func TestSiteAdmin(t *testing.T) {
	s, dir, _ := setup(t, proto.RoleSite, "")
	var asked []proto.Admin
	s.Queue = func(_ string, a proto.Admin) (string, error) { asked = append(asked, a); return "done", nil }
	if r := call(s, OpDomainAdd, "new.test", "", "5M"); r.Status != webrpc.OK {
		t.Fatalf("domain.add: %v %q", r.Status, r.Text)
	}
	if d, ok, _ := dir.Domain("new.test"); !ok || d.Quota != 5<<20 {
		t.Errorf("new.test: %+v %v", d, ok)
	}
	if r := call(s, OpDomainAdd, "--alias-of=x", ""); r.Status != webrpc.Invalid {
		t.Errorf("option as a domain: %v %q", r.Status, r.Text)
	}
	if r := call(s, OpUsers, "other.org"); r.Status != webrpc.OK || len(r.Rows) != 1 {
		t.Errorf("site admin users of other.org: %v %v", r.Status, r.Rows)
	}
	if r := call(s, OpDomainDelete, "new.test"); r.Status != webrpc.OK {
		t.Errorf("domain.delete: %v %q", r.Status, r.Text)
	}
	if r := call(s, OpQueueDelete, "0123456789abcdef"); r.Status != webrpc.Invalid {
		t.Errorf("queue.delete without a choice: %v", r.Status)
	}
	if r := call(s, OpQueueDelete, "0123456789abcdef", "silent"); r.Status != webrpc.OK {
		t.Errorf("queue.delete: %v %q", r.Status, r.Text)
	}
	if r := call(s, OpQueueHold, "../../etc/passwd"); r.Status != webrpc.Invalid {
		t.Errorf("queue.hold of a path: %v", r.Status)
	}
	if len(asked) != 1 || asked[0].Verb != proto.AdminDelete || asked[0].Bounce {
		t.Errorf("queue commands sent: %+v", asked)
	}
	if r := call(s, OpGrants); r.Status != webrpc.OK || len(r.Rows) != 0 {
		t.Errorf("grants: %v %q %v", r.Status, r.Text, r.Rows)
	}
	if r := call(s, OpGrantDelete, "192.0.2.1"); r.Status != webrpc.NotFound {
		t.Errorf("grant.delete of nothing: %v %q", r.Status, r.Text)
	}
	cur := filepath.Join(s.Root, "log", "current")
	if err := os.WriteFile(cur, []byte("one\ntwo\nthree\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := call(s, OpLog, "2"); r.Status != webrpc.OK || len(r.Rows) != 2 || r.Rows[0][0] != "two" || r.Rows[1][0] != "three" {
		t.Errorf("log 2: %v %q %v", r.Status, r.Text, r.Rows)
	}
	if r := call(s, OpLog, "2001"); r.Status != webrpc.Invalid {
		t.Errorf("log 2001: %v", r.Status)
	}
	if r := call(s, "nonsense"); r.Status != webrpc.Invalid {
		t.Errorf("unknown op: %v", r.Status)
	}
}

func TestNewRefusesBadRoles(t *testing.T) {
	for _, c := range [][2]string{{"site", "example.com"}, {"domain", ""}, {"root", ""}, {"domain", "-x"}} {
		if _, err := New("/tmp", c[0], c[1], "x", nil); err == nil {
			t.Errorf("New(role %q, domain %q) accepted", c[0], c[1])
		}
	}
}

// A site administrator who is a user of a domain is out of reach of that
// domain's admin: no password, quota or delete (nor an add of the login
// when it does not exist), whichever alias domain names it; a site admin
// may. Before the check a postmaster could set the site admin's password
// and log in as the site admin.
func TestDomainAdminCannotTouchSiteAdmin(t *testing.T) {
	s, dir, _ := setup(t, proto.RoleDomain, "example.com")
	if err := dir.AddUserHash(vdir.User{Local: "boss", Domain: "example.com", Hash: "{PLAIN}x"}); err != nil {
		t.Fatal(err)
	}
	// Listed at the alias domain and, a second admin, not yet a user.
	if err := os.WriteFile(filepath.Join(s.Root, "control", "webadmins"), []byte("# admins\nBoss@example.net\nchief@example.com\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		op   string
		args []string
	}{
		{OpUserPassword, []string{"boss@example.com", "stolen"}},
		{OpUserPassword, []string{"BOSS@EXAMPLE.NET", "stolen"}},
		{OpUserQuota, []string{"boss@example.com", "1", "1"}},
		{OpUserDelete, []string{"boss@example.com"}},
		{OpUserAdd, []string{"chief@example.com", "mine"}},
	} {
		if r := call(s, c.op, c.args...); r.Status != webrpc.Forbidden {
			t.Errorf("domain admin %s %v: %v %q, want forbidden", c.op, c.args, r.Status, r.Text)
		}
	}
	if u, ok, _ := dir.User("boss", "example.com"); !ok || u.Hash != "{PLAIN}x" || u.QuotaBytes != 0 {
		t.Errorf("the site admin's account changed: %+v %v", u, ok)
	}
	if _, ok, _ := dir.User("chief", "example.com"); ok {
		t.Error("the domain admin added a site admin's login")
	}
	// Other users of the domain stay the domain admin's.
	if r := call(s, OpUserAdd, "ann@example.com", "pw"); r.Status != webrpc.OK {
		t.Errorf("user.add ann: %v %q", r.Status, r.Text)
	}
	site, sdir, _ := setup(t, proto.RoleSite, "")
	if err := sdir.AddUserHash(vdir.User{Local: "boss", Domain: "example.com", Hash: "{PLAIN}x"}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(site.Root, "control", "webadmins"), []byte("boss@example.com\n"), 0o644)
	if r := call(site, OpUserPassword, "boss@example.com", "new"); r.Status != webrpc.OK {
		t.Errorf("site admin user.password: %v %q", r.Status, r.Text)
	}
}
