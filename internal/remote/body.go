package remote

import (
	"bytes"
	"fmt"
	"io"
)

// The queue stores a message with LF line ends (smtpd turned CRLF into
// LF); SMTP wants CRLF and nothing else (RFC 5321 2.3.8: CR and LF occur
// only together), and a line starting with '.' needs another one (RFC
// 5321 4.5.2). The stuffer below makes every stored line end into CRLF:
//
//   - LF becomes CRLF;
//   - CR LF stays CRLF (one line end, not CR CR LF: notqmail's fix);
//   - a lone CR becomes CRLF. A lone CR can only come from local
//     injection or old Mac text; treating it as the line break it was
//     meant to be keeps the text readable, where stripping it would glue
//     two lines together. Either way no bare CR reaches the wire, so the
//     receiver cannot be led to see a different end of data (SMTP
//     smuggling);
//   - a final line without a line end gets CRLF (qmail bounces such a
//     message with #5.6.2; there is no reason to).
//
// Every line that then starts with '.' gets another '.'.

// stuffer writes the SMTP form of the bytes written to it to w. Close
// finishes the last line; the caller writes the final ".\r\n".
type stuffer struct {
	w    io.Writer
	bol  bool // at the beginning of a line
	cr   bool // the last byte was a CR whose line end is not written yet
	buf  []byte
	n    int64 // bytes written, stuffing dots excluded (RFC 1870 SIZE)
	dots int64 // stuffing dots written
}

func newStuffer(w io.Writer) *stuffer {
	return &stuffer{w: w, bol: true}
}

func (s *stuffer) Write(p []byte) (int, error) {
	n := len(p)
	out := s.buf[:0]
	for len(p) > 0 {
		if s.cr { // the CR before p ends a line, with or without an LF after it
			s.cr, s.bol = false, true
			out = append(out, '\r', '\n')
			if p[0] == '\n' {
				p = p[1:]
				continue
			}
		}
		if s.bol && p[0] == '.' {
			out = append(out, '.')
			s.dots++
		}
		i := bytes.IndexAny(p, "\r\n")
		if i < 0 {
			out = append(out, p...)
			s.bol = false
			break
		}
		out = append(out, p[:i]...)
		if i > 0 {
			s.bol = false
		}
		if p[i] == '\n' {
			out = append(out, '\r', '\n')
			s.bol = true
		} else {
			s.cr = true
		}
		p = p[i+1:]
	}
	s.buf = out
	s.n += int64(len(out))
	if _, err := s.w.Write(out); err != nil {
		return 0, err
	}
	return n, nil
}

// Close ends a pending CR or a partial last line with CRLF.
func (s *stuffer) Close() error {
	if s.cr || !s.bol {
		s.cr, s.bol = false, true
		s.n += 2
		if _, err := s.w.Write([]byte("\r\n")); err != nil {
			return err
		}
	}
	return nil
}

// wireSize is the size of the message as sent, without stuffing dots:
// what RFC 1870 asks for in SIZE=.
func (s *stuffer) wireSize() int64 { return s.n - s.dots }

// message is the content of one delivery and what one pass over it found.
type message struct {
	content  io.ReaderAt
	size     int64 // bytes in the queue file
	wireSize int64 // bytes on the wire (CRLF), stuffing dots excluded
	eightBit bool  // any byte >= 0x80 (BODY=8BITMIME, RFC 6152)
	utf8Head bool  // a byte >= 0x80 in the header section (SMTPUTF8 wanted)
}

// scanMessage reads the content once to learn its wire size and whether
// it is 8-bit, before the size has to be announced in MAIL FROM.
func scanMessage(content io.ReaderAt, size int64) (*message, error) {
	m := &message{content: content, size: size}
	sink := &scanSink{m: m, inHead: true}
	st := newStuffer(sink)
	if err := m.copyTo(st); err != nil {
		return nil, err
	}
	m.wireSize = st.wireSize()
	return m, nil
}

// writeTo writes the stuffed message to w, ending with CRLF (unless the
// message is empty), without the final dot.
func (m *message) writeTo(w io.Writer) error {
	return m.copyTo(newStuffer(w))
}

func (m *message) copyTo(st *stuffer) error {
	r := io.NewSectionReader(m.content, 0, m.size)
	n, err := io.CopyBuffer(st, r, make([]byte, 32<<10))
	if err != nil {
		return fmt.Errorf("read message: %w", err)
	}
	if n != m.size {
		return fmt.Errorf("read message: %d bytes, expected %d", n, m.size)
	}
	return st.Close()
}

// scanSink watches the stuffed (CRLF) stream for 8-bit bytes and for the
// empty line that ends the header section (RFC 5322 2.1).
type scanSink struct {
	m       *message
	inHead  bool
	lineLen int
}

func (k *scanSink) Write(p []byte) (int, error) {
	if !k.inHead {
		if !k.m.eightBit && !isASCII(string(p)) {
			k.m.eightBit = true
		}
		return len(p), nil
	}
	for i, c := range p {
		if c >= 0x80 {
			k.m.eightBit, k.m.utf8Head = true, true
		}
		if c != '\n' {
			k.lineLen++
			continue
		}
		if k.lineLen == 1 { // the line was just "\r": the header ends here
			k.inHead = false
			return k.Write(p[i+1:])
		}
		k.lineLen = 0
	}
	return len(p), nil
}
