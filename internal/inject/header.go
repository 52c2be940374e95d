package inject

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// MaxHeader is the header size SplitHeader is normally given: far above
// any real header (Postfix's header_size_limit is 100 KB), small enough to
// hold in memory.
const MaxHeader = 1 << 20

// SplitHeader reads the header section of a message (LF line ends) from br
// and leaves br at the body.
//
// The header ends at the first empty line, which is consumed and not
// returned, or at the first line that is neither a header field nor a
// continuation line (RFC 5322 2.2 and 3.6.8: a field name of printable
// characters other than ':' directly followed by ':'; a continuation line
// starts with a space or tab). Such a line is the start of the body and is
// returned as bodyStart, for the caller to send before the rest of br; the
// caller separates header and body with an empty line, as qmail-inject
// does. Leading "From " lines (and ">From ", an mbox envelope line) are
// dropped, as Postfix's sendmail does, so a message saved from a mailbox
// can be piped in.
//
// More than max bytes of header (counting the empty line that ends it)
// give ErrHeaderTooBig; an I/O error is returned as *ReadError unless it
// already is one or an Error of this package (Input's ErrNUL).
func SplitHeader(br *bufio.Reader, max int) (header, bodyStart []byte, err error) {
	for {
		line, err := readLine(br, max-len(header))
		if err == io.EOF {
			return header, nil, nil
		}
		if errors.Is(err, ErrHeaderTooBig) {
			return nil, nil, fmt.Errorf("%w: no end of the header within %d bytes", ErrHeaderTooBig, max)
		}
		if err != nil {
			return nil, nil, err
		}
		switch {
		case len(line) == 1 && line[0] == '\n':
			return header, nil, nil
		case len(header) == 0 && isFromLine(line):
			continue
		case len(header) > 0 && (line[0] == ' ' || line[0] == '\t'):
			header = append(header, line...)
		case fieldNameLen(line) > 0:
			header = append(header, line...)
		default:
			return header, line, nil
		}
	}
}

// readLine returns the next line with its LF (the last line may lack it),
// io.EOF at the end of the input, and ErrHeaderTooBig past max bytes.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		if len(line)+len(frag) > max {
			return nil, ErrHeaderTooBig
		}
		line = append(line, frag...)
		switch {
		case err == nil:
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF && len(line) > 0:
			return line, nil
		case err == io.EOF:
			return nil, io.EOF
		}
		var ie Error
		var re *ReadError
		if errors.As(err, &ie) || errors.As(err, &re) {
			return nil, err
		}
		return nil, &ReadError{Err: err}
	}
}

// fieldNameLen returns the length of the field name at the start of line
// when line starts a header field (ftext+ ":"), else 0.
func fieldNameLen(line []byte) int {
	for i, c := range line {
		switch {
		case c == ':':
			return i
		case c < 33 || c > 126:
			return 0
		}
	}
	return 0
}

// isFromLine matches an mbox envelope line, "From " after any number of '>'.
func isFromLine(line []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(line, ">"), []byte("From "))
}

// field is one header field: its name and all its bytes (name, colon,
// value and continuation lines, ending with LF).
type field struct {
	name string
	raw  []byte
}

// value returns the field's text after the colon, folding line ends included.
func (f field) value() []byte { return f.raw[len(f.name)+1:] }

// parseFields splits a header returned by SplitHeader into fields. Text
// before the first field (impossible from SplitHeader) is dropped, and a
// last line without LF gets one.
func parseFields(header []byte) []field {
	var fields []field
	for len(header) > 0 {
		end := bytes.IndexByte(header, '\n') + 1
		if end == 0 {
			end = len(header)
		}
		line := header[:end]
		header = header[end:]
		if n := fieldNameLen(line); n > 0 {
			fields = append(fields, field{name: string(line[:n]), raw: append([]byte(nil), line...)})
		} else if len(fields) > 0 {
			f := &fields[len(fields)-1]
			f.raw = append(f.raw, line...)
		}
	}
	for i := range fields {
		if raw := fields[i].raw; raw[len(raw)-1] != '\n' {
			fields[i].raw = append(raw, '\n')
		}
	}
	return fields
}
