package bounce

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// maxHeader caps the header returned instead of a whole message, so a
// message that is all header (or whose header never ends) cannot make the
// bounce as big as the message it replaces.
const maxHeader = 64 << 10

// attachment is what the third part returns of the original message.
type attachment struct {
	full   bool   // data is the whole message (message/rfc822); else its header
	data   []byte // the message, or its header ending in '\n' (or empty)
	tooBig bool   // header only because size > limit; else because not 8-bit clean
	size   int64
	limit  int64
}

// readOriginal reads exactly size bytes of the original (the queue knows the
// size, so a shorter read means a damaged queue file and is an error) and
// decides what to return: the whole message when limit allows it and it is
// 8-bit clean, else its header. A message over limit is not read past its
// first maxHeader bytes.
//
// The whole message is held in memory: the boundary must be checked against
// it before the first byte is written, and an io.Reader cannot be read twice.
func readOriginal(r io.Reader, size, limit int64) (*attachment, error) {
	if size < 0 {
		return nil, fmt.Errorf("bounce: original size %d is negative", size)
	}
	att := &attachment{size: size, limit: limit}
	if limit > 0 && size > limit {
		att.tooBig = true
		buf := make([]byte, min(size, maxHeader))
		if n, err := io.ReadFull(r, buf); err != nil {
			return nil, shortRead(int64(n), size, err)
		}
		att.data = headerOf(buf, int64(len(buf)) == size)
		return att, nil
	}
	var buf bytes.Buffer
	buf.Grow(int(min(size, 1<<20)))
	if n, err := io.CopyN(&buf, r, size); err != nil {
		return nil, shortRead(n, size, err)
	}
	att.data = buf.Bytes()
	if eightBitClean(att.data) {
		att.full = true
	} else {
		att.data = headerOf(att.data, true)
	}
	return att, nil
}

func shortRead(n, size int64, err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("bounce: reading original: got %d of %d bytes: %w", n, size, err)
}

// headerOf returns the header of message b (RFC 5322 2.1: up to the first
// empty line), ending in '\n'. whole says b is the entire message, not a
// prefix; a header that does not end within maxHeader bytes (or within a
// prefix) is cut after its last complete line.
func headerOf(b []byte, whole bool) []byte {
	if len(b) > 0 && b[0] == '\n' {
		return nil
	}
	if i := bytes.Index(b, []byte("\n\n")); i >= 0 && i < maxHeader {
		return b[:i+1]
	}
	if whole && len(b) <= maxHeader {
		if len(b) > 0 && b[len(b)-1] != '\n' {
			return append(b[:len(b):len(b)], '\n')
		}
		return b
	}
	b = b[:min(len(b), maxHeader)]
	if j := bytes.LastIndexByte(b, '\n'); j >= 0 {
		return b[:j+1]
	}
	return append(b[:len(b):len(b)], '\n')
}

// eightBitClean reports whether b can travel as RFC 2045 2.8 "8bit" data:
// no NUL, no CR (the queue stores lines with LF, so any CR would become a
// bare CR on the wire), no line longer than maxLine.
func eightBitClean(b []byte) bool {
	if bytes.IndexByte(b, 0) >= 0 || bytes.IndexByte(b, '\r') >= 0 {
		return false
	}
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return len(b) <= maxLine
		}
		if i > maxLine {
			return false
		}
		b = b[i+1:]
	}
	return true
}

// quotedPrintable encodes b (RFC 2045 6.7) with LF line ends. It is used
// for a returned header that is not 8-bit clean; its output never contains
// "=_", so it can never contain our boundary.
func quotedPrintable(b []byte) []byte {
	const hex = "0123456789ABCDEF"
	var out bytes.Buffer
	col := 0
	put := func(s ...byte) {
		if col+len(s) > 75 { // leave room for the soft line break "="
			out.WriteString("=\n")
			col = 0
		}
		out.Write(s)
		col += len(s)
	}
	for i, c := range b {
		lineEnd := i+1 == len(b) || b[i+1] == '\n'
		switch {
		case c == '\n':
			out.WriteByte('\n')
			col = 0
		case (c == ' ' || c == '\t') && !lineEnd, c > ' ' && c < 0x7f && c != '=':
			put(c)
		default:
			put('=', hex[c>>4], hex[c&15])
		}
	}
	return out.Bytes()
}
