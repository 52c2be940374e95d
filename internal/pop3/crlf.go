package pop3

import (
	"bufio"
	"errors"
	"io"
)

// copyCRLF writes message r to w the way POP3 sends it: every line ends in
// CRLF whether the file used LF (as qmail-local writes it) or CRLF, and a
// last line without a line end gets one. With stuff set, a line starting
// with '.' gets another '.' (RFC 1939 section 3 byte-stuffing). bodyLines
// >= 0 stops after that many lines following the header/body separator
// (TOP, RFC 1939 section 7). It returns the bytes written.
//
// The message size of LIST and STAT is this function's count with stuff
// off: one definition serves both, so the sizes we announce are exactly the
// octets a client reassembles from RETR (qmail counted LF bytes instead).
func copyCRLF(w io.Writer, r io.Reader, stuff bool, bodyLines int) (int64, error) {
	br := bufio.NewReaderSize(r, 32<<10)
	cw := &countWriter{w: w}
	atStart, pendingCR, inBody := true, false, false
	lineLen, body := 0, 0
	for {
		if atStart && inBody && bodyLines >= 0 && body >= bodyLines {
			return cw.n, cw.err
		}
		frag, err := br.ReadSlice('\n')
		complete := len(frag) > 0 && frag[len(frag)-1] == '\n'
		content := frag
		if complete {
			content = frag[:len(frag)-1]
		}
		atEOF := errors.Is(err, io.EOF)
		crEnds := false
		if pendingCR {
			// A CR at the end of the previous fragment is a line end
			// only if this fragment is exactly its LF, or the end.
			crEnds = (complete && len(content) == 0) || (len(frag) == 0 && atEOF)
			if !crEnds {
				cw.write([]byte{'\r'})
				lineLen++
				atStart = false
			}
			pendingCR = false
		}
		if n := len(content); n > 0 && content[n-1] == '\r' {
			content = content[:n-1]
			if !complete {
				pendingCR = true
			}
		}
		if atStart && stuff && len(content) > 0 && content[0] == '.' {
			cw.write([]byte{'.'})
		}
		cw.write(content)
		lineLen += len(content)
		if len(content) > 0 {
			atStart = false
		}
		if complete || crEnds || (atEOF && (!atStart || pendingCR)) {
			cw.write([]byte("\r\n"))
			if !inBody && lineLen == 0 {
				inBody = true
			} else if inBody {
				body++
			}
			atStart, pendingCR, lineLen = true, false, 0
		}
		switch {
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
		case atEOF:
			return cw.n, cw.err
		default:
			return cw.n, err
		}
		if cw.err != nil {
			return cw.n, cw.err
		}
	}
}

type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) write(p []byte) {
	if c.err != nil || len(p) == 0 {
		return
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
}
