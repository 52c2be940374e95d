package pop3

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"time"

	"goqmail/internal/logline"
	mdir "goqmail/internal/maildir"
)

// SessionTimeout is the autologout timer of the mailbox side. RFC 1939
// section 3 asks for at least 10 minutes of inactivity before it fires.
const SessionTimeout = 10 * time.Minute

// transactionCaps is the CAPA answer in the TRANSACTION state (RFC 2449
// section 5 allows CAPA there too; login mechanisms are no longer offered).
var transactionCaps = []string{"TOP", "UIDL", "RESP-CODES", "PIPELINING"}

// Session runs RFC 1939's TRANSACTION and UPDATE states over the Maildir
// for one client already authenticated: it is the mailbox side, run as the
// mailbox owner (goqmail-pop3d -session). Its first line answers the
// client's PASS, APOP or AUTH: "+OK" with the message count, or
// "-ERR [IN-USE]" when another session holds the mailbox. Nothing in the
// Maildir changes unless the client says QUIT: a dropped connection or a
// timeout deletes and moves nothing, as qmail-pop3d.
func Session(conn net.Conn, maildir string, log *logline.Logger) error {
	defer conn.Close()
	s := &session{conn: conn, br: bufio.NewReader(conn), bw: bufio.NewWriterSize(conn, 32<<10), log: log}
	mb, err := openMailbox(maildir)
	if err != nil {
		if errors.Is(err, ErrLocked) {
			s.reply("-ERR [IN-USE] mailbox locked by another session, try later")
		} else {
			s.reply("-ERR [SYS/TEMP] cannot open mailbox")
		}
		s.bw.Flush()
		return fmt.Errorf("pop3 session %s: %w", maildir, err)
	}
	defer mb.close()
	s.mb = mb
	// qmail-pop3d's maildir_clean: what killed deliveries left in tmp/
	// more than 36 hours ago goes (best effort).
	mdir.CleanTmp(maildir, mdir.DefaultTmpAge, time.Now())
	s.reply("+OK %d messages", len(mb.msgs))
	return s.loop()
}

type session struct {
	conn net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	log  *logline.Logger
	mb   *mailbox
}

func (s *session) reply(format string, args ...any) {
	fmt.Fprintf(s.bw, format, args...)
	s.bw.WriteString("\r\n")
}

func (s *session) loop() error {
	for {
		// RFC 2449 PIPELINING: answer everything the client already sent
		// before paying for a write.
		if s.br.Buffered() == 0 {
			if err := s.bw.Flush(); err != nil {
				return fmt.Errorf("pop3 session: %w", err)
			}
		}
		s.conn.SetReadDeadline(time.Now().Add(SessionTimeout))
		line, err := ReadLine(s.br)
		if err != nil {
			if errors.Is(err, ErrLineTooLong) {
				s.reply("-ERR line too long")
				s.bw.Flush()
			}
			if errors.Is(err, io.EOF) {
				return nil // dropped without QUIT: nothing changes
			}
			return fmt.Errorf("pop3 session: %w", err)
		}
		cmd, err := ParseCommand(line)
		if err != nil {
			s.reply("-ERR malformed command")
			continue
		}
		if cmd.Verb == "QUIT" {
			return s.quit()
		}
		s.dispatch(cmd)
	}
}

func (s *session) dispatch(cmd Command) {
	switch cmd.Verb {
	case "STAT":
		n, octets := 0, int64(0)
		for _, m := range s.mb.msgs {
			if s.live(m) {
				n++
				octets += m.size
			}
		}
		s.reply("+OK %d %d", n, octets)
	case "LIST", "UIDL":
		s.listing(cmd)
	case "RETR":
		if m, n, ok := s.arg(cmd, 1); ok {
			s.send(m, n, -1)
		}
	case "TOP":
		m, n, ok := s.arg(cmd, 2)
		if !ok {
			return
		}
		lines, ok := decimal(cmd.Args[1])
		if !ok {
			s.reply("-ERR bad line count")
			return
		}
		s.send(m, n, lines)
	case "DELE":
		if m, n, ok := s.arg(cmd, 1); ok {
			m.deleted = true
			s.reply("+OK message %d deleted", n)
		}
	case "RSET":
		for _, m := range s.mb.msgs {
			m.deleted = false
		}
		s.reply("+OK")
	case "NOOP":
		s.reply("+OK")
	case "CAPA":
		s.reply("+OK capability list follows")
		for _, c := range transactionCaps {
			s.reply("%s", c)
		}
		s.reply(".")
	default:
		s.reply("-ERR unknown command")
	}
}

// live reports whether m may be named by the client: not deleted and still
// on disk. It computes the size on first use and caches it for the
// session; a file found missing is marked gone, never a crash.
func (s *session) live(m *message) bool {
	if m.deleted || m.gone {
		return false
	}
	if m.size >= 0 {
		return true
	}
	f, err := os.Open(s.mb.path(m))
	if err != nil {
		s.vanished(m, err)
		return false
	}
	defer f.Close()
	size, err := copyCRLF(io.Discard, f, false, -1)
	if err != nil {
		s.vanished(m, err)
		return false
	}
	m.size = size
	return true
}

func (s *session) vanished(m *message, err error) {
	m.gone = true
	if !errors.Is(err, fs.ErrNotExist) {
		s.log.Printf("warning: %s/%s: %v", m.dir, m.name, err)
	}
}

// arg resolves the message-number argument of a command taking want
// arguments, replying -ERR itself when it does not name a live message.
func (s *session) arg(cmd Command, want int) (*message, int, bool) {
	if len(cmd.Args) != want {
		s.reply("-ERR %s needs %d argument(s)", cmd.Verb, want)
		return nil, 0, false
	}
	n, ok := msgNumber(cmd.Args[0])
	if !ok || n > len(s.mb.msgs) || !s.live(s.mb.msgs[n-1]) {
		s.reply("-ERR no such message")
		return nil, 0, false
	}
	return s.mb.msgs[n-1], n, true
}

func (s *session) listing(cmd Command) {
	line := func(n int, m *message) string {
		if cmd.Verb == "LIST" {
			return fmt.Sprintf("%d %d", n, m.size)
		}
		return fmt.Sprintf("%d %s", n, m.uid)
	}
	if len(cmd.Args) > 0 {
		if m, n, ok := s.arg(cmd, 1); ok {
			s.reply("+OK %s", line(n, m))
		}
		return
	}
	s.reply("+OK")
	for i, m := range s.mb.msgs {
		if s.live(m) {
			s.reply("%s", line(i+1, m))
		}
	}
	s.reply(".")
}

// send answers RETR (lines < 0) or TOP. Only RETR marks the message
// retrieved, so only it moves the message to cur/ as seen on QUIT: TOP is a
// preview, as in most MUAs.
func (s *session) send(m *message, n, lines int) {
	f, err := os.Open(s.mb.path(m))
	if err != nil {
		s.vanished(m, err)
		s.reply("-ERR [SYS/TEMP] message %d vanished", n)
		return
	}
	defer f.Close()
	if lines < 0 {
		s.reply("+OK %d octets", m.size)
	} else {
		s.reply("+OK top of message follows")
	}
	if _, err := copyCRLF(s.bw, f, true, lines); err != nil {
		// The +OK is already out; a read error mid-message can only be
		// told by closing, which the write error path also does.
		s.log.Printf("warning: %s/%s: %v", m.dir, m.name, err)
		s.conn.Close()
		return
	}
	s.reply(".")
	if lines < 0 {
		m.retrieved = true
	}
}

func (s *session) quit() error {
	err := s.mb.commit()
	if err != nil {
		s.reply("-ERR [SYS/TEMP] some deleted messages not removed")
	} else {
		s.reply("+OK bye")
	}
	s.bw.Flush()
	if err != nil {
		return fmt.Errorf("pop3 session: update: %w", err)
	}
	return nil
}
