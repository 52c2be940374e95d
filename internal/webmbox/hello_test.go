package webmbox

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"goqmail/internal/logline"
	"goqmail/internal/mailstore"
	"goqmail/internal/vdir"
	"goqmail/internal/webrpc"
)

// A virtual user's limit is the directory's, even when maildirsize was
// written for an older quota; usage is maildirsize's.
func TestHelloVirtualQuotaFromDirectory(t *testing.T) {
	root := t.TempDir()
	d := vdir.OpenFiles(filepath.Join(root, "vdir"), filepath.Join(root, "vmail"), os.Getuid(), os.Getgid())
	if err := d.AddDomain(vdir.Domain{Name: "example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := d.AddUserHash(vdir.User{Local: "bob", Domain: "example.com", Hash: "{PLAIN}x", QuotaBytes: 9000, QuotaMessages: 50}); err != nil {
		t.Fatal(err)
	}
	md := filepath.Join(d.MailboxHome("bob", "example.com"), "Maildir")
	os.WriteFile(filepath.Join(md, "maildirsize"), []byte("1000S\n700 2\n"), 0o600)
	st, err := mailstore.Open(md)
	if err != nil {
		t.Fatal(err)
	}
	s := &Session{Store: st, Login: "bob@example.com", Address: "bob@example.com", Kind: "virtual", Home: filepath.Dir(md), Root: root,
		Log: logline.NewTo(io.Discard, "webmbox")}
	r := selfCall(t, s, OpHello, nil)
	if r.Status != webrpc.OK || strings.Join(r.Rows[0], " ") != "bob@example.com bob@example.com virtual 700 9000" {
		t.Fatalf("hello %v %q %s", r.Status, r.Rows, r.Text)
	}
	if m := settingsMap(t, s); strings.Join(m["quota"], " ") != "700 9000 2 50" {
		t.Errorf("settings quota %q", m["quota"])
	}
}
