package vdir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// newFiles makes an empty directory in a temp dir, with a cheap bcrypt
// cost so that tests stay fast.
func newFiles(t *testing.T) (*Files, string) {
	t.Helper()
	root := t.TempDir()
	f := OpenFiles(filepath.Join(root, "vdir"), filepath.Join(root, "vmail"), os.Getuid(), os.Getgid())
	f.cost = 4
	return f, root
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantErr checks err against the sentinel kind (nil = success expected)
// and a fragment of its message.
func wantErr(t *testing.T, what string, err, kind error, fragment string) {
	t.Helper()
	switch {
	case kind == nil && err != nil:
		t.Errorf("%s: unexpected error %v", what, err)
	case kind != nil && err == nil:
		t.Errorf("%s: no error, want %v containing %q", what, kind, fragment)
	case kind != nil && !errors.Is(err, kind):
		t.Errorf("%s: error %q is not %v", what, err, kind)
	case kind != nil && !strings.Contains(err.Error(), fragment):
		t.Errorf("%s: error %q does not contain %q", what, err, fragment)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// standardDomain sets up example.com with users bob and alice, alias
// info -> bob + an outside address, and alias domain example.net.
func standardDomain(t *testing.T, f *Files) {
	t.Helper()
	must(t, f.AddDomain(Domain{Name: "example.com"}))
	must(t, f.AddUser(User{Local: "bob", Domain: "example.com", QuotaBytes: 1000, QuotaMessages: 10}, "bobpw"))
	must(t, f.AddUser(User{Local: "alice", Domain: "example.com"}, "alicepw"))
	must(t, f.SetAlias(Alias{Local: "info", Domain: "example.com", Targets: []string{"bob", "Someone@Elsewhere.ORG"}}))
	must(t, f.AddDomain(Domain{Name: "example.net", AliasOf: "example.com"}))
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
