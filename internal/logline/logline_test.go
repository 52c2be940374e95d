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
