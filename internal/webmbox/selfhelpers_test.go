package webmbox

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"goqmail/internal/logline"
	"goqmail/internal/maildir"
	"goqmail/internal/mailstore"
	"goqmail/internal/proto"
	"goqmail/internal/submit/submittest"
	"goqmail/internal/webrpc"
)

// selfSession is a session on a fresh Maildir with a fake queue at
// ROOT/run/submit.sock.
func selfSession(t *testing.T) (*Session, *submittest.Queue) {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"run", "control", "home"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	md := filepath.Join(root, "home", "Maildir")
	if err := maildir.Make(md, 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := mailstore.Open(md)
	if err != nil {
		t.Fatal(err)
	}
	q := submittest.Start(t, filepath.Join(root, "run", "submit.sock"), proto.Result{OK: true, ID: "12345"})
	s := &Session{
		Store: st, Login: "bob", Address: "bob@example.com", Owns: []string{"info@example.com"},
		Kind: "system", Home: filepath.Join(root, "home"), Root: root,
		Log: logline.NewTo(io.Discard, "webmbox"),
	}
	return s, q
}

func selfCall(t *testing.T, s *Session, op string, files []webrpc.File, args ...string) *webrpc.Response {
	t.Helper()
	return s.Handle(&webrpc.Request{Op: op, Args: args, Files: files})
}

// selfFolderFiles lists the message files of a folder (new/ and cur/).
func selfFolderFiles(t *testing.T, s *Session, folder string) []string {
	t.Helper()
	dir := s.Store.Root
	if folder != mailstore.Inbox {
		dir = filepath.Join(dir, "."+folder)
	}
	var out []string
	for _, sub := range []string{"new", "cur"} {
		m, _ := filepath.Glob(filepath.Join(dir, sub, "*"))
		out = append(out, m...)
	}
	return out
}
