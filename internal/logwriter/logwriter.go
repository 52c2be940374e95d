// Package logwriter is goqmail-log: it reads every program's log pipe
// (the supervisor's, internal/supervise/logpipes.go) and writes whole lines
// to where control/logdest says (docs/logs.md), multilog's job.
//
// A line that is not one of ours (a Go panic's stack trace, a program's
// stray output) gets the time and the name of the pipe it came through, so
// every line says when and who. Files are the only copy of the log: when
// they cannot be written (a full disk), the writer retries every second and
// says so on goqmaild's standard error once a minute, and the programs wait
// behind their pipes, as they do behind multilog. The journal and syslog
// are best effort by nature (journald itself drops lines past its rate
// limit): when the socket fails twice the line goes to goqmaild's standard
// error instead, with the same warning.
//
// SECURITY: runs as its own account (goqmaill); reads only pipes the
// supervisor made, writes only log/ or a system log socket.
package logwriter

import (
	"bytes"
	"os"
	"sync"
	"time"

	"goqmail/internal/logline"
)

// Sink takes whole lines, each ending in a newline.
type Sink interface {
	// Write writes p and returns how much of it is written; after an
	// error the writer tries the rest again.
	Write(p []byte) (int, error)
	Close() error
}

// Writer copies the pipes' lines into a sink.
type Writer struct {
	Sink Sink
	// Warn is goqmaild's standard error, for the writer's own troubles.
	Warn *logline.Logger
	Now  func() time.Time
	// Retry is how long to wait before writing again after an error.
	Retry time.Duration

	mu       sync.Mutex // serialises the sink
	warned   time.Time
	stopping bool
}

// readSize is how much one read takes from a pipe: many lines at once.
const readSize = 64 << 10

// Pipe copies the lines of one pipe until its end (every writer gone) or
// its read deadline (the stop: see cmd/goqmail-log). A last line without
// its newline gets one.
func (w *Writer) Pipe(name string, f *os.File) {
	buf := make([]byte, readSize)
	var pend []byte
	for {
		n, err := f.Read(buf)
		if n > 0 {
			pend = append(pend, buf[:n]...)
			i := bytes.LastIndexByte(pend, '\n')
			var whole []byte
			if i >= 0 {
				whole = pend[:i+1]
			}
			rest := pend[i+1:]
			for len(rest) >= logline.MaxLine { // no newline in sight: a line of its own
				// (whole and rest share pend: the full slice expression
				// makes the append copy instead of overwrite rest.)
				whole = append(whole[:len(whole):len(whole)], rest[:logline.MaxLine-1]...)
				whole = append(whole, '\n')
				rest = rest[logline.MaxLine-1:]
			}
			w.Lines(name, whole)
			pend = append(pend[:0], rest...)
		}
		if err != nil {
			if len(pend) > 0 {
				w.Lines(name, append(pend, '\n'))
			}
			return
		}
	}
}

// Lines writes whole lines that came through the pipe name, stamping those
// that are not ours.
func (w *Writer) Lines(name string, p []byte) {
	if len(p) == 0 {
		return
	}
	if p[len(p)-1] != '\n' {
		p = append(p, '\n')
	}
	out := p
	if !allOurs(p) {
		now := w.Now().UTC()
		out = make([]byte, 0, len(p)+64)
		for len(p) > 0 {
			i := bytes.IndexByte(p, '\n')
			line := p[:i+1]
			p = p[i+1:]
			if ours(line) {
				out = append(out, line...)
				continue
			}
			out = now.AppendFormat(out, logline.TimeLayout)
			out = append(out, ' ')
			out = append(out, name...)
			out = append(out, ": "...)
			out = append(out, logline.Safe(string(line[:len(line)-1]))...)
			out = append(out, '\n')
		}
	}
	w.write(out)
}

// Logger returns a logger whose lines go through the writer as those of
// prog: goqmail-log's own status lines land where everyone's do.
func (w *Writer) Logger(prog string) *logline.Logger {
	return logline.NewTo(lineFunc(func(b []byte) { w.Lines(prog, b) }), prog)
}

type lineFunc func([]byte)

func (f lineFunc) Write(b []byte) (int, error) {
	f(append([]byte(nil), b...))
	return len(b), nil
}

// write hands p to the sink until all of it is written. At the stop it
// gives up after a few tries and puts the rest on standard error.
func (w *Writer) write(p []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for tries := 0; len(p) > 0; tries++ {
		n, err := w.Sink.Write(p)
		p = p[n:]
		if err == nil {
			continue
		}
		if now := w.Now(); now.Sub(w.warned) >= time.Minute {
			w.warned = now
			w.Warn.Printf("warning: %v; retrying every %v, and the programs wait for their lines to be written", err, w.Retry)
		}
		if w.stopping && tries >= 3 {
			os.Stderr.Write(p)
			return
		}
		time.Sleep(w.Retry)
	}
}

// Locked runs f while no line is being written (a SIGHUP's new limits).
func (w *Writer) Locked(f func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f()
}

// Stopping makes write give up on a sink that keeps failing.
func (w *Writer) Stopping() { w.Locked(func() { w.stopping = true }) }

// ours reports whether a line starts with logline's time and a space.
func ours(b []byte) bool {
	return len(b) > 28 && b[4] == '-' && b[7] == '-' && b[10] == 'T' && b[13] == ':' && b[16] == ':' &&
		b[19] == '.' && b[26] == 'Z' && b[27] == ' '
}

func allOurs(p []byte) bool {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if !ours(p[:i+1]) {
			return false
		}
		p = p[i+1:]
	}
	return true
}
