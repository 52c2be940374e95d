package webmbox

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"goqmail/internal/logline"
	"goqmail/internal/maildir"
	"goqmail/internal/mailstore"
	"goqmail/internal/webrpc"
)

// storeSession is a session on a new, real Maildir in a temporary
// directory.
func storeSession(t *testing.T) *Session {
	t.Helper()
	root := filepath.Join(t.TempDir(), "Maildir")
	if err := maildir.Make(root, 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := mailstore.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.WaitIndex)
	return &Session{Store: st, Login: "bob@example.com", Address: "bob@example.com", Kind: "virtual",
		Log: logline.NewTo(io.Discard, "webmbox")}
}

// call sends one request through Handle and checks its status.
func call(t *testing.T, s *Session, want webrpc.Status, op string, args ...string) *webrpc.Response {
	t.Helper()
	resp := s.Handle(&webrpc.Request{Op: op, Args: args})
	if resp.Status != want {
		t.Fatalf("%s %q: %v %q, want %v", op, args, resp.Status, resp.Text, want)
	}
	return resp
}

// deliver puts a message file into a folder's sub ("new" or "cur").
func deliver(t *testing.T, s *Session, folder, sub, name, content string) {
	t.Helper()
	dir, err := s.Store.Dir(folder)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, sub, name), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestOpFolders(t *testing.T) {
	s := storeSession(t)
	deliver(t, s, mailstore.Inbox, "new", "1.a.h", "Subject: x\n\n")
	deliver(t, s, mailstore.Inbox, "cur", "2.a.h:2,S", "Subject: y\n\n")
	call(t, s, webrpc.OK, OpFolderCreate, "Projects")
	call(t, s, webrpc.OK, OpFolderCreate, "Projects.Ünï")
	call(t, s, webrpc.Conflict, OpFolderCreate, "Projects")
	call(t, s, webrpc.Invalid, OpFolderCreate, "../../etc")
	call(t, s, webrpc.Invalid, OpFolderCreate, "")
	call(t, s, webrpc.Invalid, OpFolderCreate, "a/b")
	call(t, s, webrpc.Invalid, OpFolderCreate, "bad\xff")
	resp := call(t, s, webrpc.OK, OpFolders)
	want := [][]string{{"INBOX", "inbox", "2", "1"}, {"Drafts", "drafts", "0", "0"}, {"Junk", "junk", "0", "0"},
		{"Projects", "", "0", "0"}, {"Projects.Ünï", "", "0", "0"}, {"Sent", "sent", "0", "0"}, {"Trash", "trash", "0", "0"}}
	if !reflect.DeepEqual(resp.Rows, want) {
		t.Fatalf("folders:\n got %q\nwant %q", resp.Rows, want)
	}
	call(t, s, webrpc.OK, OpFolderRename, "Projects", "Old projects")
	call(t, s, webrpc.Forbidden, OpFolderRename, "Sent", "X")
	call(t, s, webrpc.Forbidden, OpFolderRename, "INBOX", "X")
	call(t, s, webrpc.NotFound, OpFolderRename, "Projects", "X")
	call(t, s, webrpc.Conflict, OpFolderDelete, "Old projects")
	call(t, s, webrpc.Forbidden, OpFolderDelete, "Trash")
	call(t, s, webrpc.Forbidden, OpFolderDelete, "INBOX")
	call(t, s, webrpc.OK, OpFolderDelete, "Old projects.Ünï")
	call(t, s, webrpc.OK, OpFolderDelete, "Old projects")
	call(t, s, webrpc.NotFound, OpFolderDelete, "Old projects")
	resp = call(t, s, webrpc.OK, OpFolders)
	if len(resp.Rows) != 5 {
		t.Fatalf("after delete: %q", resp.Rows)
	}
}
