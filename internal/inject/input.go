package inject

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// ReadError wraps a failure to read the input itself (as opposed to a
// message the input holds), so the command can tell an I/O error from bad
// data or a queue problem.
type ReadError struct{ Err error }

func (e *ReadError) Error() string { return "read standard input: " + e.Err.Error() }
func (e *ReadError) Unwrap() error { return e.Err }

// Input reads a message as sendmail(8) reads its standard input and hands
// it on in the queue's format:
//
//   - CRLF line ends become LF (Postfix's sendmail_fix_line_endings=always);
//     a CR anywhere else is kept, as qmail keeps a lone CR.
//   - With dotEnds (no -i, -oi), a line holding only "." (or ".\r") ends
//     the input and is not part of the message; the rest of the input is
//     not read. There is no dot-unstuffing: that belongs to SMTP, and
//     sendmail(8) does none on standard input either.
//   - A last line without a line end gets one, so the queued message is a
//     sequence of whole lines; a CR at the very end counts as a CRLF.
//   - A NUL byte stops the input with ErrNUL.
//
// Memory is bounded by the reader's buffer: lines are handed on in pieces.
type Input struct {
	br      *bufio.Reader
	dotEnds bool
	atStart bool   // the next byte starts a line
	heldCR  bool   // a CR ended the previous piece of an unfinished line
	out     []byte // converted bytes not handed out yet
	buf     []byte
	last    byte // the last byte handed on (0: none yet)
	err     error
}

// NewInput returns an Input reading r. dotEnds is false with -i or -oi.
func NewInput(r io.Reader, dotEnds bool) *Input {
	return &Input{br: bufio.NewReaderSize(r, 64<<10), dotEnds: dotEnds, atStart: true}
}

func (in *Input) Read(p []byte) (int, error) {
	for len(in.out) == 0 {
		if in.err != nil {
			return 0, in.err
		}
		in.fill()
	}
	n := copy(p, in.out)
	in.out = in.out[n:]
	return n, nil
}

// fill converts the next piece of a line: a whole line, or a buffer-full
// of a long one.
func (in *Input) fill() {
	frag, err := in.br.ReadSlice('\n')
	in.buf = in.buf[:0]
	if bytes.IndexByte(frag, 0) >= 0 {
		in.err = fmt.Errorf("%w (use base64 or quoted-printable for binary data)", ErrNUL)
		return
	}
	if in.dotEnds && in.atStart && isDotLine(frag) {
		in.err = io.EOF
		in.finish()
		return
	}
	if in.heldCR {
		in.heldCR = false
		switch {
		case len(frag) > 0 && frag[0] == '\n': // a CRLF: the LF ends the line below
		case len(frag) == 0 && err == io.EOF: // a CR at the very end counts as a CRLF
			in.buf = append(in.buf, '\n')
		default: // a lone CR after all
			in.buf = append(in.buf, '\r')
		}
	}
	switch {
	case len(frag) > 0 && frag[len(frag)-1] == '\n':
		line := frag[:len(frag)-1]
		line = bytes.TrimSuffix(line, []byte{'\r'})
		in.buf = append(in.buf, line...)
		in.buf = append(in.buf, '\n')
		in.atStart = true
	case len(frag) > 0 && frag[len(frag)-1] == '\r' && errors.Is(err, bufio.ErrBufferFull):
		// The LF of a CRLF may start the next piece: decide then.
		in.buf = append(in.buf, frag[:len(frag)-1]...)
		in.heldCR = true
		in.atStart = false
	case len(frag) > 0 && frag[len(frag)-1] == '\r' && err == io.EOF:
		// A CRLF whose LF is missing: the end of the last line.
		in.buf = append(in.buf, frag[:len(frag)-1]...)
		in.buf = append(in.buf, '\n')
	default:
		in.buf = append(in.buf, frag...)
		in.atStart = false
	}
	if len(in.buf) > 0 {
		in.last = in.buf[len(in.buf)-1]
	}
	switch {
	case err == nil, errors.Is(err, bufio.ErrBufferFull):
	case err == io.EOF:
		in.err = io.EOF
		in.finish()
	default:
		in.err = &ReadError{Err: err}
	}
	in.out = in.buf
}

// finish ends the message with a line end if the last line lacked one.
func (in *Input) finish() {
	if in.last != 0 && in.last != '\n' {
		in.buf = append(in.buf, '\n')
		in.last = '\n'
	}
	in.out = in.buf
}

// isDotLine reports whether a piece that starts a line is sendmail's end
// of input: "." alone, with LF, CRLF, a lone CR, or the end of the input.
func isDotLine(frag []byte) bool {
	switch string(frag) {
	case ".", ".\n", ".\r\n", ".\r":
		return true
	}
	return false
}
