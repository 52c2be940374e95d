package local

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"goqmail/internal/mbox"
)

// failure is a delivery that did not happen, worded for the report the way
// qmail-local words its exit: permanent is its exit 100 (the sender gets a
// bounce), otherwise exit 111 (the queue retries). Errors of any other
// type are temporary failures whose text is already worded (dotqmail's).
type failure struct {
	permanent bool
	text      string
}

func (f *failure) Error() string { return f.text }

func permanent(text string) error { return &failure{permanent: true, text: text} }

func temporary(format string, args ...any) error {
	return &failure{text: fmt.Sprintf(format, args...)}
}

// maildirError words a Maildir failure as qmail-local does; every one is
// temporary: the message stays queued and is retried. line is the
// instruction as written, shown as ~/... when relative to home.
func maildirError(line string, err error) string {
	switch {
	case errors.Is(err, syscall.EDQUOT):
		return "Disk quota exceeded. (#4.2.2)"
	case errors.Is(err, syscall.ENOSPC):
		return "Out of disk space. (#4.3.0)"
	case errors.Is(err, os.ErrNotExist):
		return "Unable to chdir to maildir: no " + showPath(line) + " with tmp/ and new/. (#4.2.1)"
	case errors.Is(err, os.ErrPermission):
		return "Unable to open maildir: permission denied. (#4.2.1)"
	}
	return "Unable to write to maildir: " + err.Error() + " (#4.3.0)"
}

// mboxError words an mbox failure as qmail-local's mailfile() does; all
// are temporary.
func mboxError(line string, err error) string {
	var e *mbox.Error
	if !errors.As(err, &e) {
		return "Unable to write " + showPath(line) + ": " + err.Error() + ". (#4.3.0)"
	}
	switch {
	case errors.Is(err, mbox.ErrLocked):
		return "File has been locked for 30 seconds straight. (#4.3.0)"
	case e.Op == "open":
		return "Unable to open " + showPath(line) + ": " + cause(e.Err).Error() + ". (#4.2.1)"
	case e.Op == "read":
		return "Unable to read message: " + e.Err.Error() + ". (#4.3.0)"
	case errors.Is(err, syscall.EDQUOT):
		return "Disk quota exceeded. (#4.2.2)"
	}
	return "Unable to " + e.Op + " " + showPath(line) + ": " + cause(e.Err).Error() + ". (#4.3.0)"
}

// showPath writes a file line relative to home as ~/path.
func showPath(line string) string {
	if filepath.IsAbs(line) {
		return line
	}
	return "~/" + strings.TrimPrefix(line, "./")
}

// cleanOutput turns what a program printed into one line of report text,
// as qmail-send shows it: newlines become '/', other control and
// non-ASCII bytes '?', trailing blank lines dropped.
func cleanOutput(out []byte) string {
	s := strings.TrimRight(string(out), " \t\r\n")
	b := []byte(s)
	for i, c := range b {
		switch {
		case c == '\n':
			b[i] = '/'
		case c == '\t':
			b[i] = ' '
		case c < 0x20 || c >= 0x7f:
			b[i] = '?'
		}
	}
	return string(b)
}
