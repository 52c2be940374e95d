// Package mbox appends one message to an mbox file the way qmail-local's
// mailfile() does (nq106:qmail-local.c, man mbox.5): mboxrd format, the
// file locked against other writers and readers, fsync'd before it is
// unlocked, and truncated back to its old length when anything fails, so a
// failed delivery leaves no half message for a mail reader to show.
//
// goqmail departs from qmail in two places, both so that a mail reader
// never sees a message while it is being written:
//
//   - qmail takes one lock (flock, or lockf) and, when it cannot get it
//     within 30 seconds, writes anyway. goqmail takes every lock a reader
//     may be using: a "path.lock" dotlock (when the directory lets us
//     create one), flock(2), and an fcntl(2) record lock. When it cannot
//     get them all within 30 seconds it gives up and the delivery is
//     deferred (ErrLocked) instead of written unlocked.
//   - qmail truncates back only when it held the lock; goqmail always
//     holds it.
package mbox

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Defaults for Appender's zero fields.
const (
	// DefaultLockTimeout is qmail-local's alarm(30) around lock_ex.
	DefaultLockTimeout = 30 * time.Second
	// DefaultDotlockStale is when a leftover path.lock is taken to belong to
	// a writer that died (procmail and mutt use the same five minutes).
	DefaultDotlockStale = 5 * time.Minute
)

// ErrLocked reports that the file stayed locked by someone else for the
// whole lock timeout; the caller should defer, as qmail does with
// "File has been locked for 30 seconds straight. (#4.3.0)".
var ErrLocked = errors.New("file has been locked for 30 seconds straight")

// Error is a failed append. Op says which step failed: "open", "lock",
// "read" (the message source) or "write" (the mbox file, including fsync).
// Every Error leaves the file as it was before the append.
type Error struct {
	Op   string
	Path string
	Err  error
}

func (e *Error) Error() string { return "mbox: " + e.Op + " " + e.Path + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Appender appends messages to mbox files. The zero value uses the
// defaults above; tests shorten them.
type Appender struct {
	LockTimeout  time.Duration
	DotlockStale time.Duration
}

// Append appends one message with DefaultLockTimeout and DefaultDotlockStale.
func Append(path, envSender string, now time.Time, prefix []byte, body io.Reader) error {
	return Appender{}.Append(path, envSender, now, prefix, body)
}

// Append writes "From envSender date" (FromLine), prefix unchanged (the
// caller's Return-Path and Delivered-To lines), body with mboxrd quoting,
// and the blank line that ends an mbox message, to the end of the file at
// path, creating it with mode 0600 if it does not exist (qmail's
// open_append). body must use LF line ends.
func (a Appender) Append(path, envSender string, now time.Time, prefix []byte, body io.Reader) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return &Error{Op: "open", Path: path, Err: err}
	}
	defer f.Close()
	locks, err := a.lock(f, path)
	if err != nil {
		return &Error{Op: "lock", Path: path, Err: err}
	}
	defer locks.release()

	pos, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return &Error{Op: "write", Path: path, Err: err}
	}
	if op, err := write(f, FromLine(envSender, now), prefix, body); err != nil {
		// Undo the partial message (qmail's seek_trunc). If even that
		// fails there is nothing better to do: the error is reported and
		// the delivery retried.
		_ = f.Truncate(pos)
		return &Error{Op: op, Path: path, Err: err}
	}
	return nil
}

// write writes one mbox message to f and makes it durable before the
// caller unlocks: a reader that gets the lock next sees all of it. It
// returns which side failed, "read" or "write".
func write(f *os.File, fromLine string, prefix []byte, body io.Reader) (string, error) {
	w := bufio.NewWriterSize(f, 64<<10)
	w.WriteString(fromLine)
	w.Write(prefix)
	q := &fromQuoter{w: w}
	buf := make([]byte, 32<<10)
	for {
		n, rerr := body.Read(buf)
		q.Write(buf[:n])
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return "read", rerr
		}
	}
	q.Close()
	if err := w.Flush(); err != nil {
		return "write", err
	}
	if err := f.Sync(); err != nil {
		return "write", fmt.Errorf("fsync: %w", err)
	}
	return "", nil
}

// FromLine is the line that starts a message in an mbox, qmail-local's
// ufline: "From " + envelope sender + " " + asctime in UTC + "\n". The null
// sender becomes MAILER-DAEMON; spaces, tabs and newlines in the sender
// become '-' so the line splits into the same fields for every reader.
// The day of the month is zero-padded, as qmail's myctime() writes it.
func FromLine(envSender string, now time.Time) string {
	sender := "MAILER-DAEMON"
	if envSender != "" {
		// Byte by byte: strings.Map would turn invalid UTF-8 into U+FFFD.
		b := []byte(envSender)
		for i, c := range b {
			if c == ' ' || c == '\t' || c == '\n' {
				b[i] = '-'
			}
		}
		sender = string(b)
	}
	return "From " + sender + " " + now.UTC().Format("Mon Jan 02 15:04:05 2006") + "\n"
}
