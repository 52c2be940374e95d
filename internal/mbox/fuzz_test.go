package mbox

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

// quoteByLines is the reference mboxrd quoting, line by line as qmail's
// mailfile() with gfrom() does it.
func quoteByLines(body []byte) []byte {
	var out bytes.Buffer
	rest := body
	for len(rest) > 0 {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line = rest[:i+1]
		}
		rest = rest[len(line):]
		if bytes.HasPrefix(bytes.TrimLeft(line, ">"), []byte("From ")) {
			out.WriteByte('>')
		}
		out.Write(line)
		if line[len(line)-1] != '\n' {
			out.WriteByte('\n')
		}
	}
	out.WriteByte('\n')
	return out.Bytes()
}

// FuzzQuote checks the streaming quoter against the line-by-line
// reference however the input is split into writes, and that a reader
// recovers the message from the result.
func FuzzQuote(f *testing.F) {
	f.Add([]byte("From x\n>From y\nFro"), 3)
	f.Add([]byte(">>>>From \nFrom"), 1)
	f.Add([]byte("\n\nFrom \n"), 2)
	f.Add([]byte(""), 1)
	f.Add([]byte("F"), 1)
	f.Fuzz(func(t *testing.T, body []byte, split int) {
		var buf bytes.Buffer
		w := bufio.NewWriter(&buf)
		q := &fromQuoter{w: w}
		if split <= 0 {
			split = 1
		}
		for p := body; len(p) > 0; {
			n := min(split, len(p))
			q.Write(p[:n])
			p = p[n:]
		}
		q.Close()
		w.Flush()
		want := quoteByLines(body)
		if !bytes.Equal(buf.Bytes(), want) {
			t.Fatalf("quoted %q\nwant %q", buf.Bytes(), want)
		}
		// No line of the message may look like the start of a new one.
		for _, l := range strings.SplitAfter(buf.String(), "\n") {
			if strings.HasPrefix(l, "From ") {
				t.Fatalf("unquoted From line %q", l)
			}
		}
		// A reader gets the message back, with a final newline added.
		mbox := "From s Tue Mar 05 09:07:03 2024\n" + buf.String()
		_, msgs := readMboxrd(t, []byte(mbox))
		orig := string(body)
		if orig != "" && !strings.HasSuffix(orig, "\n") {
			orig += "\n"
		}
		if len(msgs) != 1 || msgs[0] != orig {
			t.Fatalf("reader got %q, want [%q]", msgs, orig)
		}
	})
}
