package local

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"goqmail/internal/maildir"
	"goqmail/internal/proto"
)

// A message that smtpd's checks judged junk (DMARC quarantine, a filter's
// verdict) carries proto.JunkHeader among the header lines smtpd put at
// its top; smtpd removes any a client sent, so only its checks can set it.
// Such a message goes to the Maildir++ folder .Junk of each maildir
// instruction instead of the inbox (docs/delivery.md). mbox lines and
// programs get it unchanged: an mbox has no folders, and a program can
// read the field itself.

// junkScanLimit is how much of the message's start is searched for the
// marker: smtpd's prefix lines (at most proto.MaxPrefix) and room for the
// Delivered-To and Received lines a forward puts in front.
const junkScanLimit = proto.MaxPrefix + 64<<10

// junkFolder is the Maildir++ folder junk goes to.
const junkFolder = ".Junk"

// JunkChoiceFile, in a Maildir's root, holds the user's choice of where
// that Maildir's junk goes: "inbox" (delivered like any message, marker
// included, for users whose own client filters) or "folder" (.Junk, the
// default). The webmail's settings write it (internal/webmbox); it is in
// the Maildir, not in the home, so that it is read only for junk, with
// one small read as the recipient, and follows the Maildir wherever the
// .qmail line points. A missing, unreadable or unknown file means
// "folder": junk is never let into the inbox on a guess.
const JunkChoiceFile = "junkchoice"

// JunkToInbox reports whether the Maildir at dir asks for its junk in the
// inbox.
func JunkToInbox(dir string) bool {
	f, err := os.Open(filepath.Join(dir, JunkChoiceFile))
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, 16)
	n, _ := io.ReadFull(f, buf)
	return strings.TrimSpace(string(buf[:n])) == "inbox"
}

// readHead reads the start of a message: up to its header section's end
// (the first empty line, perhaps with some bytes after it) and at most
// junkScanLimit bytes. An error is one of the reader's, never io.EOF.
func readHead(r io.Reader) ([]byte, error) {
	buf := make([]byte, 0, 8<<10)
	for len(buf) < junkScanLimit {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):min(cap(buf), junkScanLimit)])
		buf = buf[:len(buf)+n]
		if bytes.HasPrefix(buf, []byte("\n")) || bytes.Contains(buf, []byte("\n\n")) {
			return buf, nil
		}
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// junkReason returns the value of the junk marker when the header section
// at the start of head has one (a field of that name at the start of a
// line, ignoring case), and whether it has.
func junkReason(head []byte) (string, bool) {
	head = head[:min(len(head), junkScanLimit)]
	if end := bytes.Index(head, []byte("\n\n")); end >= 0 {
		head = head[:end+1]
	}
	if bytes.HasPrefix(head, []byte("\n")) {
		return "", false
	}
	for _, line := range bytes.Split(head, []byte("\n")) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if ok && strings.EqualFold(string(bytes.TrimRight(name, " \t")), proto.JunkHeader) {
			return string(bytes.TrimSpace(value)), true
		}
	}
	return "", false
}

// junkMaildir makes the .Junk folder of the maildir at path as needed
// (maildir.Make, and the maildirfolder marker Maildir++ readers look for)
// and returns its path.
func junkMaildir(path string) (string, error) {
	dir := filepath.Join(path, junkFolder)
	if err := maildir.Make(dir, 0o700); err != nil {
		return "", err
	}
	f, err := os.OpenFile(filepath.Join(dir, "maildirfolder"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		err = f.Close()
	}
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("maildir: make %s: %w", dir, err)
	}
	return dir, nil
}
