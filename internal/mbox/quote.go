package mbox

import (
	"bufio"
	"bytes"
)

// fromLit is what a quoted line holds after its run of '>'.
const fromLit = "From "

// Quoter states.
const (
	atLineStart = iota // at the start of a line, or inside its leading '>' run
	inFrom             // the line so far is >*F, >*Fr, ... (a prefix of >*"From ")
	inLine             // the line can no longer match; copy to its end
)

// fromQuoter copies a message to w in mboxrd form (man mbox.5, qmail's
// gfrom()): every line that matches ">*From " gets one more '>', so a
// reader that removes one '>' from such lines gets the message back, and
// no line of the message can start a new one.
//
// It streams, holding at most the four bytes of a partial "From " match:
// since all '>' are alike, the extra one is written just before "From "
// instead of at the start of the line, with the same result, so the run of
// '>' never has to be held back. Close ends the message as qmail does: a
// partial last line gets its newline, then one blank line follows.
type fromQuoter struct {
	w       *bufio.Writer
	state   int
	matched int  // bytes of fromLit matched in state inFrom
	wrote   bool // any message byte was written
	last    byte // the last message byte written
}

// Write never fails: errors stay in the bufio.Writer and surface at Flush.
func (q *fromQuoter) Write(p []byte) (int, error) {
	n := len(p)
	if n == 0 {
		return 0, nil
	}
	q.wrote = true
	q.last = p[n-1]
	for len(p) > 0 {
		switch q.state {
		case inLine:
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				q.w.Write(p)
				return n, nil
			}
			q.w.Write(p[:i+1])
			p = p[i+1:]
			q.state = atLineStart
		case atLineStart:
			c := p[0]
			p = p[1:]
			switch c {
			case '>', '\n':
				q.w.WriteByte(c)
			case fromLit[0]:
				q.state, q.matched = inFrom, 1
			default:
				q.w.WriteByte(c)
				q.state = inLine
			}
		case inFrom:
			c := p[0]
			p = p[1:]
			if c == fromLit[q.matched] {
				q.matched++
				if q.matched == len(fromLit) {
					q.w.WriteString(">" + fromLit)
					q.state = inLine
				}
				continue
			}
			q.w.WriteString(fromLit[:q.matched])
			q.w.WriteByte(c)
			q.state = inLine
			if c == '\n' {
				q.state = atLineStart
			}
		}
	}
	return n, nil
}

// Close writes what a partial match held back, completes a partial last
// line, and adds the blank line that separates mbox messages.
func (q *fromQuoter) Close() {
	if q.state == inFrom {
		q.w.WriteString(fromLit[:q.matched])
	}
	if q.wrote && q.last != '\n' {
		q.w.WriteByte('\n')
	}
	q.w.WriteByte('\n')
}
