package local

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"goqmail/internal/maildir"
	"goqmail/internal/proto"
	"goqmail/internal/vdir"
)

// oneUser is a directory with one mailbox, bob@example.test.
type oneUser struct {
	vdir.Directory
	quota int64
}

func (o oneUser) Resolve(local, domain string) (vdir.Result, error) {
	if local == "bob" {
		return vdir.Result{Kind: vdir.Mailbox, Domain: "example.test", Local: "bob", Quota: o.quota}, nil
	}
	return vdir.Result{Kind: vdir.NoSuch}, nil
}

// A virtual user's own .qmail-bob (forwarding, vacation) that still
// delivers into the Maildir keeps the user's quota: a full mailbox
// defers as it does without the file.
func TestVirtualDotQmailKeepsQuota(t *testing.T) {
	for _, qmail := range []string{"", "./bob/Maildir/\n&carol@example.org\n"} {
		e := newEnv(t)
		vmail := filepath.Join(filepath.Dir(e.home), "vmail")
		os.MkdirAll(filepath.Join(vmail, "example.test", "bob"), 0o755)
		if err := maildir.Make(filepath.Join(vmail, "example.test", "bob", "Maildir"), 0o700); err != nil {
			t.Fatal(err)
		}
		if qmail != "" {
			os.WriteFile(filepath.Join(vmail, "example.test", ".qmail-bob"), []byte(qmail), 0o600)
		}
		e.w.Directory = oneUser{quota: 2000}
		e.w.SubmitSocket = newFakeQueue(t, proto.Result{OK: true, ID: "1"}).path
		e.req.Virtual, e.req.Home, e.req.Local, e.req.Ext, e.req.Domain = true, vmail, "bob", "bob", "example.test"
		e.req.Birth = testNow.Unix()
		big := testMsg + strings.Repeat("x", 3000) + "\n"
		res, text := e.deliver(big)
		if res != proto.ResultDeferral || !strings.Contains(text, "full") {
			t.Errorf(".qmail %q: %c %q, want a full-mailbox deferral", qmail, res, text)
		}
	}
}
