package migrate

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"goqmail/internal/vdir"
)

// newRoot makes an empty goqmail ROOT with vdir/ and vmail/.
func newRoot(t *testing.T) (string, *vdir.Files) {
	t.Helper()
	root := t.TempDir()
	mustMkdir(t, filepath.Join(root, "vdir"), filepath.Join(root, "vmail"), filepath.Join(root, "control"))
	return root, vdir.OpenFiles(filepath.Join(root, "vdir"), filepath.Join(root, "vmail"), os.Getuid(), os.Getgid())
}

func runImport(t *testing.T, s oldSite, root string, dir *vdir.Files, dry bool) (Report, string) {
	t.Helper()
	var out bytes.Buffer
	rep, err := Run(Options{QmailDir: s.qmail, VpopmailDir: s.vpop, Root: root, Dir: dir, DryRun: dry, Out: &out})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	return rep, out.String()
}

// wantProblems are what the test site cannot carry over, each identified
// by a piece of its line.
var wantProblems = []string{
	"control/smtpplugins: its plugins are programs of the old installation",
	"domain sql.example: ",
	"password for old@virt.example (DES crypt); set one with goqmail user passwd",
	"user old@virt.example: vpopmail flags NO_POP",
	"names the old vpopmail tree", // .qmail-list
}

func checkProblems(t *testing.T, rep Report, want []string) {
	t.Helper()
	if len(rep.Problems) != len(want) {
		t.Errorf("%d problems, want %d:\n%s", len(rep.Problems), len(want), strings.Join(rep.Problems, "\n"))
	}
	for _, w := range want {
		if !slices.ContainsFunc(rep.Problems, func(p string) bool { return strings.Contains(p, w) }) {
			t.Errorf("no problem mentions %q:\n%s", w, strings.Join(rep.Problems, "\n"))
		}
	}
}

func TestImport(t *testing.T) {
	t.Parallel()
	site := buildOldSite(t)
	root, dir := newRoot(t)
	rep, out := runImport(t, site, root, dir, false)
	t.Log(out)
	checkProblems(t, rep, wantProblems)
	if rep.Complete() {
		t.Error("Complete() with problems")
	}

	for _, want := range []string{
		"control me\n",
		"control rcpthosts (with the 2 domains of morercpthosts)\n",
		"skipped: control/morercpthosts.cdb (compiled from morercpthosts, which is read instead)\n",
		"control virtualdomains (2 vpopmail domain lines left out: the virtual directory serves them)\n",
		"users/assign (3 vpopmail domain lines left out: the virtual directory serves them)\n",
		"domain virt.example\n",
		"user joe@virt.example (SHA512-CRYPT, quota 50 MB, 4 messages copied)\n",
		"user ann@virt.example (MD5-CRYPT, quota 1 MB, 1000 messages, 0 messages copied)\n",
		"user bob@virt.example (BLF-CRYPT, new hash from the clear-text password; the old one was DES crypt, no quota, 0 messages copied)\n",
		"user old@virt.example (no usable password, no quota, 0 messages copied)\n",
		"alias sales@virt.example -> joe@virt.example, ann@virt.example\n",
		"alias archive@virt.example -> x@remote.example, ann@virt.example\n",
		"catch-all virt.example: mailbox:postmaster\n",
		".qmail-weird copied to " + filepath.Join(root, "vmail", "virt.example", ".qmail-weird") + " (not an alias: target \"a b@x.example\" is not a valid address",
		"catch-all other.example: reject (vpopmail's \"delete\" discarded such mail silently; goqmail refuses it at SMTP time)\n",
		"domain third.example (default quota 10 MB)\n",
		"catch-all third.example: forward:catchall@virt.example\n",
		"user dan@third.example (SHA512-CRYPT, no quota, no mailbox directory yet)\n",
		"user carl@other.example (SHA256-CRYPT, no quota, 0 messages copied)\n",
		"alias domain alias.example -> virt.example\n",
		"alias domain link.example -> virt.example\n",
		"could not carry over:\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}

	// Domains and alias domains.
	doms, err := dir.Domains()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range doms {
		names = append(names, d.Name+">"+d.AliasOf+">"+d.Catchall.String())
	}
	wantDoms := []string{"alias.example>virt.example>bounce", "link.example>virt.example>bounce", "other.example>>reject",
		"third.example>>forward:catchall@virt.example", "virt.example>>mailbox:postmaster"}
	if !slices.Equal(names, wantDoms) {
		t.Errorf("domains %q, want %q", names, wantDoms)
	}

	// Users log in with their old passwords, at the domain and through
	// an alias domain; a user whose password was lost cannot.
	for _, c := range []struct {
		login, pw string
		ok        bool
	}{
		{"joe@virt.example", "sha512-secret", true},
		{"joe@virt.example", "wrong", false},
		{"ann@virt.example", "md5-secret", true},
		{"bob@virt.example", "des-pass", true},
		{"postmaster@virt.example", "md5-secret", true},
		{"carl@other.example", "sha256-secret", true},
		{"dan@third.example", "sha512-secret", true},
		{"old@virt.example", "des-pass", false},
		{"old@virt.example", "", false},
	} {
		_, ok, err := dir.Authenticate(c.login, c.pw)
		if err != nil || ok != c.ok {
			t.Errorf("Authenticate(%s, %q) = %v, %v; want %v", c.login, c.pw, ok, err, c.ok)
		}
	}
	for _, c := range []struct {
		local, domain string
		bytes, msgs   int64
	}{
		{"joe", "virt.example", 50 << 20, 0},
		{"ann", "virt.example", 1 << 20, 1000},
		{"bob", "virt.example", 0, 0},
		{"dan", "third.example", 0, 0}, // NOQUOTA beats the domain's default
	} {
		u, ok, err := dir.User(c.local, c.domain)
		if err != nil || !ok || u.QuotaBytes != c.bytes || u.QuotaMessages != c.msgs {
			t.Errorf("User(%s@%s) = %+v %v %v, want quota %d/%d", c.local, c.domain, u, ok, err, c.bytes, c.msgs)
		}
	}

	// Aliases, catch-alls and alias domains resolve.
	for _, c := range []struct {
		local, domain string
		kind          vdir.Kind
		target        string
	}{
		{"sales", "virt.example", vdir.Forward, "joe@virt.example,ann@virt.example"},
		{"archive", "virt.example", vdir.Forward, "x@remote.example,ann@virt.example"},
		{"joe", "alias.example", vdir.Mailbox, "joe"},
		{"ann", "link.example", vdir.Mailbox, "ann"},
		{"nobody", "virt.example", vdir.Mailbox, "postmaster"},
		{"nobody", "other.example", vdir.Reject, ""},
		{"nobody", "third.example", vdir.Forward, "catchall@virt.example"},
	} {
		res, err := dir.Resolve(c.local, c.domain)
		got := res.Local
		if res.Kind == vdir.Forward {
			got = strings.Join(res.Targets, ",")
		}
		if err != nil || res.Kind != c.kind || got != c.target {
			t.Errorf("Resolve(%s@%s) = %+v, %v; want kind %v %q", c.local, c.domain, res, err, c.kind, c.target)
		}
	}

	// Instruction files: programs as they were, paths to imported
	// mailboxes moved to the new tree.
	vm := filepath.Join(root, "vmail", "virt.example")
	for name, want := range map[string]string{
		".qmail-prog":  "|/usr/bin/procmail -m /etc/procmailrc\n",
		".qmail-joe":   "&joe@elsewhere.example\n" + filepath.Join(vm, "joe", "Maildir") + "/\n",
		".qmail-bob":   "&bob@forward.example\n",
		".qmail-weird": "&a b@x.example\n",
		".qmail-list":  "|/usr/bin/ezmlm-send '" + filepath.Join(site.vpop, "domains", "virt.example", "list") + "'\n",
	} {
		b, err := os.ReadFile(filepath.Join(vm, name))
		if err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", name, b, err, want)
		}
	}
	for _, name := range []string{".qmail-sales", ".qmail-archive", ".qmail-default"} {
		if _, err := os.Stat(filepath.Join(vm, name)); err == nil {
			t.Errorf("%s was copied; it should have become an alias or a catch-all", name)
		}
	}

	checkJoeMailbox(t, root)

	// Control files and users/assign.
	for name, want := range map[string]string{
		"control/me":             "mail.old.example\n",
		"control/rcpthosts":      "virt.example\nother.example\nthird.example\nalias.example\n",
		"control/virtualdomains": "legacy.example:legacyuser\n",
		"control/databytes":      "10000000\n",
		"users/assign":           "=sysuser:sysuser:1001:1001:/home/sysuser:::\n.\n",
	} {
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", name, b, err, want)
		}
	}
	for _, name := range []string{"control/smtpplugins", "control/morercpthosts", "control/morercpthosts.cdb"} {
		if _, err := os.Stat(filepath.Join(root, name)); err == nil {
			t.Errorf("%s was copied", name)
		}
	}
}

// checkJoeMailbox compares joe's new Maildir with the old one: names
// (flags included), contents, modification times, maildirsize, the
// Maildir++ folder; tmp/ stays empty.
func checkJoeMailbox(t *testing.T, root string) {
	t.Helper()
	md := filepath.Join(root, "vmail", "virt.example", "joe", "Maildir")
	for _, m := range joeMessages {
		fi, err := os.Stat(filepath.Join(md, m.path))
		if err != nil {
			t.Errorf("message %s: %v", m.path, err)
			continue
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("message %s: mode %v, want 0600", m.path, fi.Mode())
		}
		if !fi.ModTime().Equal(m.mtime) {
			t.Errorf("message %s: mtime %v, want %v", m.path, fi.ModTime(), m.mtime)
		}
		b, _ := os.ReadFile(filepath.Join(md, m.path))
		if want := "Subject: " + filepath.Base(m.path) + "\n\nhello\n"; string(b) != want {
			t.Errorf("message %s = %q, want %q", m.path, b, want)
		}
	}
	if b, err := os.ReadFile(filepath.Join(md, "maildirsize")); err != nil || string(b) != joeMaildirsize {
		t.Errorf("maildirsize = %q, %v; want %q", b, err, joeMaildirsize)
	}
	if _, err := os.Stat(filepath.Join(md, ".Sent", "maildirfolder")); err != nil {
		t.Errorf(".Sent/maildirfolder: %v", err)
	}
	if ents, err := os.ReadDir(filepath.Join(md, "tmp")); err != nil || len(ents) != 0 {
		t.Errorf("tmp/ = %v, %v; want empty", ents, err)
	}
}

func TestImportAgainChangesNothing(t *testing.T) {
	t.Parallel()
	site := buildOldSite(t)
	root, dir := newRoot(t)
	runImport(t, site, root, dir, false)
	before := treeState(t, root)

	// The user whose password was lost is there now, as the admin may
	// have given it one; the rest is still not carried over.
	rep, out := runImport(t, site, root, dir, false)
	checkProblems(t, rep, slices.DeleteFunc(slices.Clone(wantProblems), func(p string) bool { return strings.HasPrefix(p, "password for old") }))
	if d := diffStates(before, treeState(t, root)); len(d) > 0 {
		t.Errorf("second run changed ROOT: %v", d)
	}
	for _, want := range []string{
		"control me: already there\n",
		"domain virt.example: already there\n",
		"user joe@virt.example: already there, 0 messages copied, 4 already there\n",
		"alias sales@virt.example -> joe@virt.example, ann@virt.example: already there\n",
		"catch-all virt.example: already there\n",
		"alias domain link.example -> virt.example: already there\n",
		": already there\n", // instructions
	} {
		if !strings.Contains(out, want) {
			t.Errorf("second run's output lacks %q:\n%s", want, out)
		}
	}
	for _, l := range lines(out) {
		if strings.HasPrefix(l, "domain ") || strings.HasPrefix(l, "user ") || strings.HasPrefix(l, "alias ") || strings.HasPrefix(l, "control ") {
			if !strings.Contains(l, "already there") {
				t.Errorf("second run did something: %q", l)
			}
		}
	}

	// Mail that reached the old mailbox since, and a message joe has read
	// on the new server meanwhile: only the new one is copied.
	old := filepath.Join(site.vpop, "domains", "virt.example", "joe", "Maildir")
	writeTestFile(t, filepath.Join(old, "new", "1700000100.5.old,S=31"), "Subject: late\n\nhello\n", joeMessages[0].mtime)
	md := filepath.Join(root, "vmail", "virt.example", "joe", "Maildir")
	if err := os.Rename(filepath.Join(md, joeMessages[0].path), filepath.Join(md, "cur", filepath.Base(joeMessages[0].path)+":2,S")); err != nil {
		t.Fatal(err)
	}
	_, out = runImport(t, site, root, dir, false)
	if want := "user joe@virt.example: already there, 1 message copied, 4 already there\n"; !strings.Contains(out, want) {
		t.Errorf("third run's output lacks %q:\n%s", want, out)
	}
	if _, err := os.Stat(filepath.Join(md, "new", "1700000100.5.old,S=31")); err != nil {
		t.Errorf("late message not copied: %v", err)
	}
	if _, err := os.Stat(filepath.Join(md, joeMessages[0].path)); err == nil {
		t.Error("a message read on the new server was copied again")
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	site := buildOldSite(t)
	root, dir := newRoot(t)
	before := treeState(t, root)
	oldBefore := treeState(t, filepath.Dir(site.vpop))
	rep, dryOut := runImport(t, site, root, dir, true)
	checkProblems(t, rep, wantProblems)
	if d := diffStates(before, treeState(t, root)); len(d) > 0 {
		t.Errorf("dry run changed ROOT: %v", d)
	}
	if d := diffStates(oldBefore, treeState(t, filepath.Dir(site.vpop))); len(d) > 0 {
		t.Errorf("dry run changed the old tree: %v", d)
	}
	// It says what the real run then does.
	_, realOut := runImport(t, site, root, dir, false)
	if want := "dry run: nothing is changed\n" + realOut; dryOut != want {
		t.Errorf("dry run printed\n%s\nthe real run\n%s", dryOut, realOut)
	}
	// The old tree is only read.
	if d := diffStates(oldBefore, treeState(t, filepath.Dir(site.vpop))); len(d) > 0 {
		t.Errorf("the import changed the old tree: %v", d)
	}
}

func TestImportReplacesDifferentControlFile(t *testing.T) {
	t.Parallel()
	site := buildOldSite(t)
	root, dir := newRoot(t)
	writeTestFile(t, filepath.Join(root, "control", "me"), "new.example\n", testTime)
	_, out := runImport(t, site, root, dir, false)
	if want := "control me, replacing a different one (kept as me.before-import)\n"; !strings.Contains(out, want) {
		t.Errorf("output lacks %q", want)
	}
	for name, want := range map[string]string{"me": "mail.old.example\n", "me.before-import": "new.example\n"} {
		if b, err := os.ReadFile(filepath.Join(root, "control", name)); err != nil || string(b) != want {
			t.Errorf("control/%s = %q, %v; want %q", name, b, err, want)
		}
	}
}

func TestImportAssignCdbOnly(t *testing.T) {
	t.Parallel()
	site := buildOldSite(t)
	os.Remove(filepath.Join(site.qmail, "users", "assign"))
	writeTestFile(t, filepath.Join(site.qmail, "users", "cdb"), "\x00cdb", testTime)
	root, dir := newRoot(t)
	rep, _ := runImport(t, site, root, dir, false)
	if !slices.ContainsFunc(rep.Problems, func(p string) bool {
		return strings.Contains(p, "users/cdb: goqmail cannot read qmail-newu's cdb; put the users/assign it was made from at ")
	}) {
		t.Errorf("no users/cdb problem in %q", rep.Problems)
	}
	// Without users/assign, alias.example is unknown; the domains are
	// still found in the tree.
	if ok, _ := dir.IsDomain("virt.example"); !ok {
		t.Error("virt.example not imported")
	}
	if ok, _ := dir.IsDomain("alias.example"); ok {
		t.Error("alias.example imported without users/assign")
	}
}

func TestImportOnlyVpopmail(t *testing.T) {
	t.Parallel()
	site := buildOldSite(t)
	root, dir := newRoot(t)
	var out bytes.Buffer
	_, err := Run(Options{VpopmailDir: site.vpop, Root: root, Dir: dir, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "control ") {
		t.Errorf("control files imported without a qmail directory:\n%s", out.String())
	}
	if _, err := os.Stat(filepath.Join(root, "control", "me")); err == nil {
		t.Error("control/me written")
	}
	if ok, _ := dir.IsDomain("link.example"); !ok {
		t.Error("link.example (symbolic link) not imported")
	}
}

// TestImportOwner: as root, what the import writes into the new tree
// belongs to the virtual account.
func TestImportOwner(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root: it gives files to the virtual account")
	}
	const nobody = 65534
	site := buildOldSite(t)
	root, dir := newRoot(t)
	var out bytes.Buffer
	if _, err := Run(Options{QmailDir: site.qmail, VpopmailDir: site.vpop, Root: root, Dir: dir, Owner: &Owner{nobody, nobody}, Out: &out}); err != nil {
		t.Fatal(err)
	}
	vm := filepath.Join(root, "vmail", "virt.example")
	for _, p := range []string{
		filepath.Join(vm, "joe", "Maildir", joeMessages[0].path),
		filepath.Join(vm, "joe", "Maildir", ".Sent"),
		filepath.Join(vm, "joe", "Maildir", ".Sent", "cur"),
		filepath.Join(vm, "joe", "Maildir", "maildirsize"),
		filepath.Join(vm, ".qmail-prog"),
	} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != nobody || st.Gid != nobody {
			t.Errorf("%s belongs to %d:%d, want %d:%d", p, st.Uid, st.Gid, nobody, nobody)
		}
	}
}
