package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// mailbox is what the Maildir holds after the run.
type mailbox struct {
	copies  map[int]map[int]int // message n -> attempt number -> copies delivered
	files   int
	corrupt []string // one line per corrupt file: name and why
	tmpLeft int      // files left in Maildir/tmp (deliveries killed midway)
}

// scanMailbox checks every file in new/ and cur/ against the message it
// claims to be. A good copy is exactly: our two lines (Return-Path naming
// one of the attempts of that message, Delivered-To), smtpd's two-line
// Received header, then the stored form byte for byte.
func scanMailbox(maildir string, seed uint64, run string, recs []msgRecord) (*mailbox, error) {
	mb := &mailbox{copies: map[int]map[int]int{}}
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(maildir, sub))
		if err != nil {
			return nil, fmt.Errorf("read maildir: %w", err)
		}
		for _, e := range ents {
			mb.files++
			path := filepath.Join(maildir, sub, e.Name())
			b, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("read maildir: %w", err)
			}
			n, att, why := checkCopy(b, seed, run, recs, rcptAddr, demoOnly)
			if why != "" {
				mb.corrupt = append(mb.corrupt, sub+"/"+e.Name()+": "+why)
				continue
			}
			if mb.copies[n] == nil {
				mb.copies[n] = map[int]int{}
			}
			mb.copies[n][att]++
		}
	}
	if ents, err := os.ReadDir(filepath.Join(maildir, "tmp")); err == nil {
		mb.tmpLeft = len(ents)
	}
	return mb, nil
}

// checkCopy returns the message and attempt a file delivered to rcpt
// belongs to, or why it is corrupt; to gives each message's recipients.
func checkCopy(b []byte, seed uint64, run string, recs []msgRecord, rcpt string, to func(int) []string) (n, att int, why string) {
	line := func() (string, bool) {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return "", false
		}
		l := string(b[:i])
		b = b[i+1:]
		return l, true
	}
	rp, ok1 := line()
	dt, ok2 := line()
	r1, ok3 := line()
	r2, ok4 := line()
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return 0, 0, "shorter than our added headers"
	}
	sender, ok := strings.CutPrefix(rp, "Return-Path: <")
	sender, ok5 := strings.CutSuffix(sender, ">")
	if !ok || !ok5 {
		return 0, 0, fmt.Sprintf("first line %q is not Return-Path", clip(rp))
	}
	if dt != "Delivered-To: "+rcpt {
		return 0, 0, fmt.Sprintf("second line %q is not Delivered-To", clip(dt))
	}
	if !strings.HasPrefix(r1, "Received: from ") || !strings.HasPrefix(r2, "  by ") || !strings.Contains(r2, " with ESMTP; ") {
		return 0, 0, fmt.Sprintf("no Received header from smtpd: %q %q", clip(r1), clip(r2))
	}
	idLine, _, _ := bytes.Cut(b, []byte("\n"))
	id, ok := strings.CutPrefix(string(idLine), idHeader)
	if !ok {
		return 0, 0, fmt.Sprintf("message does not start with %s", idHeader)
	}
	n, ok = parseCrashID(run, id)
	if !ok || n < 0 || n >= len(recs) {
		return 0, 0, fmt.Sprintf("matches no sent message (%s%s)", idHeader, clip(id))
	}
	sn, att, ok := parseEnvSender(sender)
	if !ok || sn != n {
		return 0, 0, fmt.Sprintf("Return-Path <%s> is not an attempt of message %d", clip(sender), n)
	}
	if att < 1 || att > len(recs[n].attempts) || !recs[n].attempts[att-1].dataSent {
		return 0, 0, fmt.Sprintf("attempt %d of message %d never sent its whole content", att, n)
	}
	want := storedForm(seed, run, n, to(n))
	if !bytes.Equal(b, want) {
		return 0, 0, fmt.Sprintf("message %d attempt %d: content differs (%d bytes, want %d; first difference at byte %d)",
			n, att, len(b), len(want), firstDiff(b, want))
	}
	return n, att, ""
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// queueLeft lists the messages still in the queue: message files in msg/
// (state logs ride along with them) and files in bad/.
func queueLeft(root string) (msgs, bad map[string]bool, err error) {
	msgs, bad = map[string]bool{}, map[string]bool{}
	ents, err := os.ReadDir(filepath.Join(root, "queue", "msg"))
	if err != nil {
		return nil, nil, fmt.Errorf("read queue: %w", err)
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".state") {
			msgs[e.Name()] = true
		}
	}
	if ents, err := os.ReadDir(filepath.Join(root, "queue", "bad")); err == nil {
		for _, e := range ents {
			bad[strings.TrimSuffix(e.Name(), ".state")] = true
		}
	}
	return msgs, bad, nil
}
