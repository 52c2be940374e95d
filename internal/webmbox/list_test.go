package webmbox

import (
	"fmt"
	"reflect"
	"testing"

	"goqmail/internal/mailstore"
	"goqmail/internal/webrpc"
)

func TestOpList(t *testing.T) {
	s := storeSession(t)
	for i := 1; i <= 7; i++ {
		sub, name := "cur", fmt.Sprintf("%d.x.h:2,S", i)
		if i == 7 {
			sub, name = "new", "7.x.h"
		}
		deliver(t, s, mailstore.Inbox, sub, name, fmt.Sprintf("From: user%d@example.org\nSubject: =?UTF-8?B?w6l0w6k=?= %d\nDate: Mon, 1 Jun 2026 10:0%d:00 +0000\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nbody%d\n--b--\n", i, i, i, i))
	}
	resp := call(t, s, webrpc.OK, OpList, "INBOX", "date", "desc", "1", "2", "")
	want := [][]string{
		{"6.x.h", "S", "1780308360", "user6@example.org", "été 6", "178", "1"},
		{"5.x.h", "S", "1780308300", "user5@example.org", "été 5", "178", "1"},
	}
	if resp.Text != "7" || !reflect.DeepEqual(resp.Rows, want) {
		t.Fatalf("list: %q %q", resp.Text, resp.Rows)
	}
	// Defaults: date, newest first, 50 a page; new/ is unread (no flags).
	resp = call(t, s, webrpc.OK, OpList, "INBOX")
	if resp.Text != "7" || len(resp.Rows) != 7 || resp.Rows[0][0] != "7.x.h" || resp.Rows[0][1] != "" {
		t.Fatalf("defaults: %q %q", resp.Text, resp.Rows)
	}
	resp = call(t, s, webrpc.OK, OpList, "INBOX", "from", "asc", "0", "3", "")
	if got := []string{resp.Rows[0][0], resp.Rows[1][0], resp.Rows[2][0]}; !reflect.DeepEqual(got, []string{"1.x.h", "2.x.h", "3.x.h"}) {
		t.Fatalf("from asc: %q", got)
	}
	// Search: headers (decoded) and body.
	resp = call(t, s, webrpc.OK, OpList, "INBOX", "", "", "", "", "ÉTÉ body3")
	if resp.Text != "1" || resp.Rows[0][0] != "3.x.h" {
		t.Fatalf("search: %q %q", resp.Text, resp.Rows)
	}
	resp = call(t, s, webrpc.OK, OpList, "INBOX", "", "", "100", "", "")
	if resp.Text != "7" || len(resp.Rows) != 0 {
		t.Fatalf("past the end: %q %q", resp.Text, resp.Rows)
	}
	for _, args := range [][]string{
		{"INBOX", "color"}, {"INBOX", "", "up"}, {"INBOX", "", "", "-1"}, {"INBOX", "", "", "x"},
		{"INBOX", "", "", "", "501"}, {"INBOX", "", "", "", "-5"}, {"", ""}, {"../x"},
		{"INBOX", "", "", "", "", "a b c d e f g h i j k l m n o p q r s t u"},
	} {
		call(t, s, webrpc.Invalid, OpList, args...)
	}
	call(t, s, webrpc.NotFound, OpList, "Nope")
	// The list moved nothing out of new/.
	if p, err := s.Store.Path("INBOX", "7.x.h"); err != nil || mailstore.Flags(p) != "" {
		t.Fatalf("7 after listing: %q %v", p, err)
	}
}
