package remote

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"goqmail/internal/route"
)

// earlyPoll is how long we look for bytes the peer sent when it should be
// silent (before the final dot, after "220" to STARTTLS). Bytes that have
// already arrived are found at once; the wait only bounds the no-data case.
const earlyPoll = 2 * time.Millisecond

// conn is one SMTP client connection. It is used by one delivery at a time
// (the pool hands it over); nothing in it is safe for concurrent use.
type conn struct {
	target route.Target
	key    connKey
	nc     net.Conn // the transport: TCP, or TLS over it
	br     *bufio.Reader
	bw     *bufio.Writer
	// timeout bounds each reply (one deadline for the whole reply, however
	// slowly it drips in) and each write (timeoutremote).
	timeout time.Duration
	ctx     context.Context // the delivery using the connection
	poll    time.Duration   // earlyPoll, longer in tests

	ext      extensions // nil when the peer only took HELO
	tlsOn    bool
	verified bool
	// tlsRefused: the server answered STARTTLS with an error.
	tlsRefused bool
	tlsInfo    string // "TLS1.3 TLS_AES_128_GCM_SHA256", for logs
	tlsAuth    string // how the certificate was checked: "DANE-EE", "WebPKI", ...; "" not at all
	// broken is set once the connection's state is unknown (I/O error,
	// timeout, protocol violation, 421): it is closed, never reused.
	broken bool
	uses   int
	born   time.Time
}

func newConn(nc net.Conn, t route.Target, timeout time.Duration) *conn {
	c := &conn{target: t, timeout: timeout, ctx: context.Background(), poll: earlyPoll, born: time.Now()}
	c.setTransport(nc)
	return c
}

// setTransport switches to nc (after a TLS handshake). Buffers start
// empty, so nothing read before the switch can be mistaken for data after
// it (CVE-2011-0411).
func (c *conn) setTransport(nc net.Conn) {
	c.nc = nc
	c.br = bufio.NewReaderSize(nc, 4096)
	c.bw = bufio.NewWriterSize(deadlineWriter{c}, 16<<10)
}

// deadline is the time by which the next reply or write must be done:
// the reply timeout, or the delivery's own deadline if that comes first.
func (c *conn) deadline() time.Time {
	d := time.Now().Add(c.timeout)
	if cd, ok := c.ctx.Deadline(); ok && cd.Before(d) {
		d = cd
	}
	return d
}

// deadlineWriter gives every write to the network its own deadline, so a
// peer that stops reading costs at most one timeout per write.
type deadlineWriter struct{ c *conn }

func (w deadlineWriter) Write(p []byte) (int, error) {
	if err := w.c.ctx.Err(); err != nil {
		return 0, err
	}
	w.c.nc.SetWriteDeadline(w.c.deadline())
	return w.c.nc.Write(p)
}

// write buffers one command line. A line holding CR or LF would let an
// address inject commands; callers never build one, and this refuses it.
func (c *conn) write(line string) error {
	if strings.ContainsAny(line, "\r\n\x00") {
		c.broken = true
		return fmt.Errorf("internal error: command with CR, LF or NUL: %q", line)
	}
	c.bw.WriteString(line)
	_, err := c.bw.WriteString("\r\n")
	return err
}

func (c *conn) flush() error {
	if err := c.bw.Flush(); err != nil {
		c.broken = true
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// reply reads one reply under one deadline. Any error breaks the
// connection; a 421 does too, since the peer is closing (RFC 5321 3.8).
func (c *conn) reply() (Reply, error) {
	if err := c.ctx.Err(); err != nil {
		c.broken = true
		return Reply{}, err
	}
	c.nc.SetReadDeadline(c.deadline())
	r, err := readReply(c.br)
	if err != nil {
		c.broken = true
		return r, err
	}
	if r.Code == 421 {
		c.broken = true
	}
	return r, nil
}

// cmd sends one command and reads its reply. Bytes waiting before the
// command went out were not asked for: a peer that talks out of turn is
// not one we can keep in step with.
func (c *conn) cmd(line string) (Reply, error) {
	if c.br.Buffered() > 0 {
		c.broken = true
		return Reply{}, fmt.Errorf("%w: %d unexpected bytes before %s", errProtocol, c.br.Buffered(), verb(line))
	}
	if err := c.write(line); err != nil {
		return Reply{}, err
	}
	if err := c.flush(); err != nil {
		return Reply{}, err
	}
	return c.reply()
}

// silent checks that the peer has sent nothing since its last reply: no
// buffered bytes and none arriving within earlyPoll. A peer that answers
// before we finished (a "250" during the data, commands injected after
// "220" to STARTTLS) is a protocol error. A peer that closed is an error
// too, but not a protocol one.
func (c *conn) silent() error {
	if n := c.br.Buffered(); n > 0 {
		c.broken = true
		return fmt.Errorf("%w: peer sent %d bytes out of turn", errProtocol, n)
	}
	c.nc.SetReadDeadline(time.Now().Add(c.poll))
	_, err := c.br.Peek(1)
	c.nc.SetReadDeadline(time.Time{})
	switch {
	case err == nil:
		c.broken = true
		return fmt.Errorf("%w: peer sent data out of turn", errProtocol)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil
	default:
		c.broken = true
		return fmt.Errorf("read: %w", err)
	}
}

// close ends the connection: QUIT first when it is still in step (qmail
// sends QUIT and does not wait for the answer; neither do we).
func (c *conn) close() {
	if !c.broken {
		c.nc.SetWriteDeadline(time.Now().Add(time.Second))
		if c.write("QUIT") == nil {
			c.bw.Flush()
		}
	}
	c.nc.Close()
}

// tlsSummary says how the connection uses TLS: "TLS1.3
// TLS_AES_128_GCM_SHA256, DANE-EE", "..., not verified" or "none".
func (c *conn) tlsSummary() string {
	switch {
	case !c.tlsOn:
		return "none"
	case c.tlsAuth != "":
		return c.tlsInfo + ", " + c.tlsAuth
	}
	return c.tlsInfo + ", not verified"
}

func verb(line string) string {
	v, _, _ := strings.Cut(line, " ")
	return v
}
