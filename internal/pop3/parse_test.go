package pop3

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		line string
		verb string
		args []string
		rest string
		err  bool
	}{
		{line: "STAT", verb: "STAT"},
		{line: "list 1", verb: "LIST", args: []string{"1"}, rest: "1"},
		{line: "PASS pass word ", verb: "PASS", args: []string{"pass", "word"}, rest: "pass word "},
		{line: "TOP 1 10", verb: "TOP", args: []string{"1", "10"}, rest: "1 10"},
		{line: "", err: true},
		{line: "NO", err: true},
		{line: "STATS", err: true},
		{line: "ST1T", err: true},
		{line: " STAT", err: true},
		{line: "USER a\x00b", err: true},
		{line: "USER a\tb", err: true},
	}
	for _, tt := range tests {
		c, err := ParseCommand(tt.line)
		if (err != nil) != tt.err {
			t.Errorf("ParseCommand(%q) error = %v, want error %v", tt.line, err, tt.err)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrBadCommand) {
				t.Errorf("ParseCommand(%q) error %v is not ErrBadCommand", tt.line, err)
			}
			continue
		}
		if c.Verb != tt.verb || strings.Join(c.Args, "|") != strings.Join(tt.args, "|") || c.Rest != tt.rest {
			t.Errorf("ParseCommand(%q) = %+v", tt.line, c)
		}
	}
}

func TestReadLine(t *testing.T) {
	tests := []struct {
		in    string
		lines []string
		err   error
	}{
		{in: "A\r\nB\nC\r\n", lines: []string{"A", "B", "C"}, err: io.EOF},
		{in: "partial", err: io.ErrUnexpectedEOF},
		{in: strings.Repeat("x", MaxLine) + "\r\n", lines: []string{strings.Repeat("x", MaxLine)}, err: io.EOF},
		{in: strings.Repeat("x", MaxLine+1) + "\r\n", err: ErrLineTooLong},
		{in: strings.Repeat("x", 100000), err: ErrLineTooLong},
	}
	for _, tt := range tests {
		br := bufio.NewReaderSize(strings.NewReader(tt.in), 16)
		var got []string
		var err error
		for {
			var l string
			if l, err = ReadLine(br); err != nil {
				break
			}
			got = append(got, l)
		}
		if !errors.Is(err, tt.err) || strings.Join(got, "|") != strings.Join(tt.lines, "|") {
			t.Errorf("ReadLine(%.20q...) = %q, %v; want %q, %v", tt.in, got, err, tt.lines, tt.err)
		}
	}
}

func TestCopyCRLF(t *testing.T) {
	tests := []struct {
		in    string
		stuff bool
		lines int
		want  string
	}{
		{"a\nb\n", true, -1, "a\r\nb\r\n"},
		{"a\r\nb\r\n", true, -1, "a\r\nb\r\n"},
		{"a\nb", true, -1, "a\r\nb\r\n"},
		{"", true, -1, ""},
		{"\n", true, -1, "\r\n"},
		{".\n..x\n.", true, -1, "..\r\n...x\r\n..\r\n"},
		{".\n", false, -1, ".\r\n"},
		{"a\rb\n", true, -1, "a\rb\r\n"},
		{"a\r", true, -1, "a\r\n"},
		{"H: 1\n\nb1\nb2\nb3\n", true, 2, "H: 1\r\n\r\nb1\r\nb2\r\n"},
		{"H: 1\n\nb1\n", true, 0, "H: 1\r\n\r\n"},
		{"H: 1\nH: 2\n", true, 0, "H: 1\r\nH: 2\r\n"},
		{"H\n\n.b\n", true, 5, "H\r\n\r\n..b\r\n"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		n, err := copyCRLF(&out, strings.NewReader(tt.in), tt.stuff, tt.lines)
		if err != nil || out.String() != tt.want || n != int64(out.Len()) {
			t.Errorf("copyCRLF(%q, %v, %d) = %q, %d, %v; want %q", tt.in, tt.stuff, tt.lines, out.String(), n, err, tt.want)
		}
	}
}

// TestCopyCRLFLongLines crosses the 32 KiB read buffer with a CR right at
// the boundary: the result must not depend on where the reads fell.
func TestCopyCRLFLongLines(t *testing.T) {
	for _, k := range []int{32<<10 - 1, 32 << 10, 32<<10 + 1} {
		in := "." + strings.Repeat("x", k-2) + "\r\n.y\r"
		var out bytes.Buffer
		copyCRLF(&out, strings.NewReader(in), true, -1)
		want := ".." + strings.Repeat("x", k-2) + "\r\n..y\r\n"
		if out.String() != want {
			t.Errorf("k=%d: long line mangled (len %d, want %d)", k, out.Len(), len(want))
		}
	}
}

// unstuff is what a client does with a RETR body (RFC 1939 section 3).
func unstuff(b []byte) []byte {
	var out []byte
	for _, l := range bytes.SplitAfter(b, []byte("\r\n")) {
		if len(l) > 0 && l[0] == '.' {
			l = l[1:]
		}
		out = append(out, l...)
	}
	return out
}

// FuzzCopyCRLF checks the invariants that make sizes honest: the announced
// size (no stuffing) equals the bytes a client gets back after unstuffing,
// every line ends CRLF, no line starts with a lone "." terminator, and TOP
// output is a prefix of RETR output.
func FuzzCopyCRLF(f *testing.F) {
	for _, s := range []string{msgA, msgB, msgC, ".\n", "a\r", "\r\n\r\n.", "x\ry\n\n.\r\n"} {
		f.Add(s, 1)
	}
	f.Fuzz(func(t *testing.T, in string, lines int) {
		var plain, stuffed, top bytes.Buffer
		size, _ := copyCRLF(&plain, strings.NewReader(in), false, -1)
		n, _ := copyCRLF(&stuffed, strings.NewReader(in), true, -1)
		if size != int64(plain.Len()) || n != int64(stuffed.Len()) {
			t.Fatalf("counts %d/%d do not match output %d/%d", size, n, plain.Len(), stuffed.Len())
		}
		if !bytes.Equal(unstuff(stuffed.Bytes()), plain.Bytes()) {
			t.Fatalf("unstuffed RETR differs from sized text")
		}
		out := stuffed.Bytes()
		if len(out) > 0 && !bytes.HasSuffix(out, []byte("\r\n")) {
			t.Fatalf("output does not end in CRLF: %q", out)
		}
		if bytes.Count(out, []byte("\n")) != bytes.Count(out, []byte("\r\n")) {
			t.Fatalf("bare LF in output %q", out)
		}
		if bytes.HasPrefix(out, []byte(".\r\n")) || bytes.Contains(out, []byte("\r\n.\r\n")) {
			t.Fatalf("unstuffed terminator in output %q", out)
		}
		copyCRLF(&top, strings.NewReader(in), true, lines%50)
		if !bytes.HasPrefix(out, top.Bytes()) {
			t.Fatalf("TOP output is not a prefix of RETR output")
		}
	})
}

// FuzzParseCommand: a parsed command has a 3-4 letter upper-case verb,
// arguments without spaces or control characters, and rebuilding the line
// from its parts gives back the input (modulo keyword case).
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"STAT", "user demo", "PASS a b ", "APOP u 0123456789abcdef0123456789abcdef", "TOP 1 2", "AUTH PLAIN AGEAYg==", "\x00", "ÿÿÿÿ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c, err := ParseCommand(line)
		if err != nil {
			return
		}
		if len(c.Verb) < 3 || len(c.Verb) > 4 || strings.ToUpper(c.Verb) != c.Verb {
			t.Fatalf("bad verb %q", c.Verb)
		}
		for _, a := range c.Args {
			if a == "" || strings.ContainsAny(a, " \t\r\n\x00") {
				t.Fatalf("bad argument %q", a)
			}
		}
		rebuilt := c.Verb
		if len(line) > len(c.Verb) {
			rebuilt += " " + c.Rest
		}
		if !strings.EqualFold(rebuilt, line) {
			t.Fatalf("rebuilt %q from %q", rebuilt, line)
		}
		if strings.Join(strings.Fields(c.Rest), " ") != strings.Join(c.Args, " ") {
			t.Fatalf("args %q do not match rest %q", c.Args, c.Rest)
		}
		if n, ok := msgNumber(c.Rest); ok && (n < 1 || n > 999999999) {
			t.Fatalf("message number %d out of range", n)
		}
	})
}
