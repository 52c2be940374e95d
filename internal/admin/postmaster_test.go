package admin

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// postmasterProblems are the problems Check reports about postmaster@.
func postmasterProblems(root string, rootMode bool) []string {
	var out []string
	for _, p := range Check(root, rootMode) {
		if strings.Contains(p.Path, "postmaster@") {
			out = append(out, p.String())
		}
	}
	return out
}

// TestCheckPostmaster: check fails when postmaster@ would be refused, as
// the SMTP server would refuse it (issue 10, item 4), and names the file
// that would fix it.
func TestCheckPostmaster(t *testing.T) {
	root := t.TempDir()
	home := filepath.Join(root, "alias")
	uid := os.Getuid()
	if uid == 0 {
		uid = 65534 // the spawner never delivers as root; any other account does here
	}
	for path, content := range map[string]string{
		"control/me":                   "mail.example.test\n",
		"control/locals":               "mail.example.test\nexample.test\n",
		"users/assign":                 fmt.Sprintf("=alias:alias:%d:%d:%s:::\n.\n", uid, uid, home),
		"alias/.qmail-postmaster":      "./Maildir/\n",
		"control/virtualdomains":       "virt.example.test:v\n",
		"control/rcpthosts":            "mail.example.test\n",
		"users/.placeholder-for-mkdir": "",
	} {
		p := filepath.Join(root, path)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if probs := postmasterProblems(root, false); len(probs) != 0 {
		t.Fatalf("postmaster is deliverable, yet: %v", probs)
	}

	// Without its .qmail file the alias user has no mailbox by that name.
	os.Remove(filepath.Join(home, ".qmail-postmaster"))
	probs := postmasterProblems(root, false)
	if len(probs) != 1 || !strings.Contains(probs[0], "postmaster@mail.example.test, postmaster@example.test: refused at RCPT time with 550 5.1.1") ||
		!strings.Contains(probs[0], filepath.Join(home, ".qmail-postmaster")) {
		t.Errorf("no .qmail-postmaster: %q", probs)
	}
	// .qmail-default does as well (qmail-local's search).
	os.WriteFile(filepath.Join(home, ".qmail-default"), []byte("./Maildir/\n"), 0o644)
	if probs := postmasterProblems(root, false); len(probs) != 0 {
		t.Errorf("with .qmail-default: %v", probs)
	}
	// No alias user at all.
	os.WriteFile(filepath.Join(root, "control", "aliasuser"), []byte("nosuchaliasuser\n"), 0o644)
	if probs := postmasterProblems(root, false); len(probs) != 1 || !strings.Contains(probs[0], `the alias user "nosuchaliasuser" does not exist`) {
		t.Errorf("no alias user: %q", probs)
	}
	// Its home gone.
	os.Remove(filepath.Join(root, "control", "aliasuser"))
	os.RemoveAll(home)
	if probs := postmasterProblems(root, false); len(probs) != 1 || !strings.Contains(probs[0], "550 5.1.1") {
		t.Errorf("no home: %q", probs)
	}
}

// TestInstallMakesPostmaster: a fresh installation has an alias user with
// a .qmail file for postmaster, mailer-daemon, root and abuse; check fails
// when the postmaster file goes and install puts it back.
func TestInstallMakesPostmaster(t *testing.T) {
	root := installRoot(t)
	home := filepath.Join(root, "alias")
	for _, a := range AliasNames {
		b, err := os.ReadFile(filepath.Join(home, ".qmail-"+a))
		if err != nil || string(b) != "./Maildir/\n" {
			t.Errorf(".qmail-%s = %q, %v", a, b, err)
		}
	}
	if st, err := os.Stat(filepath.Join(home, "Maildir", "new")); err != nil || !st.IsDir() {
		t.Errorf("alias Maildir: %v", err)
	}
	if probs := Check(root, true); len(probs) != 0 {
		t.Fatalf("fresh installation has problems: %v", probs)
	}
	os.Remove(filepath.Join(home, ".qmail-postmaster"))
	if probs := postmasterProblems(root, true); len(probs) != 1 || !strings.Contains(probs[0], "550 5.1.1") {
		t.Errorf("check after removing .qmail-postmaster: %q", probs)
	}
	if err := Install(root, fakeBinaries(t), io.Discard); err != nil {
		t.Fatal(err)
	}
	if probs := Check(root, true); len(probs) != 0 {
		t.Errorf("install did not repair: %v", probs)
	}
}

// TestInstallAliasUserOfAnotherRoot: control/aliasuser names an account
// whose home is not there (made for another installation): this root's
// users/assign gives it ROOT/alias, and an existing users/assign keeps
// its lines.
func TestInstallAliasUserOfAnotherRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: install creates system accounts (CI runs as root)")
	}
	const name = "goqmailtal" // an alias account of this test's own
	first := filepath.Join(reachableTemp(t), "first")
	second := filepath.Join(reachableTemp(t), "second")
	for _, r := range []string{first, second} {
		os.MkdirAll(filepath.Join(r, "control"), 0o755)
		os.MkdirAll(filepath.Join(r, "users"), 0o755)
		os.WriteFile(filepath.Join(r, "control", "aliasuser"), []byte(name+"\n"), 0o644)
	}
	if err := Install(first, fakeBinaries(t), io.Discard); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(first) // the account's passwd home is gone now
	os.WriteFile(filepath.Join(second, "users", "assign"), []byte("=joe:joe:1001:1001:/home/joe:::\n.\n"), 0o644)
	if err := Install(second, fakeBinaries(t), io.Discard); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(second, "users", "assign"))
	uid, gid := lookupIDs(t, name)
	if want := fmt.Sprintf("=joe:joe:1001:1001:/home/joe:::\n=%s:%s:%d:%d:%s:::\n.\n", name, name, uid, gid, filepath.Join(second, "alias")); string(b) != want {
		t.Errorf("users/assign = %q, want %q", b, want)
	}
	if probs := postmasterProblems(second, true); len(probs) != 0 {
		t.Errorf("postmaster: %v", probs)
	}
}

func lookupIDs(t *testing.T, name string) (int, int) {
	t.Helper()
	b, err := os.ReadFile("/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ":")
		if len(f) == 7 && f[0] == name {
			var uid, gid int
			fmt.Sscan(f[2], &uid)
			fmt.Sscan(f[3], &gid)
			return uid, gid
		}
	}
	t.Fatalf("no account %s", name)
	return 0, 0
}
