package webmbox

import (
	"strings"
	"testing"

	"goqmail/internal/mailstore"
)

func composeRows(t *testing.T, s *Session, args ...string) map[string][][]string {
	t.Helper()
	return rowsByTag(mcall(t, s, OpCompose, args...))
}

func TestComposeNew(t *testing.T) {
	s := newMimeSession(t)
	m := composeRows(t, s, "new")
	if one(t, m, "from") != "bob@example.com" || one(t, m, "to") != "" || one(t, m, "body") != "" {
		t.Errorf("new: %v", m)
	}
	var choices []string
	for _, r := range m["fromchoice"] {
		choices = append(choices, r[0])
	}
	if strings.Join(choices, ",") != "bob@example.com,Robert@Example.com,postmaster@example.com" {
		t.Errorf("fromchoice %v", choices)
	}
}

func TestComposeReply(t *testing.T) {
	s := newMimeSession(t)
	id := appendMsg(t, s, mailstore.Inbox, mixedMsg, "")
	m := composeRows(t, s, "reply", mailstore.Inbox, id)
	if got := one(t, m, "to"); got != `"René" <rene@example.org>` {
		t.Errorf("to %q", got)
	}
	if one(t, m, "cc") != "" || one(t, m, "subject") != "Re: café plans" {
		t.Errorf("cc %q subject %q", one(t, m, "cc"), one(t, m, "subject"))
	}
	if one(t, m, "inreplyto") != "<m1@example.org>" || one(t, m, "references") != "<r0@example.org> <m1@example.org>" {
		t.Errorf("inreplyto %q references %q", one(t, m, "inreplyto"), one(t, m, "references"))
	}
	want := "\n\nOn Mon, 7 Dec 2026 06:00 +0000, René <rene@example.org> wrote:\n> Hello Bob\n"
	if one(t, m, "body") != want {
		t.Errorf("body %q, want %q", one(t, m, "body"), want)
	}
	if m["att"] != nil {
		t.Errorf("reply carries attachments: %v", m["att"])
	}

	// Reply-To wins; "Re:" is not doubled; a lone In-Reply-To seeds
	// References; quoted empty lines carry no trailing space.
	id = appendMsg(t, s, mailstore.Inbox, "From: a@example.org\r\nReply-To: list@example.org\r\nTo: bob@example.com\r\n"+
		"Subject: RE: x\r\nMessage-ID: <m2@x>\r\nIn-Reply-To: <m1@x>\r\n\r\nline one\r\n\r\n> older\r\n", "")
	m = composeRows(t, s, "reply", mailstore.Inbox, id)
	if one(t, m, "to") != "list@example.org" || one(t, m, "subject") != "RE: x" || one(t, m, "references") != "<m1@x> <m2@x>" {
		t.Errorf("reply-to: %v", m)
	}
	if body := one(t, m, "body"); !strings.HasSuffix(body, " wrote:\n> line one\n>\n> > older\n") {
		t.Errorf("quote %q", body)
	}
}

func TestComposeReplyAll(t *testing.T) {
	s := newMimeSession(t)
	id := appendMsg(t, s, mailstore.Inbox, mixedMsg, "")
	m := composeRows(t, s, "replyall", mailstore.Inbox, id)
	// To and Cc less bob@example.com and Robert@example.com (the
	// user's, whatever their case); the reply goes out from the address
	// it was sent to.
	if one(t, m, "to") != `"René" <rene@example.org>` || one(t, m, "cc") != "carol@example.org, dave@example.org" {
		t.Errorf("to %q cc %q", one(t, m, "to"), one(t, m, "cc"))
	}
	if one(t, m, "from") != "bob@example.com" {
		t.Errorf("from %q", one(t, m, "from"))
	}
	// Sent to another of the user's addresses: answered from it. The
	// sender, also in Cc, is not repeated.
	id = appendMsg(t, s, mailstore.Inbox, "From: x@example.org\r\nTo: postmaster@example.com\r\nCc: x@example.org, y@example.org\r\nSubject: s\r\n\r\nb\r\n", "")
	m = composeRows(t, s, "replyall", mailstore.Inbox, id)
	if one(t, m, "from") != "postmaster@example.com" || one(t, m, "to") != "x@example.org" || one(t, m, "cc") != "y@example.org" {
		t.Errorf("from %q to %q cc %q", one(t, m, "from"), one(t, m, "to"), one(t, m, "cc"))
	}
	// Replying to one's own sent message goes to its recipients.
	id = appendMsg(t, s, mailstore.Inbox, "From: bob@example.com\r\nTo: z@example.org\r\nSubject: s\r\n\r\nb\r\n", "S")
	if m = composeRows(t, s, "reply", mailstore.Inbox, id); one(t, m, "to") != "z@example.org" {
		t.Errorf("reply to own: to %q", one(t, m, "to"))
	}
}

func TestComposeForward(t *testing.T) {
	s := newMimeSession(t)
	id := appendMsg(t, s, mailstore.Inbox, mixedMsg, "")
	m := composeRows(t, s, "forward", mailstore.Inbox, id)
	if one(t, m, "subject") != "Fwd: café plans" || one(t, m, "to") != "" || one(t, m, "inreplyto") != "" {
		t.Errorf("forward: %v", m)
	}
	body := one(t, m, "body")
	for _, want := range []string{"---------- Forwarded message ----------\n", "From: René <rene@example.org>\n",
		"Subject: café plans\n", "To: bob@example.com, carol@example.org\n", "\nHello Bob\n"} {
		if !strings.Contains(body, want) {
			t.Errorf("forward body lacks %q: %q", want, body)
		}
	}
	if len(m["att"]) != 2 || strings.Join(m["att"][1], "|") != "2|application/pdf|résumé.pdf|9" || m["att"][0][0] != "1.2" {
		t.Errorf("att rows %v", m["att"])
	}
	id = appendMsg(t, s, mailstore.Inbox, "Subject: FW: old\r\n\r\nx", "")
	if m = composeRows(t, s, "forward", mailstore.Inbox, id); one(t, m, "subject") != "FW: old" {
		t.Errorf("subject %q", one(t, m, "subject"))
	}
}

func TestComposeDraft(t *testing.T) {
	s := newMimeSession(t)
	draft := "From: postmaster@example.com\r\nTo: a@example.org, \"B, b\" <b@example.org>\r\nCc: c@example.org\r\nBcc: d@example.org\r\n" +
		"Subject: =?utf-8?Q?half_done_=E2=9C=93?=\r\nIn-Reply-To: <p@x>\r\nReferences: <o@x> <p@x>\r\n" +
		"Content-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nDear A,\r\nmore later\r\n" +
		"--z\r\nContent-Type: text/csv\r\nContent-Disposition: attachment; filename=data.csv\r\n\r\na,b\r\n--z--\r\n"
	id := appendMsg(t, s, "Drafts", draft, "DS")
	m := composeRows(t, s, "draft", "Drafts", id)
	for tag, want := range map[string]string{
		"from": "postmaster@example.com", "to": `a@example.org, "B, b" <b@example.org>`, "cc": "c@example.org",
		"bcc": "d@example.org", "subject": "half done ✓", "body": "Dear A,\nmore later", // the CRLF before a delimiter is the delimiter's (RFC 2046 5.1.1)
		"inreplyto": "<p@x>", "references": "<o@x> <p@x>",
	} {
		if got := one(t, m, tag); got != want {
			t.Errorf("draft %s = %q, want %q", tag, got, want)
		}
	}
	if len(m["att"]) != 1 || strings.Join(m["att"][0], "|") != "2|text/csv|data.csv|3" {
		t.Errorf("att %v", m["att"])
	}
	// A draft claiming a From that is not the user's opens with the
	// user's own address.
	id = appendMsg(t, s, "Drafts", "From: ceo@bank.example\r\nSubject: x\r\n\r\nx", "DS")
	if m = composeRows(t, s, "draft", "Drafts", id); one(t, m, "from") != "bob@example.com" {
		t.Errorf("from %q", one(t, m, "from"))
	}
}

// An encoded word cannot add a recipient: "Bob\r\nBcc: victim" in a
// display name stays a name.
func TestComposeReplyEncodedWordsAddNoRecipient(t *testing.T) {
	s := newMimeSession(t)
	id := appendMsg(t, s, mailstore.Inbox, "From: =?utf-8?Q?Bob=0D=0ABcc:_victim@example.com,?= <bob@evil.example>\r\n"+
		"To: =?utf-8?Q?x:_other@example.com,?= <bob@example.com>\r\nSubject: s\r\n\r\nb\r\n", "")
	m := composeRows(t, s, "replyall", mailstore.Inbox, id)
	if to, cc := one(t, m, "to"), one(t, m, "cc"); strings.Contains(to+cc, "victim") || strings.Contains(to+cc, "other@") ||
		to != "bob@evil.example" || cc != "" {
		t.Errorf("to %q cc %q", to, cc)
	}
}
