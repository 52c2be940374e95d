package webmbox

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"goqmail/internal/mailstore"
	"goqmail/internal/webrpc"
)

func TestOpFlagsMoveDelete(t *testing.T) {
	s := storeSession(t)
	deliver(t, s, mailstore.Inbox, "new", "1.x.h", "Subject: one\n\n")
	deliver(t, s, mailstore.Inbox, "cur", "2.x.h:2,S", "Subject: two\n\n")
	call(t, s, webrpc.OK, OpFlags, "INBOX", "1.x.h", "+SF")
	call(t, s, webrpc.OK, OpFlags, "INBOX", "1.x.h", "+RT")
	call(t, s, webrpc.OK, OpFlags, "INBOX", "1.x.h", "-T")
	if _, err := os.Stat(filepath.Join(s.Store.Root, "cur", "1.x.h:2,FRS")); err != nil {
		t.Fatalf("flags on disk: %v", err)
	}
	for _, change := range []string{"", "+", "S", "+D", "+s", "+S-F", "*S"} {
		call(t, s, webrpc.Invalid, OpFlags, "INBOX", "1.x.h", change)
	}
	call(t, s, webrpc.NotFound, OpFlags, "INBOX", "nope", "+S")
	call(t, s, webrpc.Invalid, OpFlags, "INBOX", "../../x", "+S")

	call(t, s, webrpc.OK, OpFolderCreate, "Keep")
	resp := call(t, s, webrpc.OK, OpMove, "INBOX", "1.x.h", "Keep")
	if !reflect.DeepEqual(resp.Rows, [][]string{{"1.x.h"}}) {
		t.Fatalf("move rows %q", resp.Rows)
	}
	resp = call(t, s, webrpc.OK, OpList, "Keep")
	if resp.Text != "1" || resp.Rows[0][1] != "FRS" || resp.Rows[0][4] != "one" {
		t.Fatalf("Keep: %q", resp.Rows)
	}
	call(t, s, webrpc.NotFound, OpMove, "INBOX", "1.x.h", "Keep")
	call(t, s, webrpc.NotFound, OpMove, "INBOX", "2.x.h", "Nowhere")
	call(t, s, webrpc.Invalid, OpMove, "INBOX", "2.x.h", "../..")

	call(t, s, webrpc.OK, OpDelete, "INBOX", "2.x.h")
	resp = call(t, s, webrpc.OK, OpList, "Trash")
	if resp.Text != "1" || resp.Rows[0][0] != "2.x.h" {
		t.Fatalf("Trash: %q", resp.Rows)
	}
	call(t, s, webrpc.OK, OpDelete, "Trash", "2.x.h")
	call(t, s, webrpc.NotFound, OpDelete, "Trash", "2.x.h")
	if resp := call(t, s, webrpc.OK, OpList, "Trash"); resp.Text != "0" {
		t.Fatalf("Trash after delete: %q", resp.Text)
	}
}
