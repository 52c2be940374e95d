package smtp

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
)

// DataStats describes a message read by ReadData. Message problems are
// reported here, not as errors, because the data has been read to its end
// either way and the session answers with a reply and goes on.
type DataStats struct {
	// Bytes of the message as stored (LF line ends, dots unstuffed),
	// counted even past the limit. After a bare CR or LF those count one
	// byte each and line starts are only those after CRLF.
	Bytes int64
	// TooBig: Bytes exceeded the limit; writing stopped at that point,
	// after exactly limit bytes.
	TooBig bool
	// BareCRLF: a CR not followed by LF, or an LF not preceded by CR,
	// appeared in the data. Writing stopped there (part of the line before
	// it may have been written); the output is incomplete, and the session
	// must refuse the message.
	BareCRLF bool
	// Hops counts header lines named Received or Delivered-To
	// (case-insensitive), in the header section only: qmail's loop
	// detection, compared with 100 by the session.
	Hops int
	// WriteErr is the first error from the writer; writing stopped there,
	// reading went on to the end of data.
	WriteErr error
}

// ReadData reads a DATA body after the 354 reply up to and including the
// terminating CRLF "." CRLF, and writes the message to w with LF line ends
// and leading dots unstuffed (RFC 5321 4.1.1.4 and 4.5.2). The terminator
// is not written; the output ends with '\n' unless empty.
//
// Only CRLF "." CRLF ends the data, and "." CRLF as the very first line
// (the DATA command's own CRLF precedes it). A bare CR or bare LF never
// ends a line: it sets BareCRLF and reading goes on to the real end, so
// that "\n.\n" or "\r\n.\n" cannot end the message here while a server
// behind or in front of us sees an end (SMTP smuggling). qmail answers a
// bare LF with 451 and drops the connection; reading on lets the session
// answer and keep the connection in step.
//
// When limit > 0 and the stored size would exceed it, TooBig is set and
// nothing more is written, but everything is still read, as qmail does
// with databytes: the 552 (RFC 5321 4.5.3.1.9) can then be sent after the
// end of data and the session stays in step.
//
// Memory is bounded by br's buffer: data is scanned in place and written
// in runs, never collected by line. The reader stops right after the
// terminator, so pipelined commands stay in br. The error is only for the
// connection (read error, EOF as io.ErrUnexpectedEOF, deadline), wrapped.
// To drain a message that will be refused anyway, pass io.Discard as w.
func ReadData(br *bufio.Reader, w io.Writer, limit int64) (DataStats, error) {
	d := dataReader{
		w:        w,
		limit:    limit,
		out:      make([]byte, 0, outInitialSize),
		writing:  true,
		inHeader: true,
	}
	for {
		if _, err := br.Peek(1); err != nil {
			d.flush()
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return d.stats, fmt.Errorf("smtp: reading DATA: %w", err)
		}
		chunk, _ := br.Peek(br.Buffered())
		n, done := d.scan(chunk)
		// Cannot fail: n <= br.Buffered().
		_, _ = br.Discard(n)
		if done {
			d.flush()
			return d.stats, nil
		}
	}
}

// Output is collected and handed to w in runs of outFlushSize bytes, so
// that a file sees few large writes instead of one per line.
const (
	outInitialSize = 4 << 10
	outFlushSize   = 32 << 10
)

// dataState is where the scanner stands relative to the terminator.
type dataState uint8

const (
	atLineStart dataState = iota // after CRLF, or at the start of the data
	afterDot                     // the line began with '.', already dropped
	afterDotCR                   // the line began ".\r": LF ends the data
	inLine                       // inside a line
	afterCR                      // inside a line, the chunk ended with CR
)

type dataReader struct {
	w         io.Writer
	limit     int64
	out       []byte // output not yet handed to w
	writing   bool   // false once TooBig, BareCRLF or WriteErr
	state     dataState
	inHeader  bool // no empty line seen yet
	lineEmpty bool // nothing stored on the current line yet
	hop       hopMatcher
	stats     DataStats
}

// scan consumes chunk up to the end of data or the end of chunk and
// returns how many bytes it consumed and whether the data ended. State
// changes happen once or twice per line; the bytes in between are found
// with bytes.IndexByte and stored as one run.
func (d *dataReader) scan(chunk []byte) (int, bool) {
	i := 0
	for i < len(chunk) {
		c := chunk[i]
		switch d.state {
		case atLineStart:
			d.lineEmpty = true
			if d.inHeader {
				d.hop.begin()
			}
			if c == '.' {
				i++
				d.state = afterDot
			} else {
				d.state = inLine
			}
		case afterDot:
			if c == '\r' {
				i++
				d.state = afterDotCR
			} else {
				d.state = inLine
			}
		case afterDotCR:
			if c == '\n' {
				return i + 1, true
			}
			d.bareLineEnd() // the CR after the dot
			d.state = inLine
		case afterCR:
			if c == '\n' {
				i++
				d.endLine()
			} else {
				d.bareLineEnd() // the CR at the end of the last chunk
				d.state = inLine
			}
		case inLine:
			rest := chunk[i:]
			j := bytes.IndexByte(rest, '\n')
			if j < 0 {
				if rest[len(rest)-1] == '\r' {
					rest = rest[:len(rest)-1]
					d.state = afterCR
				}
				d.text(rest)
				return len(chunk), false
			}
			if j > 0 && rest[j-1] == '\r' {
				d.text(rest[:j-1])
				d.endLine()
			} else {
				d.text(rest[:j])
				d.bareLineEnd() // the LF
			}
			i += j + 1
		}
	}
	return i, false
}

// text stores a run of line content, which holds no LF and no CR of a
// CRLF; any CR in it is bare.
func (d *dataReader) text(run []byte) {
	if len(run) == 0 {
		return
	}
	d.lineEmpty = false
	if !d.stats.BareCRLF && bytes.IndexByte(run, '\r') >= 0 {
		d.stats.BareCRLF = true
		d.writing = false
	}
	if d.hop.active && d.hop.feed(run) {
		d.stats.Hops++
	}
	if k := d.grow(len(run)); k > 0 {
		d.put(run[:k])
	}
}

// bareLineEnd accounts for one bare CR or LF: it is counted as a stored
// byte of the line but is not a line end, and the output stops.
func (d *dataReader) bareLineEnd() {
	d.stats.BareCRLF = true
	d.writing = false
	d.lineEmpty = false
	d.hop.active = false
	d.grow(1)
}

// endLine stores the LF for a CRLF. The first empty line ends the header
// section (RFC 5322 2.1).
func (d *dataReader) endLine() {
	if d.grow(1) == 1 {
		d.makeRoom(1)
		d.out = append(d.out, '\n')
	}
	if d.lineEmpty {
		d.inHeader = false
	}
	d.hop.active = false
	d.state = atLineStart
}

// grow counts n more stored bytes and returns how many of them may still
// be written: all while writing, none after, and the part up to the limit
// for the run that crosses it.
func (d *dataReader) grow(n int) int {
	d.stats.Bytes += int64(n)
	if d.limit > 0 && d.stats.Bytes > d.limit && !d.stats.TooBig {
		d.stats.TooBig = true
		if !d.writing {
			return 0
		}
		d.writing = false
		return n - int(d.stats.Bytes-d.limit)
	}
	if !d.writing {
		return 0
	}
	return n
}

func (d *dataReader) put(p []byte) {
	d.makeRoom(len(p))
	if len(d.out)+len(p) > cap(d.out) {
		d.write(p) // longer than the whole buffer: no point copying
		return
	}
	d.out = append(d.out, p...)
}

// makeRoom makes room for n more bytes of output: the buffer starts small
// for the common small message, grows once to outFlushSize, and from then
// on is handed to w whenever it is full.
func (d *dataReader) makeRoom(n int) {
	if len(d.out)+n <= cap(d.out) {
		return
	}
	if cap(d.out) < outFlushSize {
		grown := make([]byte, len(d.out), outFlushSize)
		copy(grown, d.out)
		d.out = grown
		if len(d.out)+n <= cap(d.out) {
			return
		}
	}
	d.flush()
}

// flush hands the collected output to w. It runs also after writing
// stopped, so the output up to a limit is complete.
func (d *dataReader) flush() {
	if len(d.out) > 0 {
		d.write(d.out)
		d.out = d.out[:0]
	}
}

func (d *dataReader) write(p []byte) {
	if d.stats.WriteErr != nil {
		return
	}
	n, err := d.w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		d.stats.WriteErr = err
		d.writing = false
	}
}
