package webmbox

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"goqmail/internal/mailstore"
	"goqmail/internal/webrpc"
)

const original = "From: alice@example.org\nTo: bob@example.com\nSubject: report\nMessage-ID: <orig@example.org>\n" +
	"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"BB\"\n\npreamble\n--BB\nContent-Type: text/plain\n\nhello\n" +
	"--BB\nContent-Type: application/pdf; name=\"r.pdf\"\nContent-Disposition: outPart; filename=\"=?utf-8?q?r=C3=A9sum=C3=A9.pdf?=\"\n" +
	"Content-Transfer-Encoding: base64\n\nAAECA2JpbmFyef8=\n--BB--\n"

func TestDraftThenSendReply(t *testing.T) {
	s, q := selfSession(t)
	orig, err := s.Store.Append(mailstore.Inbox, []byte(original), "S")
	if err != nil {
		t.Fatal(err)
	}
	// A half-written draft is kept as typed, Bcc included.
	r := selfCall(t, s, OpDraft, nil, sendArgs{to: "alice@", bcc: "boss@example.org", subject: "Re: report", body: "draft 1",
		origFolder: mailstore.Inbox, origID: orig, mode: "reply"}.list()...)
	if r.Status != webrpc.OK || len(r.Rows) != 1 {
		t.Fatalf("draft: %v %s", r.Status, r.Text)
	}
	d1 := r.Rows[0][0]
	p, err := s.Store.Path(sendDraftsFolder, d1)
	if err != nil || mailstore.Flags(p) != "DS" {
		t.Fatalf("draft file %q %v", p, err)
	}
	data, _ := os.ReadFile(p)
	if !strings.Contains(string(data), "\nTo: alice@\n") || !strings.Contains(string(data), "\nBcc: boss@example.org\n") {
		t.Errorf("draft:\n%s", data)
	}
	// Saving again replaces it.
	r = selfCall(t, s, OpDraft, nil, sendArgs{to: "alice@example.org", subject: "Re: report", body: "draft 2", draftID: d1}.list()...)
	if r.Status != webrpc.OK {
		t.Fatalf("draft 2: %v %s", r.Status, r.Text)
	}
	d2 := r.Rows[0][0]
	if files := selfFolderFiles(t, s, sendDraftsFolder); len(files) != 1 || mailstore.ID(files[0]) != d2 {
		t.Fatalf("Drafts after replacing: %v", files)
	}
	// Sending the reply removes the draft and marks the original answered.
	r = selfCall(t, s, OpSend, nil, sendArgs{to: "alice@example.org", subject: "Re: report", body: "done",
		inReplyTo: "<orig@example.org>", refs: "<orig@example.org>", draftID: d2,
		origFolder: mailstore.Inbox, origID: orig, mode: "reply"}.list()...)
	if r.Status != webrpc.OK {
		t.Fatalf("send: %v %s", r.Status, r.Text)
	}
	if files := selfFolderFiles(t, s, sendDraftsFolder); len(files) != 0 {
		t.Errorf("draft left: %v", files)
	}
	if p, _ := s.Store.Path(mailstore.Inbox, orig); mailstore.Flags(p) != "RS" {
		t.Errorf("original's flags %q, want RS", mailstore.Flags(p))
	}
	if n := len(q.Submissions()); n != 1 {
		t.Errorf("%d submissions", n)
	}
}

func TestForwardKeepsAttachments(t *testing.T) {
	s, q := selfSession(t)
	orig, _ := s.Store.Append(mailstore.Inbox, []byte(original), "S")
	r := selfCall(t, s, OpSend, nil, sendArgs{to: "carol@example.org", subject: "Fwd: report", body: "fyi",
		origFolder: mailstore.Inbox, origID: orig, mode: "forward", keep: "2"}.list()...)
	if r.Status != webrpc.OK {
		t.Fatalf("%v %s", r.Status, r.Text)
	}
	parts := selfParts(t, q.Take()[0].Content)
	if len(parts) != 2 || parts[1].ctype != "application/pdf" || parts[1].name != "résumé.pdf" ||
		!bytes.Equal(parts[1].data, []byte("\x00\x01\x02\x03binary\xff")) {
		t.Fatalf("parts %+v", parts)
	}
	if p, _ := s.Store.Path(mailstore.Inbox, orig); mailstore.Flags(p) != "S" {
		t.Errorf("a forward changed the original's flags to %q", mailstore.Flags(p))
	}
	for _, bad := range []string{"3", "1.1", "../x"} {
		r := selfCall(t, s, OpSend, nil, sendArgs{to: "carol@example.org", origFolder: mailstore.Inbox, origID: orig, mode: "forward", keep: bad}.list()...)
		if r.Status != webrpc.Invalid || !strings.Contains(r.Text, "no part") {
			t.Errorf("keep %q: %v %q", bad, r.Status, r.Text)
		}
	}
	r = selfCall(t, s, OpSend, nil, sendArgs{to: "carol@example.org", origFolder: mailstore.Inbox, origID: "nope", mode: "forward", keep: "2"}.list()...)
	if r.Status != webrpc.NotFound {
		t.Errorf("missing original: %v %q", r.Status, r.Text)
	}
	if len(q.Submissions()) != 0 {
		t.Error("a failed forward reached the queue")
	}
}
