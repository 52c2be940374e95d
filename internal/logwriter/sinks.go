package logwriter

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"goqmail/internal/logdir"
	"goqmail/internal/logline"
	"goqmail/internal/logparse"
	"goqmail/internal/logsink"
)

// Files is the sink of logdest files: log/current and its rotations.
type Files struct{ Dir *logdir.Dir }

func (f Files) Write(p []byte) (int, error) { return f.Dir.Write(p) }
func (f Files) Close() error                { return f.Dir.Close() }

// Entries is the sink of logdest journal and syslog: one entry per line,
// with the program as its identifier, the priority from `alert:` and
// `warning:`, and the queue id the line names (journal only).
type Entries struct {
	Dial func() (logsink.Sink, error)
	// Fallback takes a line the system log would not (goqmaild's
	// standard error); Warn says so, at most once a minute.
	Fallback io.Writer
	Warn     *logline.Logger
	Now      func() time.Time

	s      logsink.Sink
	warned time.Time
}

// Write sends each line; it never fails: a line the socket refuses twice
// (reconnecting in between) goes to Fallback.
func (e *Entries) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			i = len(p)
		}
		line := string(p[:i])
		p = p[min(i+1, len(p)):]
		ent := Entry(line)
		var err error
		for try := 0; try < 2; try++ {
			if e.s == nil {
				if e.s, err = e.Dial(); err != nil {
					continue
				}
			}
			if err = e.s.Send(ent); err == nil {
				break
			}
			e.s.Close()
			e.s = nil
		}
		if err != nil {
			if now := e.Now(); now.Sub(e.warned) >= time.Minute {
				e.warned = now
				e.Warn.Printf("warning: %v; lines go to this standard error until it works again", err)
			}
			fmt.Fprintln(e.Fallback, line)
		}
	}
	return n, nil
}

// Dialer connects to the journal's or syslog's socket at path. A failed
// dial returns a nil Sink, not a nil *Journal inside one (which Entries
// would take for a connection).
func Dialer(dest, path string) func() (logsink.Sink, error) {
	return func() (logsink.Sink, error) {
		var s logsink.Sink
		var err error
		if dest == "journal" {
			var j *logsink.Journal
			if j, err = logsink.DialJournal(path); err == nil {
				s = j
			}
		} else {
			var l *logsink.Syslog
			if l, err = logsink.DialSyslog(path); err == nil {
				s = l
			}
		}
		return s, err
	}
}

// Close closes the socket.
func (e *Entries) Close() error {
	if e.s == nil {
		return nil
	}
	return e.s.Close()
}

// Entry is the log entry of one line: the whole line is the message, so
// `journalctl -o cat` gives back what the files would hold.
func Entry(line string) logsink.Entry {
	l := logparse.Parse(line)
	ent := logsink.Entry{Ident: Ident(l.Prog), Priority: logsink.PriInfo, Message: line}
	switch l.Level() {
	case logparse.Alert:
		ent.Priority = logsink.PriAlert
	case logparse.Warning:
		ent.Priority = logsink.PriWarning
	}
	if l.MsgID != "" {
		ent.Fields = []logsink.Field{{Name: "GOQMAIL_QUEUE_ID", Value: l.MsgID}}
	}
	return ent
}

// Ident is a program's identifier in the system log: its binary's name
// (goqmaild, goqmail-send, ...).
func Ident(prog string) string {
	if prog == "" {
		return "goqmail"
	}
	if strings.HasPrefix(prog, "goqmail") {
		return prog
	}
	return "goqmail-" + prog
}
