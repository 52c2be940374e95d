// Package logline writes one log line per event, qmail-style: the program
// name, then the text, with anything unprintable made harmless.
//
// Every goqmail process writes to its standard error, which the supervisor
// shares; each line goes out in a single write(2) so lines from different
// processes never interleave mid-line. Text that came from the network is
// sanitised like qmail's logsafe: bytes outside printable ASCII become '_',
// so a hostile address cannot forge log lines.
//
// A line is at most MaxLine bytes: when the programs' standard error is a
// pipe to the log writer (control/logdest), POSIX makes a write of up to
// PIPE_BUF bytes atomic, and only such writes are sure not to be mixed
// with another process's (goqmail-local shares the spawner's pipe).
package logline

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Logger writes lines for one program. It is safe for concurrent use.
type Logger struct {
	mu   sync.Mutex
	w    io.Writer
	prog string
	now  func() time.Time
	buf  []byte
}

// New returns a logger for prog writing to stderr.
func New(prog string) *Logger { return NewTo(os.Stderr, prog) }

// NewTo returns a logger for prog writing to w.
func NewTo(w io.Writer, prog string) *Logger {
	return &Logger{w: w, prog: prog, now: time.Now}
}

// Printf formats and writes one line. The whole formatted text is sanitised,
// including arguments.
func (l *Logger) Printf(format string, args ...any) {
	if l == nil {
		return
	}
	msg := fmt.Sprintf(format, args...)
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.now().UTC().AppendFormat(l.buf[:0], TimeLayout)
	b = append(b, ' ')
	b = append(b, l.prog...)
	b = append(b, ": "...)
	b = appendSafe(b, msg)
	if len(b) >= MaxLine {
		b = append(b[:MaxLine-len(cutMark)-1], cutMark...)
	}
	b = append(b, '\n')
	l.buf = b
	l.w.Write(b)
}

// MaxLine is the longest line written, newline included: PIPE_BUF on
// Linux (pipe(7)), the most one write(2) to a pipe is sure to put there
// in one piece.
const MaxLine = 4096

// cutMark ends a line that was cut to MaxLine.
const cutMark = " [line cut]"

// SetOutput sends the following lines to w (goqmaild moves its own lines
// to the log writer's pipe once that exists).
func (l *Logger) SetOutput(w io.Writer) {
	l.mu.Lock()
	l.w = w
	l.mu.Unlock()
}

// TimeLayout is the time at the start of every line (UTC, microseconds).
const TimeLayout = "2006-01-02T15:04:05.000000Z"

// Safe returns s with every byte outside printable ASCII replaced by '_'.
func Safe(s string) string { return string(appendSafe(nil, s)) }

func appendSafe(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			c = '_'
		}
		b = append(b, c)
	}
	return b
}

// Fatalf logs an alert and exits 111, qmail's "temporary failure": the
// supervisor restarts the program, an admin reads why.
func (l *Logger) Fatalf(format string, args ...any) {
	l.Printf("alert: "+format, args...)
	os.Exit(111)
}

// ExitConfig is the exit status of a program that cannot start because its
// configuration is invalid (sysexits.h EX_CONFIG). The supervisor tells it
// from a crash: restarting at once would fail the same way, so it alerts
// and waits (internal/supervise).
const ExitConfig = 78

// ConfigFatalf logs an alert about the configuration, one line per
// problem, and exits with ExitConfig.
func (l *Logger) ConfigFatalf(lines ...string) {
	for _, line := range lines {
		l.Printf("alert: configuration: %s", line)
	}
	os.Exit(ExitConfig)
}

// ReloadFailed logs a configuration that a SIGHUP could not load, one
// line per problem, and that the old configuration stays in use.
func (l *Logger) ReloadFailed(lines []string) {
	for _, line := range lines {
		l.Printf("warning: reload: %s", line)
	}
	l.Printf("warning: reload failed; keeping the old configuration")
}

// RootArg returns the one argument every program goqmaild starts takes,
// the goqmail directory; anything else is a usage error (exit 100).
func RootArg(prog string) string {
	if len(os.Args) != 2 {
		fmt.Fprintf(os.Stderr, "usage: %s ROOT (started by goqmaild)\n", prog)
		os.Exit(100)
	}
	return os.Args[1]
}
