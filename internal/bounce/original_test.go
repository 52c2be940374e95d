package bounce

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// TestUnsafeOriginal: a message that cannot travel as 8bit is returned as
// its header, quoted-printable when the header itself is not clean.
func TestUnsafeOriginal(t *testing.T) {
	long := strings.Repeat("x", maxLine+1)
	tests := []struct {
		name, original string
		cte            string
		header         string // decoded third part after the Return-Path line
	}{
		{"NUL in body", "Subject: a\n\nbody\x00\n", "", "Subject: a\n"},
		{"CR in body", "Subject: a\n\nbody\r\nmore\n", "", "Subject: a\n"},
		{"long body line", "Subject: a\n\n" + long + "\n", "", "Subject: a\n"},
		{"CR in header", "Subject: a\r\n\nbody\n", "quoted-printable", "Subject: a\r\n"},
		{"NUL in header", "Subject: \x00\n\nbody\n", "quoted-printable", "Subject: \x00\n"},
		{"long header line", "X-Long: " + long + "\n\nbody\n", "quoted-printable", "X-Long: " + long + "\n"},
		{"8bit header", "Subject: caf\xc3\xa9\n\nbody\x00\n", "8bit", "Subject: caf\xc3\xa9\n"},
		{"no header", "\nbody\x00", "", ""},
		{"no blank line", "Subject: a\x00", "quoted-printable", "Subject: a\x00\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := baseParams()
			out := render(t, p, tt.original)
			parsed := parseBounce(t, out, len(p.Failures))
			if parsed.types[2] != "text/rfc822-headers" || parsed.cte[2] != tt.cte {
				t.Fatalf("third part %s, encoding %q; want text/rfc822-headers, %q", parsed.types[2], parsed.cte[2], tt.cte)
			}
			if !strings.Contains(parsed.text, "not 8-bit clean") {
				t.Errorf("text does not say why only the header is returned:\n%s", parsed.text)
			}
			want := "Return-Path: <alice@example.org>\n" + tt.header
			if got := decodeThird(t, parsed); string(got) != want {
				t.Errorf("third part = %q, want %q", got, want)
			}
		})
	}
}

func TestHeaderOf(t *testing.T) {
	big := strings.Repeat("X-A: b\n", maxHeader/7+10)
	tests := []struct {
		name  string
		msg   string
		whole bool
		want  string
	}{
		{"header and body", "A: b\nC: d\n\nbody\n", true, "A: b\nC: d\n"},
		{"empty header", "\nbody", true, ""},
		{"all header", "A: b\nC: d", true, "A: b\nC: d\n"},
		{"prefix cut after last line", "A: b\nC: d", false, "A: b\n"},
		{"prefix without newline", "A: bcd", false, "A: bcd\n"},
		{"capped", big, true, big[:strings.LastIndexByte(big[:maxHeader], '\n')+1]},
		{"empty message", "", true, ""},
	}
	for _, tt := range tests {
		if got := string(headerOf([]byte(tt.msg), tt.whole)); got != tt.want {
			t.Errorf("%s: headerOf = %q, want %q", tt.name, truncate(got, 60), truncate(tt.want, 60))
		}
	}
}

// TestTooBigReadsOnlyTheHeader: a message over the limit is not read past
// maxHeader, and what is returned ends at a line end.
func TestTooBigReadsOnlyTheHeader(t *testing.T) {
	big := strings.Repeat("X-Filler: 0123456789\n", maxHeader/21+100) + "\nbody\n"
	r := &countingReader{r: strings.NewReader(big)}
	p := baseParams()
	p.MaxOriginal = 1000
	var out bytes.Buffer
	if err := write(&out, p, r, int64(len(big)), fixedTokens("T")); err != nil {
		t.Fatal(err)
	}
	if r.n > maxHeader {
		t.Errorf("read %d bytes of a too-big message, want at most %d", r.n, maxHeader)
	}
	parsed := parseBounce(t, out.Bytes(), 2)
	third := string(parsed.bodies[2])
	if parsed.types[2] != "text/rfc822-headers" || !strings.HasSuffix(third, "X-Filler: 0123456789\n") || len(third) > maxHeader+100 {
		t.Errorf("third part %s of %d bytes ends %q", parsed.types[2], len(third), third[max(0, len(third)-40):])
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += n
	return n, err
}

func TestShortRead(t *testing.T) {
	for _, limit := range []int64{0, 5} {
		var out bytes.Buffer
		p := baseParams()
		p.MaxOriginal = limit
		err := write(&out, p, strings.NewReader("Subject: x\n"), 100, fixedTokens("T"))
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("limit %d: short original: err = %v, want io.ErrUnexpectedEOF", limit, err)
		}
		if out.Len() != 0 {
			t.Errorf("limit %d: wrote %d bytes before failing", limit, out.Len())
		}
	}
}

// TestReadStopsAtSize: bytes after size are not part of the original.
func TestReadStopsAtSize(t *testing.T) {
	r := strings.NewReader(testOriginal + "TRAILING GARBAGE\n")
	var out bytes.Buffer
	if err := write(&out, baseParams(), r, int64(len(testOriginal)), fixedTokens("T")); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out.Bytes(), []byte("TRAILING")) {
		t.Error("bytes beyond size were attached")
	}
	if r.Len() != len("TRAILING GARBAGE\n") {
		t.Errorf("%d bytes left unread, want %d", r.Len(), len("TRAILING GARBAGE\n"))
	}
}

func TestQuotedPrintable(t *testing.T) {
	tests := []struct{ in, want string }{
		{"abc\n", "abc\n"},
		{"a=b\n", "a=3Db\n"},
		{"trailing \n", "trailing=20\n"},
		{"tab\t\n", "tab=09\n"},
		{"mid space\n", "mid space\n"},
		{"cr\r\n", "cr=0D\n"},
		{"\x00\xff\n", "=00=FF\n"},
		{strings.Repeat("a", 80) + "\n", strings.Repeat("a", 75) + "=\n" + "aaaaa\n"},
		{strings.Repeat("=", 30) + "\n", strings.Repeat("=3D", 25) + "=\n" + strings.Repeat("=3D", 5) + "\n"},
	}
	for _, tt := range tests {
		if got := string(quotedPrintable([]byte(tt.in))); got != tt.want {
			t.Errorf("quotedPrintable(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
