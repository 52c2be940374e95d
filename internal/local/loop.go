package local

import (
	"errors"
	"io"
)

// errLooping stops a streaming copy whose header holds our Delivered-To.
var errLooping = errors.New("message already has my Delivered-To line")

// textLooping is qmail-local's bounce text for a loop (bouncexf).
const textLooping = "This message is looping: it already has my Delivered-To line. (#5.4.6)"

// headerScan looks for one exact header line, the delivery's own
// "Delivered-To: local@domain\n", in a message fed to it in pieces of any
// size, and stops looking at the first blank line: only the header counts,
// as in qmail-local's bouncexf. The comparison is byte for byte and
// case-sensitive, like qmail's; a partial last line (no newline before the
// end of the message) is not compared, as qmail does not.
//
// It keeps no copy of the message: only how far the current line has
// matched, so it works on the streaming path where the message goes
// straight from the spawner's pipe into a maildir.
type headerScan struct {
	line    []byte // the line searched for, "\n" included
	pos     int    // bytes of the current line seen so far
	match   bool   // the current line so far equals line[:pos]
	done    bool   // the header ended
	looping bool   // the line was found
}

func newHeaderScan(dtLine string) *headerScan {
	return &headerScan{line: []byte(dtLine), match: true}
}

// feed scans more message bytes and reports whether the line was found.
func (h *headerScan) feed(p []byte) bool {
	for _, c := range p {
		if h.done {
			break
		}
		if c == '\n' {
			switch {
			case h.pos == 0:
				h.done = true // the blank line that ends the header
			case h.match && h.pos+1 == len(h.line):
				h.looping, h.done = true, true
			}
			h.pos, h.match = 0, true
			continue
		}
		if h.match && (h.pos >= len(h.line)-1 || h.line[h.pos] != c) {
			h.match = false
		}
		h.pos++
	}
	return h.looping
}

// loopReader passes a message through a headerScan and fails the read that
// completes the looping line, so whatever is being written from it (a
// maildir tmp/ file, an mbox append) is abandoned and removed.
type loopReader struct {
	r    io.Reader
	scan *headerScan
}

func (l *loopReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if !l.scan.done && l.scan.feed(p[:n]) {
		return 0, errLooping
	}
	return n, err
}

// headerLoops reads the header of a stored message and reports whether it
// has the line (the copy-once path, which checks before delivering
// anything).
func headerLoops(r io.Reader, dtLine string) (bool, error) {
	scan := newHeaderScan(dtLine)
	buf := make([]byte, 8<<10)
	for !scan.done {
		n, err := r.Read(buf)
		if scan.feed(buf[:n]) {
			return true, nil
		}
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
	return false, nil
}
