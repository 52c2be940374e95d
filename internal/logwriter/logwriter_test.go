package logwriter

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"goqmail/internal/logline"
	"goqmail/internal/logsink"
)

// memSink collects what is written; it fails the first fails writes.
type memSink struct {
	buf   bytes.Buffer
	fails int
}

func (m *memSink) Write(p []byte) (int, error) {
	if m.fails > 0 {
		m.fails--
		return 0, errors.New("disk full")
	}
	return m.buf.Write(p)
}
func (m *memSink) Close() error { return nil }

var fixed = time.Date(2026, 1, 26, 1, 2, 3, 4000, time.UTC)

func newWriter(sink Sink, warn *bytes.Buffer) *Writer {
	return &Writer{Sink: sink, Warn: logline.NewTo(warn, "log"), Now: func() time.Time { return fixed }, Retry: time.Millisecond}
}

// A pipe's lines are copied whole; a line that is not ours (a panic) gets
// the time and the pipe's name; a last line without newline gets one; a
// run of bytes without a newline longer than a line is cut into lines.
func TestPipeCopiesAndStampsLines(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	ours := "2026-01-26T01:00:00.000000Z smtpd: session x: helo y: 0 accepted, 0 refused, quit (1ms)\n"
	long := strings.Repeat("z", logline.MaxLine+10)
	go func() {
		w.Write([]byte(ours + "panic: boom\n\tgoroutine 1\n" + ours[:20]))
		w.Write([]byte(ours[20:] + long))
		w.Write([]byte("tail without newline"))
		w.Close()
	}()
	sink := &memSink{}
	var warn bytes.Buffer
	newWriter(sink, &warn).Pipe("smtpd", r)
	stamp := "2026-01-26T01:02:03.000004Z smtpd: "
	want := ours + stamp + "panic: boom\n" + stamp + "_goroutine 1\n" + ours +
		stamp + long[:logline.MaxLine-1] + "\n" + stamp + long[logline.MaxLine-1:] + "tail without newline\n"
	if got := sink.buf.String(); got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
	if warn.Len() != 0 {
		t.Errorf("warnings: %s", warn.String())
	}
}

// A sink that fails (a full disk) is retried until it takes the lines,
// and the trouble is said on standard error, once.
func TestFailingSinkIsRetried(t *testing.T) {
	sink := &memSink{fails: 3}
	var warn bytes.Buffer
	w := newWriter(sink, &warn)
	w.Lines("queue", []byte("x\n"))
	if got := sink.buf.String(); got != "2026-01-26T01:02:03.000004Z queue: x\n" {
		t.Errorf("written %q", got)
	}
	if n := strings.Count(warn.String(), "warning: disk full; retrying"); n != 1 {
		t.Errorf("%d warnings:\n%s", n, warn.String())
	}
}

// Journal entries: the whole line is the message, the program its
// identifier, alert and warning their priorities, the queue id a field.
func TestEntryOfALine(t *testing.T) {
	for _, tc := range []struct {
		line  string
		ident string
		pri   int
		id    string
	}{
		{"2026-01-26T01:02:03.000004Z send: new msg 18ebb2eb4a47baed", "goqmail-send", logsink.PriInfo, "18ebb2eb4a47baed"},
		{"2026-01-26T01:02:03.000004Z goqmaild: warning: smtpd exited (signal: killed); restarting", "goqmaild", logsink.PriWarning, ""},
		{"2026-01-26T01:02:03.000004Z queue: alert: making msg 18ebb2eb4a47baed durable failed: EIO", "goqmail-queue", logsink.PriAlert, "18ebb2eb4a47baed"},
	} {
		e := Entry(tc.line)
		id := ""
		for _, f := range e.Fields {
			if f.Name == "GOQMAIL_QUEUE_ID" {
				id = f.Value
			}
		}
		if e.Message != tc.line || e.Ident != tc.ident || e.Priority != tc.pri || id != tc.id {
			t.Errorf("%s: %+v", tc.line, e)
		}
	}
}

// A system log that cannot be reached does not stop the lines: they go to
// the fallback, with one warning.
func TestEntriesFallBack(t *testing.T) {
	var fallback, warn bytes.Buffer
	e := &Entries{Dial: func() (logsink.Sink, error) { return nil, errors.New("no journal") },
		Fallback: &fallback, Warn: logline.NewTo(&warn, "log"), Now: time.Now}
	p := []byte("a line\nanother\n")
	if n, err := e.Write(p); n != len(p) || err != nil {
		t.Fatalf("Write: %d %v", n, err)
	}
	if fallback.String() != "a line\nanother\n" || strings.Count(warn.String(), "no journal") != 1 {
		t.Errorf("fallback %q, warnings %q", fallback.String(), warn.String())
	}
}

// A socket that cannot be reached: the lines fall back, and nothing
// crashes (a failed dial once returned a nil *Syslog inside the Sink,
// which Entries took for a connection and used).
func TestDialerFailureFallsBack(t *testing.T) {
	for _, dest := range []string{"journal", "syslog"} {
		var fallback, warn bytes.Buffer
		e := &Entries{Dial: Dialer(dest, t.TempDir()+"/none"), Fallback: &fallback, Warn: logline.NewTo(&warn, "log"), Now: time.Now}
		e.Write([]byte("a line\n"))
		if fallback.String() != "a line\n" {
			t.Errorf("%s: fallback %q", dest, fallback.String())
		}
	}
}

// FuzzLines: whatever a program writes, every line that reaches the sink
// is whole and starts with a time (so it names when and who).
func FuzzLines(f *testing.F) {
	f.Add("2026-01-26T01:02:03.000004Z send: x\npanic\n\n")
	f.Add("no newline")
	f.Add("2026-01-26T01:02:03.000004Z")
	f.Fuzz(func(t *testing.T, in string) {
		sink := &memSink{}
		var warn bytes.Buffer
		newWriter(sink, &warn).Lines("smtpd", []byte(in))
		out := sink.buf.Bytes()
		if len(in) > 0 && (len(out) == 0 || out[len(out)-1] != '\n') {
			t.Fatalf("%q: output %q does not end in a newline", in, out)
		}
		for _, line := range bytes.SplitAfter(out, []byte("\n")) {
			if len(line) > 0 && !ours(line) {
				t.Fatalf("%q: line %q is not stamped", in, line)
			}
		}
	})
}
