package inject

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestSplitHeader(t *testing.T) {
	tests := []struct {
		name, in                string
		header, bodyStart, rest string
	}{
		{"simple", "A: b\n\nbody\n", "A: b\n", "", "body\n"},
		{"folded", "A: b\n c\n\td\nB: e\n\nx\n", "A: b\n c\n\td\nB: e\n", "", "x\n"},
		{"non-header line ends it", "A: b\nnot a header\nC: d\n", "A: b\n", "not a header\n", "C: d\n"},
		{"space before colon is not a field", "Subject : x\n\n", "", "Subject : x\n", "\n"},
		{"no header", "hello\n", "", "hello\n", ""},
		{"continuation first", " x: y\n", "", " x: y\n", ""},
		{"empty first line", "\nbody\n", "", "", "body\n"},
		{"header only at eof", "A: b", "A: b", "", ""},
		{"empty", "", "", "", ""},
		{"mbox from lines dropped", "From a@b Mon Jan  1 00:00:00 2026\n>From x\nA: b\n\nFrom me\n", "A: b\n", "", "From me\n"},
		{"from line only first", "A: b\nFrom x\n", "A: b\n", "From x\n", ""},
		{"colon in value", "A: b: c\n\n", "A: b: c\n", "", ""},
		{"8-bit value", "Subject: Grüße\n\n", "Subject: Grüße\n", "", ""},
		{"8-bit name is not a field", "Sübject: x\n\n", "", "Sübject: x\n", "\n"},
	}
	for _, tt := range tests {
		br := bufio.NewReaderSize(strings.NewReader(tt.in), 16)
		h, start, err := SplitHeader(br, 1000)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		rest, _ := io.ReadAll(br)
		if string(h) != tt.header || string(start) != tt.bodyStart || string(rest) != tt.rest {
			t.Errorf("%s: got %q %q %q, want %q %q %q", tt.name, h, start, rest, tt.header, tt.bodyStart, tt.rest)
		}
	}
}

func TestSplitHeaderLimit(t *testing.T) {
	in := "A: " + strings.Repeat("x", 100) + "\n\n"
	if _, _, err := SplitHeader(bufio.NewReaderSize(strings.NewReader(in), 16), 105); err != nil {
		t.Fatalf("header of exactly the limit: %v", err)
	}
	_, _, err := SplitHeader(bufio.NewReaderSize(strings.NewReader(in), 16), 104)
	if !errors.Is(err, ErrHeaderTooBig) {
		t.Fatalf("err = %v, want ErrHeaderTooBig", err)
	}
}

func TestSplitHeaderPassesInputErrors(t *testing.T) {
	br := bufio.NewReader(NewInput(strings.NewReader("A: b\x00\n\n"), true))
	if _, _, err := SplitHeader(br, 1000); !errors.Is(err, ErrNUL) {
		t.Fatalf("err = %v, want ErrNUL", err)
	}
}

func TestParseFields(t *testing.T) {
	fs := parseFields([]byte("To: a\n b\nSubject: x"))
	if len(fs) != 2 || fs[0].name != "To" || string(fs[0].raw) != "To: a\n b\n" || string(fs[0].value()) != " a\n b\n" ||
		fs[1].name != "Subject" || string(fs[1].raw) != "Subject: x\n" {
		t.Fatalf("parseFields = %+v", fs)
	}
}
