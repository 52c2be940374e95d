package smtp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadData(t *testing.T) {
	tests := []struct {
		name  string
		in    string // wire bytes after the 354 reply
		limit int64
		out   string // with BareCRLF: the output must be a prefix of it
		stats DataStats
		rest  string // left in the reader
	}{
		{name: "simple", in: "a\r\nb\r\n.\r\nQUIT\r\n",
			out: "a\nb\n", stats: DataStats{Bytes: 4}, rest: "QUIT\r\n"},
		{name: "empty message", in: ".\r\nQUIT\r\n",
			out: "", stats: DataStats{}, rest: "QUIT\r\n"},
		{name: "empty line only", in: "\r\n.\r\n",
			out: "\n", stats: DataStats{Bytes: 1}},
		{name: "dot-stuffed line", in: "..a\r\n...\r\n..\r\n.\r\n",
			out: ".a\n..\n.\n", stats: DataStats{Bytes: 8}},
		{name: "superfluous dot removed", in: ".x\r\n. \r\n.\r\n",
			out: "x\n \n", stats: DataStats{Bytes: 4}},
		{name: "dot inside line kept", in: "a.\r\na\r\n.b\r\n.\r\n",
			out: "a.\na\nb\n", stats: DataStats{Bytes: 7}},
		{name: "pipelined commands stay", in: "x\r\n.\r\nMAIL FROM:<a>\r\nRCPT TO:<b>\r\n",
			out: "x\n", stats: DataStats{Bytes: 2}, rest: "MAIL FROM:<a>\r\nRCPT TO:<b>\r\n"},
		{name: "terminator after empty line", in: "a\r\n\r\n.\r\n",
			out: "a\n\n", stats: DataStats{Bytes: 3}},

		// Line ends that are not CRLF never end the data (SMTP smuggling).
		{name: "LF dot LF does not end", in: "a\n.\nb\r\n.\r\nQUIT\r\n",
			out: "a", stats: DataStats{Bytes: 6, BareCRLF: true}, rest: "QUIT\r\n"},
		{name: "CRLF dot LF does not end", in: "a\r\n.\nb\r\n.\r\nQUIT\r\n",
			out: "a\n", stats: DataStats{Bytes: 5, BareCRLF: true}, rest: "QUIT\r\n"},
		{name: "LF dot CRLF does not end", in: "a\n.\r\nb\r\n.\r\nQUIT\r\n",
			out: "a", stats: DataStats{Bytes: 6, BareCRLF: true}, rest: "QUIT\r\n"},
		{name: "CR dot CR does not end", in: "a\r.\rb\r\n.\r\nQUIT\r\n",
			out: "a", stats: DataStats{Bytes: 6, BareCRLF: true}, rest: "QUIT\r\n"},
		{name: "first line dot LF does not end", in: ".\n.\r\n.\r\nQUIT\r\n",
			stats: DataStats{Bytes: 3, BareCRLF: true}, rest: "QUIT\r\n"},
		{name: "first line dot CR does not end", in: ".\r.\r\n.\r\nQUIT\r\n",
			stats: DataStats{Bytes: 3, BareCRLF: true}, rest: "QUIT\r\n"},
		{name: "bare CR in line", in: "ok\r\na\rb\r\n.\r\nQUIT\r\n",
			out: "ok\na", stats: DataStats{Bytes: 7, BareCRLF: true}, rest: "QUIT\r\n"},
		{name: "bare LF in line", in: "ok\r\na\nb\r\n.\r\nQUIT\r\n",
			out: "ok\na", stats: DataStats{Bytes: 7, BareCRLF: true}, rest: "QUIT\r\n"},
		{name: "CR CR LF then end", in: "\r\r\n.\r\nQUIT\r\n",
			stats: DataStats{Bytes: 2, BareCRLF: true}, rest: "QUIT\r\n"},
		{name: "bare LF at line start", in: "a\r\n\nb\r\n.\r\n",
			out: "a\n", stats: DataStats{Bytes: 5, BareCRLF: true}},

		// Size limit: Bytes > limit is too big, the output stops at limit.
		{name: "limit exactly at size", in: "abc\r\nde\r\n.\r\n", limit: 7,
			out: "abc\nde\n", stats: DataStats{Bytes: 7}},
		{name: "limit one below size", in: "abc\r\nde\r\n.\r\nQUIT\r\n", limit: 6,
			out: "abc\nde", stats: DataStats{Bytes: 7, TooBig: true}, rest: "QUIT\r\n"},
		{name: "limit inside first line", in: "abcdef\r\nxyz\r\n.\r\nQUIT\r\n", limit: 2,
			out: "ab", stats: DataStats{Bytes: 11, TooBig: true}, rest: "QUIT\r\n"},
		{name: "limit at a line end", in: "abc\r\nde\r\n.\r\n", limit: 4,
			out: "abc\n", stats: DataStats{Bytes: 7, TooBig: true}},
		{name: "unstuffed dots do not count", in: "..\r\n..\r\n.\r\n", limit: 4,
			out: ".\n.\n", stats: DataStats{Bytes: 4}},
		{name: "too big and bare", in: "abcd\r\nx\ny\r\n.\r\n", limit: 3,
			out: "abc", stats: DataStats{Bytes: 9, TooBig: true, BareCRLF: true}},

		// Hop counting: header section only, field name then ':'.
		{name: "hops", in: "Received: a\r\n b\r\n\tReceived: c\r\nDelivered-To: x\r\n" +
			"received :y\r\nRECEIVED\t:z\r\nDELIVERED-TO:w\r\nReceived-SPF: pass\r\n" +
			"X-Received: q\r\nReceivedX: r\r\nReceived\r\nReceived by x: y\r\nDelivered-To\t x\r\n" +
			"Subject: s\r\n\r\n" +
			"Received: body\r\n.\r\n",
			out: "Received: a\n b\n\tReceived: c\nDelivered-To: x\n" +
				"received :y\nRECEIVED\t:z\nDELIVERED-TO:w\nReceived-SPF: pass\n" +
				"X-Received: q\nReceivedX: r\nReceived\nReceived by x: y\nDelivered-To\t x\n" +
				"Subject: s\n\n" +
				"Received: body\n",
			stats: DataStats{Bytes: 198, Hops: 5}},
		{name: "hops without body", in: "Received: a\r\nReceived: b\r\n.\r\n",
			out: "Received: a\nReceived: b\n", stats: DataStats{Bytes: 24, Hops: 2}},
		{name: "no hops after empty first line", in: "\r\nReceived: a\r\n.\r\n",
			out: "\nReceived: a\n", stats: DataStats{Bytes: 13}},
		{name: "hop behind superfluous dot", in: ".Received: a\r\n..Received: b\r\n.\r\n",
			out: "Received: a\n.Received: b\n", stats: DataStats{Bytes: 25, Hops: 1}},
		{name: "hops still counted past the limit", in: "Received: a\r\nReceived: b\r\n.\r\n", limit: 5,
			out: "Recei", stats: DataStats{Bytes: 24, Hops: 2, TooBig: true}},
	}
	for _, tt := range tests {
		for vname, newReader := range readerVariants(tt.in) {
			t.Run(tt.name+"/"+vname, func(t *testing.T) {
				br := newReader()
				var out bytes.Buffer
				stats, err := ReadData(br, &out, tt.limit)
				if err != nil {
					t.Fatalf("ReadData: %v", err)
				}
				if tt.stats.BareCRLF && !strings.HasPrefix(tt.out, out.String()) {
					t.Errorf("output %q, want a prefix of %q", out.String(), tt.out)
				}
				if !tt.stats.BareCRLF && out.String() != tt.out {
					t.Errorf("output %q, want %q", out.String(), tt.out)
				}
				if stats != tt.stats {
					t.Errorf("stats %+v, want %+v", stats, tt.stats)
				}
				if rest, _ := io.ReadAll(br); string(rest) != tt.rest {
					t.Errorf("left %q, want %q", rest, tt.rest)
				}
			})
		}
	}
}

// TestReadDataThenCommand is the session's view: after a message with a
// bare line end that looked like a terminator, the next command line is
// read intact.
func TestReadDataThenCommand(t *testing.T) {
	for _, smuggle := range []string{"\n.\n", "\r\n.\n", "\n.\r\n", "\r.\r", "\r\n.\r"} {
		in := "Subject: x\r\n\r\nhello" + smuggle + "MAIL FROM:<evil@x>\r\nRCPT TO:<v@y>\r\nDATA\r\n" +
			"bye\r\n.\r\nQUIT\r\n"
		for vname, newReader := range readerVariants(in) {
			t.Run(fmt.Sprintf("%q/%s", smuggle, vname), func(t *testing.T) {
				br := newReader()
				stats, err := ReadData(br, io.Discard, 0)
				if err != nil || !stats.BareCRLF {
					t.Fatalf("got %+v, %v; want BareCRLF", stats, err)
				}
				line, err := ReadLine(br, 512)
				if err != nil || string(line) != "QUIT" {
					t.Fatalf("next command %q, %v; want QUIT", line, err)
				}
			})
		}
	}
}

func TestReadDataReadErrors(t *testing.T) {
	boom := errors.New("i/o timeout")
	tests := []struct {
		name string
		in   io.Reader
		want error
		out  string
	}{
		{"EOF mid-line", strings.NewReader("a\r\nb"), io.ErrUnexpectedEOF, "a\nb"},
		{"EOF after CRLF dot", strings.NewReader("a\r\n."), io.ErrUnexpectedEOF, "a\n"},
		{"EOF after CRLF dot CR", strings.NewReader("a\r\n.\r"), io.ErrUnexpectedEOF, "a\n"},
		{"EOF at once", strings.NewReader(""), io.ErrUnexpectedEOF, ""},
		{"read error", io.MultiReader(strings.NewReader("a\r\n"), iotest.ErrReader(boom)), boom, "a\n"},
		{"timeout", iotest.TimeoutReader(strings.NewReader("abc\r\n")), iotest.ErrTimeout, "abc\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			_, err := ReadData(bufio.NewReaderSize(tt.in, 16), &out, 0)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
			if out.String() != tt.out {
				t.Errorf("output %q, want %q", out.String(), tt.out)
			}
		})
	}
}

type failWriter struct {
	err   error
	short bool
	calls int
}

func (w *failWriter) Write(p []byte) (int, error) {
	w.calls++
	if w.short {
		return len(p) / 2, nil
	}
	return 0, w.err
}

func TestReadDataWriteError(t *testing.T) {
	body := strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef\r\n", 4000)
	for _, short := range []bool{false, true} {
		t.Run(fmt.Sprintf("short=%v", short), func(t *testing.T) {
			boom := errors.New("disk full")
			w := &failWriter{err: boom, short: short}
			br := bufio.NewReader(strings.NewReader(body + ".\r\nQUIT\r\n"))
			stats, err := ReadData(br, w, 0)
			if err != nil {
				t.Fatalf("ReadData: %v", err)
			}
			want := boom
			if short {
				want = io.ErrShortWrite
			}
			if !errors.Is(stats.WriteErr, want) {
				t.Errorf("WriteErr %v, want %v", stats.WriteErr, want)
			}
			if w.calls != 1 {
				t.Errorf("%d writes after the first error", w.calls-1)
			}
			if stats.Bytes != int64(len(body)-4000) {
				t.Errorf("Bytes %d, want %d", stats.Bytes, len(body)-4000)
			}
			if rest, _ := io.ReadAll(br); string(rest) != "QUIT\r\n" {
				t.Errorf("left %q", rest)
			}
		})
	}
}

// TestReadDataLongLine feeds a 16 MB line through a 4 KB buffer: it is
// stored whole, and memory stays bounded.
func TestReadDataLongLine(t *testing.T) {
	const size = 16 << 20
	in := io.MultiReader(&repeatReader{b: 'x', n: size}, strings.NewReader("\r\n.\r\nQUIT\r\n"))
	br := bufio.NewReader(in)
	var count countWriter
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	stats, err := ReadData(br, &count, 0)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Bytes != size+1 || count.n != size+1 || count.bad {
		t.Fatalf("Bytes %d, written %d (bad=%v), want %d", stats.Bytes, count.n, count.bad, size+1)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Fatalf("allocated %d bytes for one long line", grew)
	}
	if line, err := ReadLine(br, 512); err != nil || string(line) != "QUIT" {
		t.Fatalf("next command %q, %v", line, err)
	}
}

// countWriter counts bytes and checks they are 'x' up to a final '\n'.
type countWriter struct {
	n   int
	bad bool
}

func (w *countWriter) Write(p []byte) (int, error) {
	for _, c := range p {
		if c != 'x' && c != '\n' {
			w.bad = true
		}
	}
	w.n += len(p)
	return len(p), nil
}

// benchMessage builds a message of about size bytes in wire form:
// a header, then text lines of varying length, some starting with a dot.
func benchMessage(size int) []byte {
	var b bytes.Buffer
	b.WriteString("Received: from mx.example.org (mx.example.org [192.0.2.1])\r\n\tby mail.example.net with SMTP; Mon, 1 Jan 2024 00:00:00 +0000\r\n")
	b.WriteString("From: Alice <alice@example.org>\r\nTo: Bob <bob@example.net>\r\nSubject: benchmark\r\n")
	b.WriteString("Message-ID: <1234567890@example.org>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\n")
	words := strings.Fields("the quick brown fox jumps over the lazy dog while qmail keeps the queue safe and small")
	for i := 0; b.Len() < size; i++ {
		if i%17 == 0 {
			b.WriteString("..")
		}
		n := 20 + i*7%58
		for j := 0; n > 0; j++ {
			w := words[(i+j)%len(words)]
			b.WriteString(w)
			b.WriteByte(' ')
			n -= len(w) + 1
		}
		b.WriteString("\r\n")
	}
	b.WriteString(".\r\n")
	return b.Bytes()
}

func BenchmarkReadData(b *testing.B) {
	for _, size := range []int{4 << 10, 100 << 10} {
		for _, bufSize := range []int{4 << 10, 64 << 10} {
			msg := benchMessage(size)
			b.Run(fmt.Sprintf("msg=%dKB/buf=%dKB", size>>10, bufSize>>10), func(b *testing.B) {
				r := bytes.NewReader(msg)
				br := bufio.NewReaderSize(r, bufSize)
				b.SetBytes(int64(len(msg)))
				b.ReportAllocs()
				for b.Loop() {
					r.Reset(msg)
					br.Reset(r)
					if _, err := ReadData(br, io.Discard, 0); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
