// Package logsink sends log entries to the system's log: the systemd
// journal through its native protocol, or a syslog daemon through
// /dev/log. It knows nothing of mail; goqmail-log (internal/logwriter)
// decides what an entry holds.
//
// Why the native journal protocol rather than RFC 5424 to /dev/log, under
// systemd: it carries fields, so each line keeps its program as
// SYSLOG_IDENTIFIER (`journalctl -t goqmail-send`), its priority, and the
// queue id of the message it is about (`journalctl GOQMAIL_QUEUE_ID=...`
// follows one message through every program); no parser stands between
// us and the journal (journald reads /dev/log in the traditional syslog
// format only, systemd issue 19251, so RFC 5424's structured data would
// reach it as text); and one datagram is one entry, whatever the line
// holds.
//
// For /dev/log the format is the one syslog(3) writes,
// `<PRI>Mmm dd hh:mm:ss TAG: MESSAGE`: it is what every daemon that reads
// /dev/log parses (rsyslog's imuxsock, syslog-ng, busybox, journald),
// while RFC 5424 there is read only by some, and only when configured.
package logsink

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Priorities (RFC 5424 6.2.1, syslog(3)).
const (
	PriAlert   = 1
	PriWarning = 4
	PriInfo    = 6
	// FacilityMail is syslog's mail facility (2).
	FacilityMail = 2
)

// Default socket paths.
const (
	JournalSocket = "/run/systemd/journal/socket"
	SyslogSocket  = "/dev/log"
)

// Entry is one log entry.
type Entry struct {
	Ident    string  // the program: SYSLOG_IDENTIFIER, syslog's TAG
	Priority int     // PriAlert, PriWarning, PriInfo
	Message  string  // one line, without its newline
	Fields   []Field // more journal fields (syslog drops them)
}

// Field is a journal field: NAME in upper case letters, digits and '_'.
type Field struct{ Name, Value string }

// Sink is where entries go.
type Sink interface {
	Send(e Entry) error
	Close() error
}

// Journal sends entries to the systemd journal.
type Journal struct {
	c   *net.UnixConn
	buf []byte
}

// DialJournal connects to journald's native socket (JournalSocket).
func DialJournal(path string) (*Journal, error) {
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("journal socket %s: %w", path, err)
	}
	return &Journal{c: c}, nil
}

// Send writes one entry as one datagram (systemd's "Native Journal
// Protocol"). Our lines are at most 4 KiB, far below the datagram limit,
// so the protocol's memfd path for large entries is not needed.
func (j *Journal) Send(e Entry) error {
	b := j.buf[:0]
	b = appendField(b, "MESSAGE", e.Message)
	b = appendField(b, "PRIORITY", fmt.Sprint(e.Priority))
	b = appendField(b, "SYSLOG_FACILITY", fmt.Sprint(FacilityMail))
	b = appendField(b, "SYSLOG_IDENTIFIER", e.Ident)
	for _, f := range e.Fields {
		if validName(f.Name) {
			b = appendField(b, f.Name, f.Value)
		}
	}
	j.buf = b
	_, err := j.c.Write(b)
	return err
}

// appendField encodes NAME=value, or, for a value with a newline, NAME,
// a newline, the value's length as 64-bit little endian and the value.
func appendField(b []byte, name, value string) []byte {
	b = append(b, name...)
	if !strings.Contains(value, "\n") {
		b = append(b, '=')
		b = append(b, value...)
		return append(b, '\n')
	}
	b = append(b, '\n')
	b = binary.LittleEndian.AppendUint64(b, uint64(len(value)))
	b = append(b, value...)
	return append(b, '\n')
}

// validName: journald drops fields whose names are not upper case letters,
// digits and '_', or start with '_' (trusted fields) or a digit.
func validName(n string) bool {
	if n == "" || len(n) > 64 || n[0] == '_' || (n[0] >= '0' && n[0] <= '9') {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// Close closes the socket.
func (j *Journal) Close() error { return j.c.Close() }

// Syslog sends entries to a syslog daemon's local socket.
type Syslog struct {
	c      net.Conn
	stream bool // a stream socket: entries end with a newline
	now    func() time.Time
	buf    []byte
}

// DialSyslog connects to path (SyslogSocket): a datagram socket, else a
// stream socket, as syslog(3) does.
func DialSyslog(path string) (*Syslog, error) {
	c, err := net.Dial("unixgram", path)
	if err == nil {
		return &Syslog{c: c, now: time.Now}, nil
	}
	c, err2 := net.Dial("unix", path)
	if err2 == nil {
		return &Syslog{c: c, stream: true, now: time.Now}, nil
	}
	return nil, fmt.Errorf("syslog socket %s: %w", path, errors.Join(err, err2))
}

// Send writes `<PRI>Mmm dd hh:mm:ss TAG: MESSAGE` with the mail facility,
// the local time as syslog(3) gives it.
func (s *Syslog) Send(e Entry) error {
	b := fmt.Appendf(s.buf[:0], "<%d>%s %s: %s", FacilityMail*8+e.Priority, s.now().Format(time.Stamp), e.Ident, e.Message)
	if s.stream {
		b = append(b, '\n')
	}
	s.buf = b
	_, err := s.c.Write(b)
	return err
}

// Close closes the socket.
func (s *Syslog) Close() error { return s.c.Close() }
