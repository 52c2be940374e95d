package logline

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestPrintfSanitisesAndStamps(t *testing.T) {
	var buf bytes.Buffer
	l := NewTo(&buf, "smtpd")
	l.now = func() time.Time { return time.Date(2026, 11, 26, 1, 2, 3, 4000, time.UTC) }
	l.Printf("from <%s>", "evil\nfake line\x00\xff")
	want := "2026-11-26T01:02:03.000004Z smtpd: from <evil_fake line__>\n"
	if buf.String() != want {
		t.Fatalf("got %q\nwant %q", buf.String(), want)
	}
	if strings.Count(buf.String(), "\n") != 1 {
		t.Fatal("more than one line written")
	}
}

// A line longer than a pipe's atomic write is cut, so that lines written
// by several processes to one pipe never mix.
func TestLongLineCutToPipeBuf(t *testing.T) {
	var buf bytes.Buffer
	l := NewTo(&buf, "remote")
	l.Printf("reply %s", strings.Repeat("x", 3*MaxLine))
	got := buf.String()
	if len(got) != MaxLine {
		t.Fatalf("line of %d bytes, want %d", len(got), MaxLine)
	}
	if !strings.HasSuffix(got, cutMark+"\n") || strings.Count(got, "\n") != 1 {
		t.Fatalf("line does not end with the cut mark and one newline: %q", got[len(got)-40:])
	}
	buf.Reset()
	l.Printf("short")
	if !strings.HasSuffix(buf.String(), " remote: short\n") {
		t.Fatalf("short line %q", buf.String())
	}
}
