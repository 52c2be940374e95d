package smtp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// fuzzReader builds the reader for a fuzz mode: default buffer, 16-byte
// buffer, or one byte per read.
func fuzzReader(in []byte, mode uint8) *bufio.Reader {
	switch mode % 3 {
	case 1:
		return bufio.NewReaderSize(bytes.NewReader(in), 16)
	case 2:
		return bufio.NewReaderSize(iotest.OneByteReader(bytes.NewReader(in)), 16)
	}
	return bufio.NewReader(bytes.NewReader(in))
}

// dataModel is ReadData written the slow, obvious way: cut the input at
// the first terminator, split it into CRLF lines, unstuff each line.
type dataModel struct {
	end   int // bytes up to and including the terminator
	out   []byte
	bare  bool
	hops  int
	found bool
}

func modelReadData(in []byte) dataModel {
	var m dataModel
	var body []byte
	if bytes.HasPrefix(in, []byte(".\r\n")) {
		m.end, m.found = 3, true
	} else if i := bytes.Index(in, []byte("\r\n.\r\n")); i >= 0 {
		m.end, m.found = i+5, true
		body = in[:i+2]
	} else {
		return m
	}
	lines := strings.Split(string(body), "\r\n")
	lines = lines[:len(lines)-1] // body ends with CRLF
	inHeader := true
	for _, l := range lines {
		l = strings.TrimPrefix(l, ".")
		if strings.ContainsAny(l, "\r\n") {
			m.bare = true
		}
		if inHeader {
			if l == "" {
				inHeader = false
			} else if modelIsHop(l) {
				m.hops++
			}
		}
		m.out = append(m.out, l...)
		m.out = append(m.out, '\n')
	}
	return m
}

func modelIsHop(line string) bool {
	lower := []byte(line)
	for i, c := range lower {
		if 'A' <= c && c <= 'Z' {
			lower[i] = c + 32
		}
	}
	for _, name := range []string{"received", "delivered-to"} {
		if rest, ok := strings.CutPrefix(string(lower), name); ok {
			return strings.HasPrefix(strings.TrimLeft(rest, " \t"), ":")
		}
	}
	return false
}

// encodeData is the sending side of RFC 5321 4.5.2: LF to CRLF, a leading
// dot doubled, then the terminator.
func encodeData(msg []byte) []byte {
	var b []byte
	for len(msg) > 0 {
		line := msg
		if i := bytes.IndexByte(msg, '\n'); i >= 0 {
			line = msg[:i]
			msg = msg[i+1:]
		} else {
			msg = nil
		}
		if len(line) > 0 && line[0] == '.' {
			b = append(b, '.')
		}
		b = append(b, line...)
		b = append(b, '\r', '\n')
	}
	return append(b, ".\r\n"...)
}

func FuzzReadData(f *testing.F) {
	for _, seed := range []string{
		"", "a", "a\r\nb", ".", "..a\r\n...", "\r\n", "x\n.\ny", "x\r\n.\ny", "x\n.\r\ny",
		"a\rb", "\r\r", ".\r.", "Received: a\r\n b\r\nDelivered-To: x\r\n\r\nReceived: y",
		"received \t:x\r\nReceived-SPF: y", ".Received: a", "\r\nReceived: a",
	} {
		f.Add([]byte(seed), uint16(0), uint8(0))
		f.Add([]byte(seed), uint16(3), uint8(2))
	}
	f.Fuzz(func(t *testing.T, data []byte, limit uint16, mode uint8) {
		in := append(append(bytes.Clone(data), "\r\n.\r\n"...), "TAIL"...)
		want := modelReadData(in)
		if !want.found {
			t.Fatal("model found no terminator")
		}
		br := fuzzReader(in, mode)
		var out bytes.Buffer
		stats, err := ReadData(br, &out, int64(limit))
		if err != nil {
			t.Fatalf("ReadData: %v", err)
		}
		if rest, _ := io.ReadAll(br); !bytes.Equal(rest, in[want.end:]) {
			t.Fatalf("stopped before %q, want before %q", rest, in[want.end:])
		}
		if stats.BareCRLF != want.bare || stats.Hops != want.hops || stats.Bytes != int64(len(want.out)) {
			t.Fatalf("stats %+v, model bare=%v hops=%d bytes=%d", stats, want.bare, want.hops, len(want.out))
		}
		if tooBig := limit > 0 && len(want.out) > int(limit); stats.TooBig != tooBig {
			t.Fatalf("TooBig %v with %d bytes and limit %d", stats.TooBig, len(want.out), limit)
		}
		if stats.WriteErr != nil {
			t.Fatalf("WriteErr %v", stats.WriteErr)
		}
		if bytes.IndexByte(out.Bytes(), '\r') >= 0 {
			t.Fatalf("output %q contains CR", out.Bytes())
		}
		stored := want.out
		if stats.TooBig {
			stored = stored[:limit]
		}
		if stats.BareCRLF {
			if !bytes.HasPrefix(stored, out.Bytes()) {
				t.Fatalf("output %q is no prefix of %q", out.Bytes(), stored)
			}
			return
		}
		if !bytes.Equal(out.Bytes(), stored) {
			t.Fatalf("output %q, model %q", out.Bytes(), stored)
		}
		if stats.TooBig {
			return
		}
		// Round trip: what we store, sent again, reads back the same.
		again := append(encodeData(out.Bytes()), "NEXT"...)
		br = fuzzReader(again, mode+1)
		var out2 bytes.Buffer
		stats2, err := ReadData(br, &out2, 0)
		if err != nil || !bytes.Equal(out2.Bytes(), out.Bytes()) || stats2 != stats {
			t.Fatalf("round trip: %q %+v %v, want %q %+v", out2.Bytes(), stats2, err, out.Bytes(), stats)
		}
		if rest, _ := io.ReadAll(br); string(rest) != "NEXT" {
			t.Fatalf("round trip left %q", rest)
		}
	})
}

func FuzzReadLine(f *testing.F) {
	for _, seed := range []string{
		"HELO x\r\n", "a\r\r\nb\n", "\r\n\n", "12345678901234567890\r\nNOOP\r\n", "a\x00b\r\nc\n",
		"QUIT", "QUIT\r", "",
	} {
		f.Add([]byte(seed), uint16(10), uint8(0))
		f.Add([]byte(seed), uint16(4), uint8(2))
	}
	f.Fuzz(func(t *testing.T, data []byte, max uint16, mode uint8) {
		br := fuzzReader(data, mode)
		rest := data
		for {
			line, err := ReadLine(br, int(max))
			i := bytes.IndexByte(rest, '\n')
			if i < 0 {
				want := io.EOF
				if len(rest) > 0 {
					want = io.ErrUnexpectedEOF
				}
				if err != want || line != nil {
					t.Fatalf("at %q: got %q, %v; want %v", rest, line, err, want)
				}
				return
			}
			wantLine := bytes.TrimSuffix(rest[:i], []byte("\r"))
			var wantErr error
			switch {
			case len(wantLine) > int(max):
				wantErr = ErrLineTooLong
			case bytes.IndexByte(wantLine, 0) >= 0:
				wantErr = ErrBadChar
			}
			if !errors.Is(err, wantErr) || (err == nil && !bytes.Equal(line, wantLine)) || (err != nil && line != nil) {
				t.Fatalf("at %q: got %q, %v; want %q, %v", rest, line, err, wantLine, wantErr)
			}
			rest = rest[i+1:]
		}
	})
}

func FuzzParseCommand(f *testing.F) {
	for _, seed := range []string{
		"MAIL FROM:<a@b>", "rcpt  to:<x> ", "QUIT", "", " ", "  x", "ehlo\tx", "m\xc3\xa9l x", "DATA ",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		verb, arg := ParseCommand(line)
		name, rest, hasSpace := bytes.Cut(line, []byte(" "))
		if strings.Contains(verb, " ") || strings.ContainsAny(verb, "abcdefghijklmnopqrstuvwxyz") {
			t.Fatalf("verb %q has a space or lower case", verb)
		}
		if len(verb) != len(name) {
			t.Fatalf("verb %q from name %q", verb, name)
		}
		if after, ok := CutPrefixFold(string(name), verb); !ok || after != "" {
			t.Fatalf("verb %q does not fold to name %q", verb, name)
		}
		if want := string(bytes.TrimLeft(rest, " ")); arg != want || (!hasSpace && arg != "") {
			t.Fatalf("arg %q, want %q", arg, want)
		}
		// The parts put together again parse the same.
		v2, a2 := ParseCommand([]byte(verb + " " + arg))
		if v2 != verb || a2 != arg {
			t.Fatalf("reparse %q %q, want %q %q", v2, a2, verb, arg)
		}
	})
}
