// Package pop3 is goqmail's POP3 service: the AUTHORIZATION state, run by
// goqmail-pop3d without any privilege and without ever opening a mailbox
// (Server), and the TRANSACTION and UPDATE states, run over one Maildir by a
// process of the mailbox owner (Session). Between them, after a login, the
// server only relays bytes: the split of qmail-popup (parses the network,
// no mailbox) and qmail-pop3d (the mailbox, as its owner), RFC 1939 with
// CAPA (RFC 2449), STLS (RFC 2595) and AUTH PLAIN (RFC 5034).
package pop3

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxLine bounds a command line. RFC 2449 section 4 allows 255 octets, but
// RFC 5034 SASL continuation lines may be longer; 1024 covers both with
// room and still keeps a hostile client from growing our buffers.
const MaxLine = 1024

// Errors of the line reader and command parser.
var (
	ErrLineTooLong = errors.New("command line too long")
	ErrBadCommand  = errors.New("malformed command")
)

// Command is one parsed POP3 command line.
type Command struct {
	Verb string   // keyword, upper case (RFC 1939 keywords are case-insensitive)
	Args []string // space-separated arguments
	Rest string   // the raw text after the keyword and one space: PASS takes it whole
}

// ParseCommand splits a command line (without its line end). RFC 1939
// section 3: a keyword of three or four characters, then arguments
// separated by spaces. Control characters are refused anywhere, so nothing
// a client sends can reach a log or a reply unescaped.
func ParseCommand(line string) (Command, error) {
	for i := 0; i < len(line); i++ {
		if c := line[i]; c < 0x20 || c == 0x7f {
			return Command{}, fmt.Errorf("%w: control character", ErrBadCommand)
		}
	}
	verb, rest, _ := strings.Cut(line, " ")
	if len(verb) < 3 || len(verb) > 4 {
		return Command{}, fmt.Errorf("%w: keyword must be 3 or 4 letters", ErrBadCommand)
	}
	for i := 0; i < len(verb); i++ {
		c := verb[i] | 0x20
		if c < 'a' || c > 'z' {
			return Command{}, fmt.Errorf("%w: keyword must be letters", ErrBadCommand)
		}
	}
	return Command{Verb: strings.ToUpper(verb), Args: strings.Fields(rest), Rest: rest}, nil
}

// ReadLine reads one line ending in LF (a CR before it is dropped; clients
// that send bare LF are tolerated). A line longer than MaxLine is an error:
// the caller ends the session rather than resynchronise on a stream it no
// longer understands.
func ReadLine(br *bufio.Reader) (string, error) {
	var buf []byte
	for {
		frag, err := br.ReadSlice('\n')
		if len(buf)+len(frag) > MaxLine+2 {
			return "", ErrLineTooLong
		}
		buf = append(buf, frag...)
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) && len(buf) > 0 {
			return "", io.ErrUnexpectedEOF
		}
		return "", err
	}
	buf = buf[:len(buf)-1]
	if n := len(buf); n > 0 && buf[n-1] == '\r' {
		buf = buf[:n-1]
	}
	if len(buf) > MaxLine {
		return "", ErrLineTooLong
	}
	return string(buf), nil
}

// msgNumber parses a message-number argument (RFC 1939 section 3: decimal,
// starting at 1). It refuses signs, leading junk and absurd lengths so that
// the number can never overflow.
func msgNumber(s string) (int, bool) {
	n, ok := decimal(s)
	return n, ok && n > 0
}

// decimal parses a non-negative decimal of at most nine digits (TOP's line
// count may be 0).
func decimal(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}
