package local

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"goqmail/internal/proto"
)

const junkMsg = "Authentication-Results: mx.example.test; dmarc=fail header.from=bank.example\n" +
	proto.JunkHeader + ": DMARC policy of bank.example (p=quarantine)\n" + testMsg

// A message with the junk marker goes to Maildir/.Junk, made as needed
// (tmp, new, cur and the Maildir++ maildirfolder file), on the streaming
// path (the default delivery) and on the copy path (several lines).
func TestJunkGoesToJunkFolder(t *testing.T) {
	for _, qmail := range []string{"", "./Maildir/\n./Other/\n"} {
		e := newEnv(t)
		if qmail != "" {
			os.Mkdir(filepath.Join(e.home, "Other"), 0o700)
			for _, d := range []string{"tmp", "new", "cur"} {
				os.Mkdir(filepath.Join(e.home, "Other", d), 0o700)
			}
			e.write(".qmail", qmail, 0o600)
		}
		res, text := e.deliver(junkMsg)
		expect(t, res, text, proto.ResultSuccess, "/")
		if got := e.maildirFiles("Maildir"); len(got) != 0 {
			t.Errorf(".qmail %q: junk reached the inbox: %q", qmail, got)
		}
		if got := e.maildirFiles("Maildir/.Junk"); len(got) != 1 || got[0] != rpdt+junkMsg {
			t.Errorf(".qmail %q: Maildir/.Junk holds %q", qmail, got)
		}
		if !e.exists("Maildir/.Junk/maildirfolder") {
			t.Errorf(".qmail %q: no maildirfolder in .Junk", qmail)
		}
		if fi, err := os.Stat(filepath.Join(e.home, "Maildir/.Junk")); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf(".qmail %q: .Junk: %v %v", qmail, fi, err)
		}
		if qmail != "" {
			if got := e.maildirFiles("Other/.Junk"); len(got) != 1 {
				t.Errorf("second maildir line: Other/.Junk holds %q", got)
			}
		}
	}
}

// Mail without the marker, or with the marker's name only in the body,
// stays in the inbox; an existing .Junk is used as it is.
func TestNoJunkMarkerStaysInInbox(t *testing.T) {
	for _, msg := range []string{testMsg, "Subject: x\n\n" + proto.JunkHeader + ": not a header\n", "\n" + proto.JunkHeader + ": body\n"} {
		e := newEnv(t)
		res, text := e.deliver(msg)
		expect(t, res, text, proto.ResultSuccess, "did 1+0+0/")
		if got := e.maildirFiles("Maildir"); len(got) != 1 {
			t.Errorf("%q: inbox holds %d messages", msg, len(got))
		}
		if e.exists("Maildir/.Junk") {
			t.Errorf("%q: .Junk was made for a clean message", msg)
		}
	}
}

// mbox lines are unchanged: the message is appended with its marker.
func TestJunkToMboxIsUnchanged(t *testing.T) {
	e := newEnv(t)
	e.req.DefaultDelivery = "./Mailbox\n"
	res, text := e.deliver(junkMsg)
	expect(t, res, text, proto.ResultSuccess, "did 1+0+0/")
	if got := e.read("Mailbox"); !strings.Contains(got, proto.JunkHeader) {
		t.Fatalf("mbox: %q", got)
	}
}

// A marker far down a long header (past the scanned start) does not count:
// smtpd's marker is always at the top.
func TestJunkMarkerOnlyNearTheTop(t *testing.T) {
	e := newEnv(t)
	msg := strings.Repeat("X-Filler: "+strings.Repeat("y", 100)+"\n", junkScanLimit/100) + proto.JunkHeader + ": late\n\nbody\n"
	res, text := e.deliver(msg)
	expect(t, res, text, proto.ResultSuccess, "did 1+0+0/")
	if got := e.maildirFiles("Maildir"); len(got) != 1 || got[0] != rpdt+msg {
		t.Fatalf("inbox: %d messages", len(got))
	}
}

// A Maildir whose junkchoice file says "inbox" gets its junk in the
// inbox, marker kept; anything else in the file means the .Junk folder.
func TestJunkChoiceInbox(t *testing.T) {
	for _, tc := range []struct {
		choice  string
		inInbox bool
	}{{"inbox\n", true}, {"inbox", true}, {"folder\n", false}, {"INBOX-ish\n", false}, {"", false}} {
		e := newEnv(t)
		if tc.choice != "" {
			e.write("Maildir/"+JunkChoiceFile, tc.choice, 0o600)
		}
		res, text := e.deliver(junkMsg)
		expect(t, res, text, proto.ResultSuccess, "did 1+0+0/")
		inbox := e.maildirFiles("Maildir")
		if tc.inInbox != (len(inbox) == 1) {
			t.Errorf("choice %q: inbox holds %d messages", tc.choice, len(inbox))
		}
		if tc.inInbox && len(inbox) == 1 && (inbox[0] != rpdt+junkMsg || e.exists("Maildir/.Junk")) {
			t.Errorf("choice %q: inbox %q, .Junk made: %v", tc.choice, inbox, e.exists("Maildir/.Junk"))
		}
	}
}
