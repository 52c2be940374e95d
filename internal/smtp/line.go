package smtp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Errors of ReadLine. Both leave the reader at the start of the next line,
// so the session can answer 500 and go on.
var (
	// ErrLineTooLong: the command line exceeded the limit given to ReadLine
	// (RFC 5321 4.5.3.1.4: 512 octets including CRLF).
	ErrLineTooLong = errors.New("smtp: line too long")
	// ErrBadChar: the command line contained a NUL byte, which no SMTP
	// command may carry and which C programs behind us would cut at.
	ErrBadChar = errors.New("smtp: NUL in line")
)

// ReadLine reads one command line and returns it without its line end. The
// returned slice is a copy owned by the caller.
//
// A line ends at LF and one CR directly before the LF is removed, as
// qmail-smtpd does; RFC 5321 2.3.8 asks for CRLF, but refusing a bare LF
// between commands protects nothing (DATA is where it matters).
//
// If the line, without its line end, is longer than max bytes, the rest of
// it is read and discarded in buffer-sized pieces (memory stays bounded
// whatever the client sends) and ErrLineTooLong is returned. A NUL byte
// gives ErrBadChar, also after the whole line was consumed; a line that is
// both too long and has a NUL gives ErrLineTooLong.
//
// EOF before any byte returns io.EOF, EOF inside a line io.ErrUnexpectedEOF
// (both unwrapped, like io.Reader); other read errors are wrapped.
func ReadLine(br *bufio.Reader, max int) ([]byte, error) {
	if max < 0 {
		max = 0
	}
	var line []byte // the first max bytes of the line
	n := 0          // bytes of the line before the LF
	lastCR := false
	for {
		frag, err := br.ReadSlice('\n')
		complete := err == nil
		if complete {
			frag = frag[:len(frag)-1]
		}
		if len(frag) > 0 {
			lastCR = frag[len(frag)-1] == '\r'
			if room := max - len(line); room > 0 {
				line = append(line, frag[:min(room, len(frag))]...)
			}
			n += len(frag)
		}
		if complete {
			break
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF && n == 0:
			return nil, io.EOF
		case err == io.EOF:
			return nil, io.ErrUnexpectedEOF
		default:
			return nil, fmt.Errorf("smtp: reading command line: %w", err)
		}
	}
	if lastCR {
		n--
	}
	if n > max {
		return nil, ErrLineTooLong
	}
	line = line[:n]
	if bytes.IndexByte(line, 0) >= 0 {
		return nil, ErrBadChar
	}
	if line == nil {
		line = []byte{}
	}
	return line, nil
}

// ParseCommand splits a command line at the first space, as qmail's
// commands.c does: verb is the part before it upper-cased (ASCII only, so
// verbs compare with ==), arg the rest with leading spaces removed and
// trailing spaces kept. Without a space the whole line is the verb.
func ParseCommand(line []byte) (verb string, arg string) {
	name := line
	if sp := bytes.IndexByte(line, ' '); sp >= 0 {
		name = line[:sp]
		rest := line[sp+1:]
		for len(rest) > 0 && rest[0] == ' ' {
			rest = rest[1:]
		}
		arg = string(rest)
	}
	return upperVerb(name), arg
}

// upperVerb upper-cases an ASCII verb. The verbs a server sees every time
// come back as constants so that parsing them does not allocate.
func upperVerb(name []byte) string {
	var small [8]byte
	var u []byte
	if len(name) <= len(small) {
		u = small[:len(name)]
	} else {
		u = make([]byte, len(name))
	}
	for i, c := range name {
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		u[i] = c
	}
	switch string(u) {
	case "EHLO":
		return "EHLO"
	case "HELO":
		return "HELO"
	case "MAIL":
		return "MAIL"
	case "RCPT":
		return "RCPT"
	case "DATA":
		return "DATA"
	case "BDAT":
		return "BDAT"
	case "RSET":
		return "RSET"
	case "NOOP":
		return "NOOP"
	case "QUIT":
		return "QUIT"
	case "VRFY":
		return "VRFY"
	case "STARTTLS":
		return "STARTTLS"
	case "AUTH":
		return "AUTH"
	}
	return string(u)
}

// CutPrefixFold is strings.CutPrefix with ASCII case folding, for the
// keywords inside arguments ("FROM:", "TO:"), which RFC 5321 2.4 makes
// case-insensitive.
func CutPrefixFold(s, prefix string) (after string, found bool) {
	if len(s) < len(prefix) {
		return s, false
	}
	for i := 0; i < len(prefix); i++ {
		if lowerASCII(s[i]) != lowerASCII(prefix[i]) {
			return s, false
		}
	}
	return s[len(prefix):], true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
