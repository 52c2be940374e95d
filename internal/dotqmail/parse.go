package dotqmail

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"goqmail/internal/proto"
)

// Kind is what an instruction does.
type Kind uint8

const (
	// Forward sends the message on to Value, an address ("&addr" or a
	// line starting with a letter or digit).
	Forward Kind = iota + 1
	// Program pipes the message into "/bin/sh -c Value" ("|cmd").
	Program
	// Mbox appends to the mbox file Value ("/path" or "./path").
	Mbox
	// Maildir delivers into the maildir Value (a path ending in '/').
	Maildir
)

func (k Kind) String() string {
	switch k {
	case Forward:
		return "forward"
	case Program:
		return "program"
	case Mbox:
		return "mbox"
	case Maildir:
		return "maildir"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Instruction is one delivery line of a .qmail file.
type Instruction struct {
	Kind  Kind
	Value string
}

// String gives the instruction back as a .qmail line (without newline);
// Parse reads it back as the same instruction.
func (in Instruction) String() string {
	switch in.Kind {
	case Forward:
		return "&" + in.Value
	case Program:
		return "|" + in.Value
	}
	return in.Value
}

// Errors in a .qmail file. All are temporary for the delivery, in qmail's
// words where qmail has them: the user fixes the file and the queue
// retries, instead of mail bouncing over a typo.
var (
	ErrBlankFirstLine  = errors.New("Uh-oh: first line of .qmail file is blank. (#4.2.1)")
	ErrFileForwardOnly = errors.New("Uh-oh: .qmail has file delivery but has x bit set. (#4.7.0)")
	ErrProgForwardOnly = errors.New("Uh-oh: .qmail has prog delivery but has x bit set. (#4.7.0)")
)

// Parse reads .qmail lines into instructions, in file order, as
// qmail-local's main loop does:
//
//   - trailing spaces and tabs are removed; a blank first line is an
//     error (ErrBlankFirstLine), later blank lines are skipped;
//   - '#' starts a comment;
//   - '|' a program, '&' a forward; '.' or '/' a file: a maildir when the
//     line ends in '/', otherwise an mbox;
//   - "+list" (undocumented, in qmail's code) makes the rest of the file
//     forward-only, as the x bit does for all of it; other '+' lines are
//     ignored, as qmail ignores them;
//   - any other line is a forward to the address it holds. The man page
//     speaks of lines starting with a letter or digit; qmail's code
//     forwards whatever else starts a line too, and so does goqmail, so
//     files keep their meaning when a site moves over.
//
// forwardOnly is the x bit of the file: a file or program line in a
// forward-only part is an error. Parse checks the whole file before
// anything is delivered; qmail found such errors only on reaching the
// line, after delivering the lines before it.
//
// goqmail also refuses, as temporary errors, lines that qmail would
// misread: a NUL byte (qmail's C strings stop there), an empty forward
// address, and a forward address the queue would refuse (longer than an
// envelope address may be, or holding CR: a file saved with CRLF ends).
//
// Empty data gives no instructions; qmail then uses the default delivery,
// which is the caller's decision.
func Parse(data []byte, forwardOnly bool) ([]Instruction, error) {
	var out []Instruction
	for n := 1; len(data) > 0; n++ {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		line = bytes.TrimRight(line, " \t")
		if len(line) == 0 {
			if n == 1 {
				return nil, ErrBlankFirstLine
			}
			continue
		}
		if bytes.IndexByte(line, 0) >= 0 {
			return nil, fmt.Errorf("Uh-oh: line %d of .qmail file holds a NUL byte. (#4.7.0)", n)
		}
		s := string(line)
		var in Instruction
		switch s[0] {
		case '#':
			continue
		case '+':
			if s == "+list" {
				forwardOnly = true
			}
			continue
		case '.', '/':
			if forwardOnly {
				return nil, ErrFileForwardOnly
			}
			in = Instruction{Kind: Mbox, Value: s}
			if strings.HasSuffix(s, "/") {
				in.Kind = Maildir
			}
		case '|':
			if forwardOnly {
				return nil, ErrProgForwardOnly
			}
			in = Instruction{Kind: Program, Value: s[1:]}
		case '&':
			in = Instruction{Kind: Forward, Value: s[1:]}
		default:
			in = Instruction{Kind: Forward, Value: s}
		}
		if in.Kind == Forward {
			if err := checkForward(in.Value); err != nil {
				return nil, fmt.Errorf("Uh-oh: line %d of .qmail file: %w. (#4.7.0)", n, err)
			}
		}
		out = append(out, in)
	}
	return out, nil
}

// checkForward refuses what the queue would refuse as a recipient.
func checkForward(addr string) error {
	if addr == "" {
		return errors.New("empty forward address")
	}
	if len(addr) > proto.MaxAddr {
		return fmt.Errorf("forward address longer than %d bytes", proto.MaxAddr)
	}
	if strings.IndexByte(addr, '\r') >= 0 {
		return errors.New("carriage return in forward address")
	}
	return nil
}
