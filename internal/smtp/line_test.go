package smtp

import (
	"bufio"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

// readerVariants returns readers over in that split it differently: the
// default buffer, a 16-byte buffer (lines span many fills) and one byte
// per read (every state boundary falls between two chunks).
func readerVariants(in string) map[string]func() *bufio.Reader {
	return map[string]func() *bufio.Reader{
		"default": func() *bufio.Reader { return bufio.NewReader(strings.NewReader(in)) },
		"buf16":   func() *bufio.Reader { return bufio.NewReaderSize(strings.NewReader(in), 16) },
		"onebyte": func() *bufio.Reader {
			return bufio.NewReaderSize(iotest.OneByteReader(strings.NewReader(in)), 16)
		},
	}
}

type lineResult struct {
	line string
	err  error
}

func TestReadLine(t *testing.T) {
	long := strings.Repeat("x", 1000)
	tests := []struct {
		name string
		in   string
		max  int
		want []lineResult // then io.EOF
	}{
		{"CRLF", "HELO x\r\n", 512, []lineResult{{"HELO x", nil}}},
		{"LF", "HELO x\n", 512, []lineResult{{"HELO x", nil}}},
		{"two lines", "NOOP\r\nQUIT\n", 512, []lineResult{{"NOOP", nil}, {"QUIT", nil}}},
		{"empty line", "\r\n\n", 512, []lineResult{{"", nil}, {"", nil}}},
		{"only one CR stripped", "a\r\r\n", 512, []lineResult{{"a\r", nil}}},
		{"CR inside kept", "a\rb\n", 512, []lineResult{{"a\rb", nil}}},
		{"exactly max with CRLF", "12345\r\n", 5, []lineResult{{"12345", nil}}},
		{"exactly max with LF", "12345\n", 5, []lineResult{{"12345", nil}}},
		{"one past max", "123456\r\nNOOP\r\n", 5, []lineResult{{"", ErrLineTooLong}, {"NOOP", nil}}},
		{"extra CR counts", "12345\r\r\nNOOP\n", 5, []lineResult{{"", ErrLineTooLong}, {"NOOP", nil}}},
		{"far too long resyncs", long + "\r\nQUIT\r\n", 100, []lineResult{{"", ErrLineTooLong}, {"QUIT", nil}}},
		{"longer than buffer but within max", long + "\r\n", 1000, []lineResult{{long, nil}}},
		{"max zero", "\r\na\r\n", 0, []lineResult{{"", nil}, {"", ErrLineTooLong}}},
		{"NUL", "a\x00b\r\nNOOP\r\n", 512, []lineResult{{"", ErrBadChar}, {"NOOP", nil}}},
		{"NUL in long line", "\x00" + long + "\r\nNOOP\r\n", 1001, []lineResult{{"", ErrBadChar}, {"NOOP", nil}}},
		{"NUL and too long", "\x00" + long + "\r\nNOOP\r\n", 10, []lineResult{{"", ErrLineTooLong}, {"NOOP", nil}}},
		{"EOF mid-line", "NOOP\r\nQUI", 512, []lineResult{{"NOOP", nil}, {"", io.ErrUnexpectedEOF}}},
		{"EOF after CR", "QUIT\r", 512, []lineResult{{"", io.ErrUnexpectedEOF}}},
		{"EOF in too long line", long, 10, []lineResult{{"", io.ErrUnexpectedEOF}}},
		{"no input", "", 512, nil},
	}
	for _, tt := range tests {
		for vname, newReader := range readerVariants(tt.in) {
			t.Run(tt.name+"/"+vname, func(t *testing.T) {
				br := newReader()
				for i, want := range tt.want {
					line, err := ReadLine(br, tt.max)
					if !errors.Is(err, want.err) || (err == nil && string(line) != want.line) {
						t.Fatalf("line %d: got %q, %v; want %q, %v", i, line, err, want.line, want.err)
					}
					if err != nil && line != nil {
						t.Fatalf("line %d: error %v with line %q", i, err, line)
					}
				}
				if want := io.ErrUnexpectedEOF; len(tt.want) > 0 && tt.want[len(tt.want)-1].err == want {
					return
				}
				if line, err := ReadLine(br, tt.max); err != io.EOF {
					t.Fatalf("at end: got %q, %v; want io.EOF", line, err)
				}
			})
		}
	}
}

func TestReadLineReturnsCopy(t *testing.T) {
	br := bufio.NewReaderSize(strings.NewReader("AAAA\r\nBBBB\r\n"), 16)
	first, err := ReadLine(br, 100)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ReadLine(br, 100); err != nil {
		t.Fatal(err)
	}
	if string(first) != "AAAA" {
		t.Fatalf("first line changed to %q after the next read", first)
	}
}

func TestReadLineReadError(t *testing.T) {
	boom := errors.New("deadline")
	br := bufio.NewReader(io.MultiReader(strings.NewReader("MAIL FR"), iotest.ErrReader(boom)))
	if _, err := ReadLine(br, 512); !errors.Is(err, boom) {
		t.Fatalf("got %v, want wrapped %v", err, boom)
	}
}

// TestReadLineBoundedMemory sends a 16 MB line: ReadLine must discard it
// without collecting it.
func TestReadLineBoundedMemory(t *testing.T) {
	const size = 16 << 20
	in := io.MultiReader(&repeatReader{b: 'x', n: size}, strings.NewReader("\r\nQUIT\r\n"))
	br := bufio.NewReader(in)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := ReadLine(br, 512); err != ErrLineTooLong {
		t.Fatalf("got %v, want ErrLineTooLong", err)
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Fatalf("allocated %d bytes for a discarded line", grew)
	}
	if line, err := ReadLine(br, 512); err != nil || string(line) != "QUIT" {
		t.Fatalf("after long line: %q, %v", line, err)
	}
}

// repeatReader yields n copies of b without holding them in memory.
type repeatReader struct {
	b byte
	n int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	p = p[:min(len(p), r.n)]
	for i := range p {
		p[i] = r.b
	}
	r.n -= len(p)
	return len(p), nil
}

func TestParseCommand(t *testing.T) {
	tests := []struct {
		line, verb, arg string
	}{
		{"MAIL FROM:<a@b>", "MAIL", "FROM:<a@b>"},
		{"mail from:<a@b>", "MAIL", "from:<a@b>"},
		{"QUIT", "QUIT", ""},
		{"quit", "QUIT", ""},
		{"StartTLS", "STARTTLS", ""},
		{"DATA ", "DATA", ""},
		{"RCPT   TO:<x>  ", "RCPT", "TO:<x>  "},
		{"ehlo\tfoo", "EHLO\tFOO", ""},
		{"helo a b", "HELO", "a b"},
		{" MAIL", "", "MAIL"},
		{"", "", ""},
		{"xyzzy123 a", "XYZZY123", "a"},
		{"verylongverb x", "VERYLONGVERB", "x"},
		{"m\xc3\xa9l x", "M\xc3\xa9L", "x"},
		{"[{`@ z", "[{`@", "z"},
	}
	for _, tt := range tests {
		verb, arg := ParseCommand([]byte(tt.line))
		if verb != tt.verb || arg != tt.arg {
			t.Errorf("ParseCommand(%q) = %q, %q; want %q, %q", tt.line, verb, arg, tt.verb, tt.arg)
		}
	}
}

func TestParseCommandKnownVerbDoesNotAllocate(t *testing.T) {
	line := []byte("data")
	allocs := testing.AllocsPerRun(100, func() {
		if verb, _ := ParseCommand(line); verb != "DATA" {
			t.Fatal(verb)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per ParseCommand(%q)", allocs, line)
	}
}

func TestCutPrefixFold(t *testing.T) {
	tests := []struct {
		s, prefix, after string
		found            bool
	}{
		{"FROM:<a>", "FROM:", "<a>", true},
		{"from:<a>", "FROM:", "<a>", true},
		{"FrOm:", "from:", "", true},
		{"anything", "", "anything", true},
		{"FRO", "FROM:", "FRO", false},
		{"TO:<x>", "FROM:", "TO:<x>", false},
		{"[ROM:", "{rom:", "[ROM:", false},
		{"\xc3\xa9", "\xc3\x89", "\xc3\xa9", false},
	}
	for _, tt := range tests {
		after, found := CutPrefixFold(tt.s, tt.prefix)
		if after != tt.after || found != tt.found {
			t.Errorf("CutPrefixFold(%q, %q) = %q, %v; want %q, %v",
				tt.s, tt.prefix, after, found, tt.after, tt.found)
		}
	}
}
