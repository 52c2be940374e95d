package rcptcheck

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"goqmail/internal/vdir"
)

// wildDirectory serves every domain and knows nobody, so the fuzzer's
// domains reach the domain-directory lookup under ROOT/vmail.
type wildDirectory struct{}

func (wildDirectory) IsDomain(string) (bool, error) { return true, nil }
func (wildDirectory) Resolve(local, domain string) (vdir.Result, error) {
	return vdir.Result{Kind: vdir.NoSuch, Domain: strings.ToLower(domain)}, nil
}

// confinedFS checks every name the .qmail search opens: a plain
// ".qmail..." name inside the directory, never a path. (Names that are not
// valid UTF-8 or hold a NUL pass here: os.DirFS or the kernel refuse them,
// which the search reports as a temporary failure; SMTP addresses never
// carry such bytes.)
type confinedFS struct {
	t   *testing.T
	dir string
	fs  fs.FS
}

func (c confinedFS) Open(name string) (fs.File, error) {
	if strings.Contains(name, "/") || !strings.HasPrefix(name, ".qmail") {
		c.t.Fatalf("opened %q in %s", name, c.dir)
	}
	return c.fs.Open(name)
}

// FuzzCheck feeds arbitrary recipients to the checker over a site with
// users, extensions, an alias user and virtual domains. It must not panic,
// must give a known verdict, the same one twice (directly and through a
// session), and may read .qmail files only in the homes of the site's
// accounts and in single-component domain directories under ROOT/vmail.
func FuzzCheck(f *testing.F) {
	for _, seed := range []string{
		"demo@example.test", "demo-foo@example.test", "joe-sub@example.test", "nobody@example.test",
		"postmaster@example.test", "webmaster@example.test", "alice@v.example", "sales@alias.example",
		"x@d.example", "x@r.example", "../../etc/passwd@example.test", "joe-../../x@example.test",
		"joe-a/b@example.test", "a@b@v.example", "x%y@example.test", "sub@vd.example", "x@..",
		"x@.", "x@a/b", "x@", "@", "", "x@../../tmp", "joe-" + strings.Repeat("-", 300) + "@example.test",
		"joe-\x00@example.test", "joe-.@example.test", "joe-..@example.test",
	} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	site := newTestSite(f)
	homes := map[string]bool{}
	for _, name := range []string{"demo", "alias", "joe", "locked", "broken"} {
		homes[filepath.Join(site.root, "home", name)] = true
	}
	vmail := site.checker.VmailRoot
	f.Fuzz(func(t *testing.T, rcpt string, wild bool) {
		c := *site.checker
		if wild {
			c.Rules = c.Rules.WithDirectory(wildDirectory{})
			c.Directory = wildDirectory{}
		}
		c.OpenDir = func(dir string) fs.FS {
			rel, err := filepath.Rel(vmail, dir)
			inVmail := err == nil && rel != "." && !strings.ContainsAny(rel, "/\x00") && rel[0] != '.'
			if !homes[dir] && !inVmail {
				t.Fatalf("Check(%q) reads directory %q", rcpt, dir)
			}
			if err := site.dirErrs[dir]; err != nil {
				return errFS{err}
			}
			return confinedFS{t: t, dir: dir, fs: os.DirFS(dir)}
		}
		first := c.Check(rcpt)
		if first.Verdict < NotLocal || first.Verdict > TempFail {
			t.Fatalf("Check(%q) = verdict %d", rcpt, first.Verdict)
		}
		if again := c.Session().Check(rcpt); again != first {
			t.Fatalf("Check(%q) = %+v, then %+v", rcpt, first, again)
		}
	})
}
