package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

const deliverTimeout = 10 * time.Second

// acceptedAfterData is smtpd's reply once the message is durably queued.
var acceptedAfterData = regexp.MustCompile(`(?m)^<-  250 2\.0\.0 ok \d+ qp [0-9a-f]{16}\r?$`)

// TestSwaksDeliversToMaildir: the basic path SMTP -> queue -> Maildir, read
// back with mblaze, with qmail's trace lines first and a private file
// owned by the mailbox owner.
func TestSwaksDeliversToMaildir(t *testing.T) {
	t.Parallel()
	requireTool(t, "swaks", "mlist", "mshow", "mhdr")
	s := NewServer(t, Options{})
	body := "e2e body line one\nsecond line"
	r := swaks(t, s, "--to", "demo@example.test", "--header", "Subject: e2e", "--body", body)
	if r.Code != 0 || !acceptedAfterData.MatchString(r.Out) {
		t.Fatalf("swaks exited %d, want 0 and a 250 after DATA:\n%s", r.Code, r.Out)
	}
	files := s.WaitMaildir(1, deliverTimeout)

	list := mblaze(t, nil, "mlist", s.Maildir())
	if strings.TrimSpace(list) != files[0] {
		t.Errorf("mlist %s = %q, want %q", s.Maildir(), list, files[0])
	}
	if got := strings.TrimSpace(mblaze(t, []byte(list), "mhdr", "-h", "subject")); got != "e2e" {
		t.Errorf("mhdr -h subject = %q, want e2e", got)
	}
	if got := strings.TrimSpace(mblaze(t, []byte(list), "mhdr", "-h", "delivered-to")); got != "demo@example.test" {
		t.Errorf("mhdr -h delivered-to = %q, want demo@example.test", got)
	}
	shown := mblaze(t, []byte(list), "mshow")
	for _, want := range []string{"Subject: e2e", "From: a@example.org", "e2e body line one\nsecond line"} {
		if !strings.Contains(shown, want) {
			t.Errorf("mshow output lacks %q:\n%s", want, shown)
		}
	}
	raw := mblaze(t, []byte(list), "mshow", "-H")
	lines := strings.Split(raw, "\n")
	if len(lines) < 4 || lines[0] != "Return-Path: <a@example.org>" || lines[1] != "Delivered-To: demo@example.test" ||
		!strings.HasPrefix(lines[2], "Received: from unknown (HELO client.example.org) (127.0.0.1)") ||
		!strings.HasPrefix(lines[3], "  by mail.example.test with ESMTP; ") {
		t.Errorf("delivered headers do not start with Return-Path, Delivered-To, Received:\n%s", raw)
	}

	st, err := os.Stat(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("delivered file mode %#o, want 0600", st.Mode().Perm())
	}
	if asRoot {
		uid, _ := lookupIDs(t, "goqmaildemo")
		if got := int(st.Sys().(*syscall.Stat_t).Uid); got != uid {
			t.Errorf("delivered file owned by uid %d, want goqmaildemo (%d)", got, uid)
		}
	}
	if tmp := listFiles(t, filepath.Join(s.Maildir(), "tmp")); len(tmp) != 0 {
		t.Errorf("Maildir tmp/ not empty after delivery: %v", tmp)
	}
	// send logs "end msg" and tells the queue, which removes the files.
	s.WaitLog(`send: end msg [0-9a-f]{16}$`, 1, deliverTimeout)
	waitFor(t, deliverTimeout, "the queue to drop the delivered message", func() bool { return len(s.QueueMessages()) == 0 })
}

// msmtpMessage has what a careless transport breaks: lines starting with a
// dot (one of them a lone dot), 8-bit UTF-8, a line of the longest length
// SMTP allows (998 octets), trailing blanks and an empty line at the end.
func msmtpMessage() []byte {
	var b bytes.Buffer
	b.WriteString("From: Zoë <a@example.org>\n")
	b.WriteString("To: demo@example.test\n")
	b.WriteString("Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\n")
	b.WriteString("Date: Thu, 26 Nov 2026 12:00:00 +0000\n")
	b.WriteString("Message-ID: <e2e-msmtp@example.org>\n")
	b.WriteString("MIME-Version: 1.0\n")
	b.WriteString("Content-Type: text/plain; charset=utf-8\n")
	b.WriteString("Content-Transfer-Encoding: 8bit\n")
	b.WriteString("\n")
	b.WriteString(".\n")
	b.WriteString("..\n")
	b.WriteString(".leading dot\n")
	b.WriteString("...three\n")
	b.WriteString("Grüße aus Köln, 東京, Ελλάδα — “quotes” 🙂\n")
	b.WriteString(strings.Repeat("0123456789", 99) + "abcdefgh\n") // 998 octets
	b.WriteString("trailing blanks   \t\n")
	b.WriteString("From the start of a line\n")
	b.WriteString("\n")
	return b.Bytes()
}

// TestMsmtpBodyIsByteExact: the delivered copy is the original after the
// prepended trace lines, byte for byte.
func TestMsmtpBodyIsByteExact(t *testing.T) {
	t.Parallel()
	requireTool(t, "msmtp")
	s := NewServer(t, Options{})
	msg := msmtpMessage()
	r := msmtp(t, s, "a@example.org", "demo@example.test", msg)
	if r.Code != 0 {
		t.Fatalf("msmtp exited %d:\n%s", r.Code, r.Out)
	}
	files := s.WaitMaildir(1, deliverTimeout)
	got, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	prefix := regexp.MustCompile(`^Return-Path: <a@example\.org>\nDelivered-To: demo@example\.test\n` +
		`Received: from unknown \(HELO client\.example\.org\) \(127\.0\.0\.1\)\n  by mail\.example\.test with ESMTP; [^\n]+\n`)
	loc := prefix.FindIndex(got)
	if loc == nil {
		t.Fatalf("delivered message does not start with Return-Path, Delivered-To, Received:\n%s", got)
	}
	if rest := got[loc[1]:]; !bytes.Equal(rest, msg) {
		t.Errorf("delivered message differs from the original after the trace lines\n--- got ---\n%q\n--- want ---\n%q", rest, msg)
	}
}

// TestRelayRefused: a domain not in rcpthosts is refused at RCPT, and
// nothing is queued or delivered.
func TestRelayRefused(t *testing.T) {
	t.Parallel()
	requireTool(t, "swaks")
	s := NewServer(t, Options{})
	r := swaks(t, s, "--to", "someone@elsewhere.example", "--header", "Subject: relay")
	if r.Code == 0 {
		t.Errorf("swaks exited 0 for a relay attempt:\n%s", r.Out)
	}
	if !regexp.MustCompile(`(?m)^<\*\* 553 5\.7\.1 `).MatchString(r.Out) {
		t.Errorf("RCPT TO:<someone@elsewhere.example> not answered 553 5.7.1:\n%s", r.Out)
	}
	if acceptedAfterData.MatchString(r.Out) {
		t.Errorf("relay message accepted:\n%s", r.Out)
	}
	// smtpd logs each session when it ends; by then a message, had one
	// been taken, would have been committed too.
	s.WaitLog(`smtpd: session 127\.0\.0\.1:\d+: helo client\.example\.org: 0 accepted`, 1, deliverTimeout)
	if q := s.QueueMessages(); len(q) != 0 {
		t.Errorf("relay attempt left messages in the queue: %v", q)
	}
	if tmp := listFiles(t, filepath.Join(s.Root, "queue", "tmp")); len(tmp) != 0 {
		t.Errorf("relay attempt left files in queue/tmp: %v", tmp)
	}
	if n := s.MaildirNew(); len(n) != 0 {
		t.Errorf("relay attempt delivered something: %v", n)
	}
	if strings.Contains(s.Log(), "accepted msg") {
		t.Errorf("smtpd logged an accepted message for a relay attempt")
	}
}

// TestCaseSpellingsOneCopy: one message to 100 spellings of one local
// address (local delivery folds the case of the whole address) leaves one
// copy in the Maildir, not 100 (issue 11, item 4). smtpd drops exact
// repeats only, so the spellings differ in the local part: demo's
// .qmail-casefold delivers to the Maildir.
func TestCaseSpellingsOneCopy(t *testing.T) {
	s := NewServer(t, Options{})
	writeUserFile(t, s, demoHome(s), ".qmail-casefold", "./Maildir/\n")
	var rcpts []string
	for mask := 0; len(rcpts) < 100; mask++ {
		b := []byte("demo-casefold@example.test")
		bit := 0
		for i, c := range b {
			if 'a' <= c && c <= 'z' {
				if mask&(1<<bit) != 0 {
					b[i] = c - 'a' + 'A'
				}
				bit++
			}
		}
		rcpts = append(rcpts, string(b))
	}
	r := swaks(t, s, "--to", strings.Join(rcpts, ","))
	if r.Code != 0 || !acceptedAfterData.MatchString(r.Out) || strings.Count(r.Out, "<-  250 2.1.5") != 100 {
		t.Fatalf("swaks to 100 spellings: exit %d\n%s", r.Code, r.Out)
	}
	s.WaitLog(`smtpd: .*accepted msg .* to 100 recipients`, 1, deliverTimeout)
	s.WaitLog(`send: end msg `, 1, deliverTimeout)
	if files := s.MaildirNew(); len(files) != 1 {
		t.Fatalf("100 spellings of demo-casefold@example.test left %d copies in the Maildir, want 1", len(files))
	}
}
