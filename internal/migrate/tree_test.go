package migrate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Password hashes of the test users, made with openssl passwd and
// Python's crypt (DES) for the passwords named in the user table below.
const (
	md5Hash    = "$1$saltsalt$XuswuQOKx9U.CAJJONxO61"                                                                     // md5-secret
	sha512Hash = "$6$saltsaltsalt$WENBc9dYIPeBmMOJXLbQ4qgpbQPQHqy0pZENRa3YZPpNLzRGmXJvoQGnlYOkBwPpVdKQmpZHEczN9gszZyJ0N." // sha512-secret
	sha256Hash = "$5$abcdefgh$Wi2S/.fNTuxDlm5xe9asGvh93588t8tNYTS9UH2tAmD"                                                // sha256-secret
	desHash    = "abltkxdOx9si."                                                                                          // des-pass
)

// oldSite is a small qmail + vpopmail installation built by a test.
type oldSite struct {
	qmail, vpop string
}

// message is one Maildir file of the old tree.
type message struct {
	path  string // below the user's Maildir
	mtime time.Time
}

var (
	joeMessages = []message{
		{"new/1700000000.1.old,S=31", time.Date(2023, 11, 14, 22, 13, 20, 0, time.UTC)},
		{"cur/1690000000.2.old,S=31:2,S", time.Date(2023, 7, 22, 4, 26, 40, 0, time.UTC)},
		{"cur/1690000001.3.old,S=31:2,RS", time.Date(2023, 7, 22, 4, 26, 41, 0, time.UTC)},
		{".Sent/cur/1680000000.4.old,S=31:2,S", time.Date(2023, 3, 28, 10, 40, 0, 0, time.UTC)},
	}
	joeMaildirsize = "52428800S\n124 4\n"
)

// buildOldSite writes the tree:
//
//	virt.example   users joe ($6$ + clear), ann ($1$, hashed home 0/ann),
//	               bob (DES + clear, own .qmail forward), old (DES, no
//	               clear, NO_POP), postmaster ($1$, the catch-all mailbox);
//	               .qmail-sales (forwards), .qmail-archive (forward + ann's
//	               Maildir), .qmail-prog (program), .qmail-list (program
//	               naming the old tree), .qmail-joe (overrides joe)
//	other.example  in a hash bucket (domains/9/), carl ($5$), catch-all delete
//	third.example  dan ($6$, NOQUOTA), default quota 10 MB, catch-all forward
//	alias.example  alias of virt.example (users/assign)
//	link.example   alias of virt.example (symbolic link)
//	sql.example    no vpasswd
func buildOldSite(t *testing.T) oldSite {
	t.Helper()
	base := t.TempDir()
	s := oldSite{qmail: filepath.Join(base, "qmail"), vpop: filepath.Join(base, "vpopmail")}
	vp := s.vpop
	d := func(p ...string) string { return filepath.Join(append([]string{vp, "domains"}, p...)...) }
	files := map[string]string{
		s.qmail + "/control/me":                   "mail.old.example\n",
		s.qmail + "/control/rcpthosts":            "virt.example\nother.example\n",
		s.qmail + "/control/morercpthosts":        "third.example\nalias.example\nvirt.example\n",
		s.qmail + "/control/morercpthosts.cdb":    "\x00\x01cdb",
		s.qmail + "/control/virtualdomains":       "virt.example:virt.example\nother.example:other.example\nlegacy.example:legacyuser\n",
		s.qmail + "/control/databytes":            "10000000\n",
		s.qmail + "/control/smtpplugins":          "[rcpt]\nplugins/chkuser\n",
		s.qmail + "/users/assign":                 "=sysuser:sysuser:1001:1001:/home/sysuser:::\n" + "+virt.example-:virt.example:89:89:" + d("virt.example") + ":-::\n" + "+other.example-:other.example:89:89:" + d("9", "other.example") + ":-::\n" + "+alias.example-:virt.example:89:89:" + d("virt.example") + ":-::\n" + ".\n",
		d("virt.example", "vpasswd"):              "joe:" + sha512Hash + ":1:0:Joe User:" + d("virt.example", "joe") + ":52428800S:sha512-secret\n" + "ann:" + md5Hash + ":1:0:Ann:" + d("virt.example", "0", "ann") + ":1048576S,1000C\n" + "bob:" + desHash + ":1:0:Bob:" + d("virt.example", "bob") + ":NOQUOTA:des-pass\n" + "old:" + desHash + ":1:2:Old:" + d("virt.example", "old") + ":NOQUOTA\n" + "postmaster:" + md5Hash + ":1:0:Postmaster:" + d("virt.example", "postmaster") + ":NOQUOTA\n",
		d("virt.example", ".qmail-default"):       "| " + vp + "/bin/vdelivermail '' " + d("virt.example", "postmaster") + "\n",
		d("virt.example", ".qmail-sales"):         "&joe@virt.example\n&ann@virt.example\n",
		d("virt.example", ".qmail-archive"):       "&x@remote.example\n" + d("virt.example", "0", "ann", "Maildir") + "/\n",
		d("virt.example", ".qmail-weird"):         "&a b@x.example\n",
		d("virt.example", ".qmail-prog"):          "|/usr/bin/procmail -m /etc/procmailrc\n",
		d("virt.example", ".qmail-list"):          "|/usr/bin/ezmlm-send '" + d("virt.example", "list") + "'\n",
		d("virt.example", ".qmail-joe"):           "&joe@elsewhere.example\n" + d("virt.example", "joe", "Maildir") + "/\n",
		d("virt.example", "bob", ".qmail"):        "&bob@forward.example\n",
		d("9", "other.example", "vpasswd"):        "carl:" + sha256Hash + ":1:0:Carl:" + d("9", "other.example", "carl") + ":NOQUOTA\n",
		d("9", "other.example", ".qmail-default"): "|" + vp + "/bin/vdelivermail '' delete\n",
		d("third.example", "vpasswd"):             "dan:" + sha512Hash + ":1:0:Dan::NOQUOTA\n",
		d("third.example", ".qmail-default"):      "| " + vp + "/bin/vdelivermail '' catchall@virt.example\n",
		d("third.example", ".qmailadmin-limits"):  "default_quota: 10485760\nmaxpopaccounts: 10\n",
	}
	for p, c := range files {
		writeTestFile(t, p, c, time.Time{})
	}
	for _, u := range []string{"joe", "0/ann", "bob", "old", "postmaster"} {
		mustMkdir(t, d("virt.example", u, "Maildir", "new"), d("virt.example", u, "Maildir", "cur"), d("virt.example", u, "Maildir", "tmp"))
	}
	mustMkdir(t, d("9", "other.example", "carl", "Maildir", "new"), d("sql.example"))
	joe := d("virt.example", "joe", "Maildir")
	for _, m := range joeMessages {
		writeTestFile(t, filepath.Join(joe, m.path), "Subject: "+filepath.Base(m.path)+"\n\nhello\n", m.mtime)
	}
	writeTestFile(t, filepath.Join(joe, ".Sent", "maildirfolder"), "", time.Time{})
	mustMkdir(t, filepath.Join(joe, ".Sent", "new"), filepath.Join(joe, ".Sent", "tmp"))
	writeTestFile(t, filepath.Join(joe, "tmp", "1700000001.9.old"), "half a deliv", time.Time{})
	writeTestFile(t, filepath.Join(joe, "maildirsize"), joeMaildirsize, time.Time{})
	if err := os.Chmod(filepath.Join(joe, joeMessages[1].path), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(d("virt.example"), d("link.example")); err != nil {
		t.Fatal(err)
	}
	return s
}

func writeTestFile(t *testing.T, path, content string, mtime time.Time) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if !mtime.IsZero() {
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
}

func mustMkdir(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// treeState maps every file below root (but vdir's lock) to its content
// and mode, directories to their mode: what "nothing changed" compares.
func treeState(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if filepath.Base(p) == ".lock" {
			return nil
		}
		if fi.IsDir() {
			out[rel] = "dir " + fi.Mode().String()
			return nil
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			out[rel] = "link " + target
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[rel] = fi.Mode().String() + " " + fi.ModTime().String() + " " + string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func diffStates(a, b map[string]string) []string {
	var out []string
	for k, v := range a {
		if w, ok := b[k]; !ok {
			out = append(out, "removed "+k)
		} else if v != w {
			out = append(out, "changed "+k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, "added "+k)
		}
	}
	return out
}

func lines(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }

var testTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
