package remote

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// wireForm is an independent statement of the conversion rules: line ends
// CRLF, CR LF, LF and lone CR each end one line; a partial last line is
// ended; each line starting with '.' gets another.
func wireForm(in string) string {
	s := strings.ReplaceAll(in, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	if s == "" {
		return ""
	}
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	var b strings.Builder
	for _, line := range strings.SplitAfter(s, "\n") {
		if line == "" {
			continue
		}
		if line[0] == '.' {
			b.WriteByte('.')
		}
		b.WriteString(strings.TrimSuffix(line, "\n"))
		b.WriteString("\r\n")
	}
	return b.String()
}

func TestStuffer(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"a\nb\n", "a\r\nb\r\n"},
		{"no final newline", "no final newline\r\n"},
		{".\n", "..\r\n"},
		{".leading dot\n..two\nmid.dle\n", "..leading dot\r\n...two\r\nmid.dle\r\n"},
		{"crlf\r\nkept\r\n", "crlf\r\nkept\r\n"},
		{"lone\rcr\r", "lone\r\ncr\r\n"},
		{"cr then dot\r.x\n", "cr then dot\r\n..x\r\n"},
		{"\r\r\n", "\r\n\r\n"},
		{"\n\n.\n", "\r\n\r\n..\r\n"},
		{"x\r", "x\r\n"},
		{"\r", "\r\n"},
	} {
		var out bytes.Buffer
		st := newStuffer(&out)
		// Byte-at-a-time writes must give the same result as one write.
		for i := 0; i < len(tc.in); i++ {
			st.Write([]byte{tc.in[i]})
		}
		st.Close()
		if out.String() != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, out.String(), tc.want)
		}
		if w := wireForm(tc.in); w != tc.want {
			t.Errorf("%q: the oracle says %q, the table %q", tc.in, w, tc.want)
		}
		m, err := scanMessage(strings.NewReader(tc.in), int64(len(tc.in)))
		if err != nil {
			t.Fatal(err)
		}
		dots := 0 // every wire line starting with '.' carries one stuffing dot
		for _, line := range strings.SplitAfter(tc.want, "\r\n") {
			if strings.HasPrefix(line, ".") {
				dots++
			}
		}
		if m.wireSize != int64(len(tc.want)-dots) {
			t.Errorf("%q: wire size %d, want %d", tc.in, m.wireSize, len(tc.want)-dots)
		}
	}
}

func TestScanMessage(t *testing.T) {
	for _, tc := range []struct {
		in             string
		eightBit, head bool
	}{
		{"Subject: hi\n\nbody\n", false, false},
		{"Subject: caf\xc3\xa9\n\nbody\n", true, true},
		{"Subject: hi\n\ncaf\xc3\xa9\n", true, false},
		{"Subject: hi\r\n\r\ncaf\xc3\xa9\n", true, false},
		{"\ncaf\xc3\xa9 (no header at all)\n", true, false},
		{"Subject: hi\n\xff", true, true}, // no empty line: all header
	} {
		m, err := scanMessage(strings.NewReader(tc.in), int64(len(tc.in)))
		if err != nil {
			t.Fatal(err)
		}
		if m.eightBit != tc.eightBit || m.utf8Head != tc.head {
			t.Errorf("%q: 8bit %v header %v, want %v %v", tc.in, m.eightBit, m.utf8Head, tc.eightBit, tc.head)
		}
	}
	if _, err := scanMessage(strings.NewReader("short"), 100); err == nil {
		t.Error("a message shorter than its size was accepted")
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n <= 0 {
		return 0, errors.New("peer gone")
	}
	w.n--
	return len(p), nil
}

func TestWriteToReportsWriteErrors(t *testing.T) {
	body := strings.Repeat("line\n", 20000)
	m, err := scanMessage(strings.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.writeTo(&failWriter{n: 1}); err == nil {
		t.Error("write error lost")
	}
}

// FuzzStuffer checks the wire form of arbitrary content against the oracle
// and the invariants the receiver relies on: only CRLF line ends, no line
// that is a lone ".", and the size reported for SIZE=.
func FuzzStuffer(f *testing.F) {
	for _, s := range []string{"", "a\n", ".\n", "\r", "\r\n.\r\n", "x\r\r\n.", "..\n\r.\r", "\n.\n", "\xff\x00.\n"} {
		f.Add([]byte(s), 3)
	}
	f.Fuzz(func(t *testing.T, in []byte, chunk int) {
		if chunk <= 0 || chunk > 64 {
			chunk = 7
		}
		var out bytes.Buffer
		st := newStuffer(&out)
		for i := 0; i < len(in); i += chunk {
			st.Write(in[i:min(i+chunk, len(in))])
		}
		st.Close()
		got := out.String()
		if want := wireForm(string(in)); got != want {
			t.Fatalf("%q: got %q, want %q", in, got, want)
		}
		if strings.Contains(strings.ReplaceAll(got, "\r\n", ""), "\r") || strings.Contains(strings.ReplaceAll(got, "\r\n", ""), "\n") {
			t.Fatalf("%q: bare CR or LF on the wire: %q", in, got)
		}
		if strings.HasPrefix(got, ".\r\n") || strings.Contains(got, "\r\n.\r\n") {
			t.Fatalf("%q: end-of-data marker inside the data: %q", in, got)
		}
		if len(got) > 0 && !strings.HasSuffix(got, "\r\n") {
			t.Fatalf("%q: no final CRLF", in)
		}
		if st.wireSize() != int64(len(got))-st.dots {
			t.Fatalf("size %d for %d bytes with %d stuffing dots", st.wireSize(), len(got), st.dots)
		}
	})
}
