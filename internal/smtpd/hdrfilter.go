package smtpd

import (
	"bytes"
	"io"
)

// maxHeldField bounds what headerFilter holds of one header field while it
// waits for the field's end. A longer field is decided on what has come so
// far (its name and the start of its value), and the rest follows that
// decision: nothing a client sends makes the filter hold more.
const maxHeldField = 64 << 10

// headerFilter passes a message (stored form: LF line ends) to w, leaving
// out the header fields drop says to leave out. drop sees a whole field:
// its name, value and continuation lines, each line with its LF (or, for a
// field longer than maxHeldField, its first maxHeldField bytes). The body,
// after the first empty line, passes untouched.
//
// It exists so that smtpd can remove what a sender must not be able to
// forge: an Authentication-Results field naming this host (RFC 8601 5.
// "MUST ... delete") and goqmail's own X-Goqmail-Junk marker. The
// message's writers write in runs of any size; the filter holds at most
// one field.
type headerFilter struct {
	w    io.Writer
	drop func(field []byte) bool

	body    bool   // past the empty line that ends the header section
	field   []byte // the field being collected, whole lines and a partial one
	decided bool   // a field too long to hold: the decision was made
	dropped bool   // ... and it was to leave the field out
	err     error
}

func newHeaderFilter(w io.Writer, drop func(field []byte) bool) *headerFilter {
	return &headerFilter{w: w, drop: drop}
}

func (f *headerFilter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && f.err == nil {
		if f.body {
			f.out(p)
			break
		}
		// One line at a time (or the rest of p, when it holds no LF).
		line := p
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			line = p[:i+1]
		}
		p = p[len(line):]
		f.headerBytes(line)
	}
	return n, f.err
}

// headerBytes takes a piece of one header-section line: the whole line, or
// its start, or its rest.
func (f *headerFilter) headerBytes(b []byte) {
	atLineStart := len(f.field) == 0 || f.field[len(f.field)-1] == '\n'
	if atLineStart && !f.continues(b[0]) {
		// A new field, or the empty line that ends the header section.
		f.finishField()
		if b[0] == '\n' {
			f.out(b[:1])
			f.body = true
			if len(b) > 1 {
				f.out(b[1:])
			}
			return
		}
	}
	if f.decided {
		if !f.dropped {
			f.out(b)
		}
		f.field = append(f.field[:0], b[len(b)-1]) // remember only where the line is
		return
	}
	f.field = append(f.field, b...)
	if len(f.field) > maxHeldField {
		f.decided, f.dropped = true, f.drop(f.field)
		if !f.dropped {
			f.out(f.field)
		}
		f.field = append(f.field[:0], f.field[len(f.field)-1])
	}
}

// continues reports whether a line starting with c continues the current
// field (RFC 5322 2.2.3 folding: a line starting with WSP).
func (f *headerFilter) continues(c byte) bool {
	return (c == ' ' || c == '\t') && len(f.field) > 0
}

// finishField decides the field collected so far and writes it or not.
func (f *headerFilter) finishField() {
	if len(f.field) > 0 && !f.decided && !f.drop(f.field) {
		f.out(f.field)
	}
	f.field, f.decided, f.dropped = f.field[:0], false, false
}

// Close writes what is held: a header section without an empty line
// (a message that is all header) ends with its last field.
func (f *headerFilter) Close() error {
	if !f.body {
		f.finishField()
	}
	return f.err
}

func (f *headerFilter) out(b []byte) {
	if f.err == nil {
		_, f.err = f.w.Write(b)
	}
}

// fieldName returns a header field's name as written (before the colon),
// or nil when the line has no colon.
func fieldName(field []byte) []byte {
	i := bytes.IndexByte(field, ':')
	if i < 0 {
		return nil
	}
	return bytes.TrimRight(field[:i], " \t")
}
