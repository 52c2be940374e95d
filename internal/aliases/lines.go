package aliases

import (
	"bufio"
	"errors"
	"io"
	"strings"
)

// Limits; see the package comment.
const (
	maxLineLen       = 64 << 10 // one physical line
	maxEntryLen      = 1 << 20  // one alias with its continuation lines
	maxTargets       = 10000    // targets in one alias, one .forward, one Lookup
	maxIncludeDepth  = 5
	maxIncludeSize   = 4 << 20
	maxExpandDepth   = 20
	maxTrackedInputs = 1000 // files one Parse may open; bounds the Load cache check
)

// lineReader yields physical lines without their LF (and a CR before it,
// for files edited on other systems). Unlike bufio.Scanner it survives an
// over-long line: it reports it and goes on with the next one, which Parse's
// tolerance needs.
type lineReader struct {
	br *bufio.Reader
	n  int // number of the line last returned
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 64<<10)}
}

// next returns the next line. tooLong says the line exceeded maxLineLen
// and was discarded; line then holds only its first byte, so that the
// caller still knows whether it was a continuation line. The error is
// io.EOF after the last line.
func (lr *lineReader) next() (line string, tooLong bool, err error) {
	var b strings.Builder
	got := false
	var first byte
	for {
		frag, err := lr.br.ReadSlice('\n')
		if len(frag) > 0 {
			if !got {
				first = frag[0]
			}
			got = true
		}
		if !tooLong {
			if b.Len()+len(frag) > maxLineLen+2 { // room for "\r\n"
				tooLong = true
				b.Reset()
			} else {
				b.Write(frag)
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == nil, errors.Is(err, io.EOF) && got:
			lr.n++
			s := strings.TrimSuffix(strings.TrimSuffix(b.String(), "\n"), "\r")
			if len(s) > maxLineLen {
				tooLong, s = true, ""
			}
			if tooLong {
				s = string(first)
			}
			return s, tooLong, nil
		default:
			return "", false, err
		}
	}
}
