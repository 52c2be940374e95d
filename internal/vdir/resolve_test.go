package vdir

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestResolve(t *testing.T) {
	f, _ := newFiles(t)
	standardDomain(t, f)
	must(t, f.AddUser(User{Local: "catch", Domain: "example.com"}, "x"))
	// One domain per catch-all rule, each with a user "u".
	for name, c := range map[string]Catchall{
		"bounce.org":  {Kind: CatchBounce},
		"reject.org":  {Kind: CatchReject},
		"mailbox.org": {Kind: CatchMailbox, Target: "u"},
		"forward.org": {Kind: CatchForward, Target: "a@b.org,u"},
		"pm.org":      {Kind: CatchReject},
		"pmaddr.org":  {Kind: CatchBounce},
	} {
		must(t, f.AddDomain(Domain{Name: name}))
		must(t, f.AddUser(User{Local: "u", Domain: name}, "x"))
		d := Domain{Name: name, Catchall: c}
		switch name {
		case "pm.org":
			d.Postmaster = "u"
		case "pmaddr.org":
			d.Postmaster = "Boss@Elsewhere.org"
		}
		must(t, f.SetDomain(d))
	}
	must(t, f.AddUser(User{Local: "postmaster", Domain: "forward.org"}, "x"))

	mbox := func(d, l string, q, m int64) Result {
		return Result{Kind: Mailbox, Domain: d, Local: l, Quota: q, QuotaMessages: m}
	}
	fwd := func(d string, ts ...string) Result { return Result{Kind: Forward, Domain: d, Targets: ts} }
	for _, tc := range []struct {
		local, domain string
		want          Result
	}{
		{"bob", "example.com", mbox("example.com", "bob", 1000, 10)},
		{"BoB", "EXAMPLE.COM", mbox("example.com", "bob", 1000, 10)},
		{"bob", "example.net", mbox("example.com", "bob", 1000, 10)},
		{"INFO", "example.net", fwd("example.com", "bob@example.com", "Someone@elsewhere.org")},
		{"nobody", "example.com", Result{Kind: NoSuch, Domain: "example.com", Why: "no such user or alias"}},
		{"postmaster", "example.com", Result{Kind: NoSuch, Domain: "example.com", Why: "no such user or alias"}},
		{"bob", "other.org", Result{Kind: NoSuch, Why: "not a virtual domain"}},
		{"bob", "../etc", Result{Kind: NoSuch, Why: "not a virtual domain"}},
		{"bob", "", Result{Kind: NoSuch, Why: "not a virtual domain"}},
		{"x", "bounce.org", Result{Kind: NoSuch, Domain: "bounce.org", Why: "no such user or alias"}},
		{"x", "reject.org", Result{Kind: Reject, Domain: "reject.org", Why: "catch-all rejects unknown names"}},
		{"x", "mailbox.org", mbox("mailbox.org", "u", 0, 0)},
		{"Strange=Name/..", "mailbox.org", mbox("mailbox.org", "u", 0, 0)},
		{"x", "forward.org", fwd("forward.org", "a@b.org", "u@forward.org")},
		{"u", "forward.org", mbox("forward.org", "u", 0, 0)},
		// postmaster: a user of that name first, then the setting, then
		// the catch-all.
		{"postmaster", "forward.org", mbox("forward.org", "postmaster", 0, 0)},
		{"postmaster", "pm.org", mbox("pm.org", "u", 0, 0)},
		{"x", "pm.org", Result{Kind: Reject, Domain: "pm.org", Why: "catch-all rejects unknown names"}},
		{"POSTMASTER", "pmaddr.org", fwd("pmaddr.org", "Boss@elsewhere.org")},
		{"postmaster", "mailbox.org", mbox("mailbox.org", "u", 0, 0)},
		{"postmaster", "reject.org", Result{Kind: Reject, Domain: "reject.org", Why: "catch-all rejects unknown names"}},
	} {
		got, err := f.Resolve(tc.local, tc.domain)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Resolve(%q, %q) = %+v, %v\nwant %+v", tc.local, tc.domain, got, err, tc.want)
		}
	}
	// postmaster as an alias, via the setting.
	must(t, f.SetDomain(Domain{Name: "example.com", Postmaster: "info"}))
	if got, _ := f.Resolve("postmaster", "example.net"); !reflect.DeepEqual(got, fwd("example.com", "bob@example.com", "Someone@elsewhere.org")) {
		t.Errorf("postmaster via alias: %+v", got)
	}
}

func TestIsDomain(t *testing.T) {
	f, _ := newFiles(t)
	if ok, err := f.IsDomain("example.com"); ok || err != nil {
		t.Errorf("empty directory: %v %v", ok, err)
	}
	if ds, err := f.Domains(); len(ds) != 0 || err != nil {
		t.Errorf("Domains of nothing: %v %v", ds, err)
	}
	standardDomain(t, f)
	for name, want := range map[string]bool{"example.com": true, "Example.NET": true, "example.org": false, "..": false, ".lock": false} {
		if ok, err := f.IsDomain(name); ok != want || err != nil {
			t.Errorf("IsDomain(%q) = %v, %v", name, ok, err)
		}
	}
	if d, ok, _ := f.Domain("example.net"); !ok || d.AliasOf != "example.com" {
		t.Errorf("Domain(example.net) = %+v %v", d, ok)
	}
}

func TestAuthenticate(t *testing.T) {
	f, _ := newFiles(t)
	standardDomain(t, f)
	for _, tc := range []struct {
		login, pw string
		ok        bool
	}{
		{"bob@example.com", "bobpw", true},
		{"BOB@Example.Com", "bobpw", true},
		{"bob@example.net", "bobpw", true},
		{"bob@example.com", "BOBPW", false},
		{"bob@example.com", "", false},
		{"alice@example.com", "bobpw", false},
		{"nobody@example.com", "bobpw", false},
		{"info@example.com", "bobpw", false},
		{"bob@nosuch.org", "bobpw", false},
		{"bob", "bobpw", false},
		{"", "", false},
	} {
		u, ok, err := f.Authenticate(tc.login, tc.pw)
		if err != nil || ok != tc.ok {
			t.Errorf("Authenticate(%q, %q) = %v, %v", tc.login, tc.pw, ok, err)
		}
		if ok && (u.Local != "bob" || u.Domain != "example.com" || u.QuotaBytes != 1000) {
			t.Errorf("Authenticate(%q): user %+v", tc.login, u)
		}
		if !ok && u != (User{}) {
			t.Errorf("Authenticate(%q) failed but returned %+v", tc.login, u)
		}
	}
	// Unknown users were checked against the dummy hash, at the same
	// bcrypt cost as real ones.
	if pwScheme(f.dummy) != "BLF-CRYPT" || f.dummy[len("{BLF-CRYPT}$2y$"):][:2] != "04" {
		t.Errorf("dummy hash %q", f.dummy)
	}
	// A broken stored hash is an error, not a silent "no".
	f2, root := newFiles(t)
	must(t, f2.AddDomain(Domain{Name: "example.com"}))
	must(t, f2.AddUserHash(User{Local: "bob", Domain: "example.com", Hash: "{PLAIN}x"}))
	p := filepath.Join(root, "vdir", "example.com", "passwd")
	b := readFile(t, p)
	must(t, os.WriteFile(p, []byte("bob:{NOPE}x"+b[len("bob:{PLAIN}x"):]), 0o600))
	if _, ok, err := f2.Authenticate("bob@example.com", "x"); ok || err == nil {
		t.Errorf("broken hash: %v %v", ok, err)
	}
}

func TestUserWithoutPasswdAccess(t *testing.T) {
	if isRoot() {
		t.Skip("needs an ordinary user: root reads every file, so the refusal cannot happen")
	}
	f, root := newFiles(t)
	standardDomain(t, f)
	must(t, os.Chmod(filepath.Join(root, "vdir", "example.com", "passwd"), 0))
	u, ok, err := f.User("bob", "example.com")
	if err != nil || !ok || u.Hash != "" || u.QuotaBytes != 1000 {
		t.Errorf("User without passwd access: %+v %v %v", u, ok, err)
	}
	if r, err := f.Resolve("bob", "example.com"); err != nil || r.Kind != Mailbox {
		t.Errorf("Resolve without passwd access: %+v %v", r, err)
	}
}

func TestCorruptFileIsAnError(t *testing.T) {
	f, root := newFiles(t)
	standardDomain(t, f)
	p := filepath.Join(root, "vdir", "example.com", "mailboxes")
	must(t, os.WriteFile(p, []byte("bob 1 2\nbroken line here too\n"), 0o644))
	_, err := f.Resolve("bob", "example.com")
	if err == nil || !contains(err.Error(), "mailboxes: line 2: want \"local quota_bytes quota_messages\"") {
		t.Errorf("corrupt mailboxes: %v", err)
	}
	// A write fails the same way, rather than overwriting what it cannot read.
	if err := f.AddUser(User{Local: "x", Domain: "example.com"}, "x"); err == nil {
		t.Error("AddUser over a corrupt index succeeded")
	}
}
