package inject

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func readAll(r io.Reader, dotEnds bool) ([]byte, error) {
	return io.ReadAll(NewInput(r, dotEnds))
}

func TestInput(t *testing.T) {
	long := strings.Repeat("x", 64<<10-1) // fills the buffer up to the CR
	tests := []struct {
		name    string
		in      string
		dotEnds bool
		want    string
		err     error
	}{
		{"empty", "", true, "", nil},
		{"lf kept", "a\nb\n", true, "a\nb\n", nil},
		{"crlf to lf", "a\r\nb\r\n", true, "a\nb\n", nil},
		{"final line end added", "a\nb", true, "a\nb\n", nil},
		{"lone cr kept", "a\rb\n", true, "a\rb\n", nil},
		{"one cr of crcrlf removed", "a\r\r\n", true, "a\r\n", nil},
		{"cr at eof is a line end", "a\r", true, "a\n", nil},
		{"empty last line with cr", "a\n\r", true, "a\n\n", nil},
		{"dot ends", "a\n.\nb\n", true, "a\n", nil},
		{"dot crlf ends", "a\r\n.\r\nb\r\n", true, "a\n", nil},
		{"dot at eof ends", "a\n.", true, "a\n", nil},
		{"dot alone", ".\n", true, "", nil},
		{"dot kept with -i", "a\n.\nb\n", false, "a\n.\nb\n", nil},
		{"no unstuffing", "..\n", true, "..\n", nil},
		{"dot with space is text", ". \n .\n", true, ". \n .\n", nil},
		{"dot not at line start", "a.\n", true, "a.\n", nil},
		{"nul refused", "a\nb\x00c\n", true, "", ErrNUL},
		{"nul after dot not read", "a\n.\n\x00", true, "a\n", nil},
		{"crlf split by buffer", long + "\r\nb\n", true, long + "\nb\n", nil},
		{"cr before buffer end kept", long + "\ry\n", true, long + "\ry\n", nil},
		{"cr at buffer end and eof", long + "\r", true, long + "\n", nil},
		{"dot after long line", long + "x\n.\nz\n", true, long + "x\n", nil},
	}
	for _, tt := range tests {
		for _, oneByte := range []bool{false, true} {
			var r io.Reader = strings.NewReader(tt.in)
			if oneByte {
				r = iotest.OneByteReader(r)
			}
			got, err := readAll(r, tt.dotEnds)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Errorf("%s (one byte %v): err = %v, want %v", tt.name, oneByte, err, tt.err)
				}
				continue
			}
			if err != nil || string(got) != tt.want {
				t.Errorf("%s (one byte %v): got %q, %v; want %q", tt.name, oneByte, trunc(got), err, trunc([]byte(tt.want)))
			}
		}
	}
}

func TestInputReadError(t *testing.T) {
	boom := errors.New("boom")
	_, err := readAll(io.MultiReader(strings.NewReader("a\n"), iotest.ErrReader(boom)), true)
	var re *ReadError
	if !errors.As(err, &re) || !errors.Is(err, boom) {
		t.Fatalf("err = %v, want a ReadError wrapping boom", err)
	}
}

func trunc(b []byte) string {
	if len(b) > 40 {
		return string(b[:20]) + "..." + string(b[len(b)-20:])
	}
	return string(b)
}

// referenceInput is the obvious line-by-line version of Input.
func referenceInput(in []byte, dotEnds bool) ([]byte, error) {
	var out []byte
	for len(in) > 0 {
		end := bytes.IndexByte(in, '\n') + 1
		if end == 0 {
			end = len(in)
		}
		line := in[:end]
		in = in[end:]
		if dotEnds && isDotLine(line) {
			break
		}
		if bytes.IndexByte(line, 0) >= 0 {
			return nil, ErrNUL
		}
		if bytes.HasSuffix(line, []byte("\r\n")) {
			line = append(line[:len(line)-2:len(line)-2], '\n')
		}
		out = append(out, line...)
	}
	if len(out) > 0 && out[len(out)-1] == '\r' {
		out[len(out)-1] = '\n'
	}
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	return out, nil
}

func FuzzInput(f *testing.F) {
	for _, s := range []string{"", "a\r\nb", "a\n.\nb", ".\r", "x\x00", "\r\r\n.\r\n", "a\rb\r"} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, in []byte, dotEnds bool) {
		got, err := readAll(iotest.HalfReader(bytes.NewReader(in)), dotEnds)
		want, werr := referenceInput(in, dotEnds)
		if werr != nil {
			if !errors.Is(err, ErrNUL) {
				t.Fatalf("%q: err = %v, want ErrNUL", in, err)
			}
			return
		}
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%q: got %q, %v; want %q", in, got, err, want)
		}
		if bytes.Contains(got, []byte("\r\n")) && !bytes.Contains(in, []byte("\r\r")) {
			t.Fatalf("%q: CRLF left in %q", in, got)
		}
	})
}
