package admin

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The demo's web login is a virtual site administrator whose password is
// printed and kept; the demo without the web gets an empty weblisten.
func TestInitWeb(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	if err := os.MkdirAll(filepath.Join(dir, "control"), 0o755); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := initWeb(dir, "127.0.0.1:2443", &out); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, DemoWebPasswordFile))
	if err != nil {
		t.Fatal(err)
	}
	pw := strings.TrimSpace(string(b))
	if len(pw) < 16 || !strings.Contains(out.String(), "log in as demo@virtual.test with password "+pw) {
		t.Errorf("password %q, output %q", pw, out.String())
	}
	if st, _ := os.Stat(filepath.Join(dir, DemoWebPasswordFile)); st.Mode().Perm() != 0o600 {
		t.Errorf("password file mode %v", st.Mode())
	}
	if a, _ := os.ReadFile(filepath.Join(dir, "control", "webadmins")); string(a) != "demo@virtual.test\n" {
		t.Errorf("webadmins %q", a)
	}
	d, err := OpenVirtual(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := d.Authenticate(DemoWebLogin, pw); !ok || err != nil {
		t.Errorf("the printed password does not log in: %v %v", ok, err)
	}
}
