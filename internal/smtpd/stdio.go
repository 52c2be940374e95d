package smtpd

import (
	"bufio"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"
)

// ServeStdio runs one SMTP session on r and w for `sendmail -bs`: a local
// program speaks SMTP on the command's standard input and output
// (sendmail(8) -bs; qmail's sendmail wrapper runs qmail-smtpd there with
// RELAYCLIENT set). It returns when the client quits or its input ends.
//
// The session is the network one, with the same commands, replies, limits
// and queue submission, except what only makes sense for a stranger on the
// network:
//   - the client may relay (it is a local user; the queue records its uid
//     from the submit socket, and its Received line says "invoked by uid");
//   - tcp.smtp and the session limit are not consulted;
//   - there is no pregreet or RFC 2920 pipelining check: scripts write the
//     whole dialog at once, and a pipe carries no timing worth judging.
//     The input is handed to the session one line per read, so it never
//     sees bytes buffered behind a command.
//
// The trace header names the client as 127.0.0.1, as qmail's wrapper does
// (TCPREMOTEIP=127.0.0.1). Reads time out after the configured timeout even
// when r cannot set deadlines (a terminal or a plain pipe on stdin).
func (s *Server) ServeStdio(r io.Reader, w io.Writer) {
	s.init()
	cfg := s.cfg.Load()
	c := newStdioConn(r, w)
	loopback := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), 0)
	sess := &session{srv: s, cfg: cfg, conn: c, start: s.Now(), remote: loopback, local: loopback, relayClient: true, stdio: true}
	sess.br = bufio.NewReaderSize(deadlineConn{sess}, 16<<10)
	sess.bw = bufio.NewWriterSize(c, 4<<10)
	defer sess.logEnd()
	if s.closing.Load() {
		sess.replyClose(replyShutdown)
		return
	}
	sess.reply(replyGreeting(cfg.Greeting))
	sess.loop()
	sess.bw.Flush()
}

// stdioConn is a net.Conn over a reader and a writer. A goroutine reads
// the input one line (or one buffer-full of a long line) at a time and
// hands it over through a channel, so Read can give up at the read
// deadline whatever r is; it reads at most one line ahead of the session.
// The goroutine ends with the input; a command exits anyway.
type stdioConn struct {
	w     io.Writer
	lines chan stdioLine

	mu       sync.Mutex
	deadline time.Time
	pending  []byte
	err      error
}

type stdioLine struct {
	b   []byte
	err error
}

func newStdioConn(r io.Reader, w io.Writer) *stdioConn {
	c := &stdioConn{w: w, lines: make(chan stdioLine)}
	go c.readLines(bufio.NewReaderSize(r, 16<<10))
	return c
}

func (c *stdioConn) readLines(br *bufio.Reader) {
	for {
		frag, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			err = nil
		}
		c.lines <- stdioLine{b: append([]byte(nil), frag...), err: err}
		if err != nil {
			return
		}
	}
}

func (c *stdioConn) Read(p []byte) (int, error) {
	if len(c.pending) == 0 && c.err == nil {
		c.mu.Lock()
		deadline := c.deadline
		c.mu.Unlock()
		var timeout <-chan time.Time
		if !deadline.IsZero() {
			t := time.NewTimer(time.Until(deadline))
			defer t.Stop()
			timeout = t.C
		}
		select {
		case l := <-c.lines:
			c.pending, c.err = l.b, l.err
		case <-timeout:
			return 0, os.ErrDeadlineExceeded
		}
	}
	if len(c.pending) == 0 {
		return 0, c.err
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

func (c *stdioConn) Write(p []byte) (int, error) { return c.w.Write(p) }
func (c *stdioConn) Close() error                { return nil }
func (c *stdioConn) LocalAddr() net.Addr         { return stdioAddr{} }
func (c *stdioConn) RemoteAddr() net.Addr        { return stdioAddr{} }

func (c *stdioConn) SetDeadline(t time.Time) error { return c.SetReadDeadline(t) }

func (c *stdioConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	c.mu.Unlock()
	return nil
}

// SetWriteDeadline is not enforced: a client that stops reading its own
// standard output blocks only itself.
func (c *stdioConn) SetWriteDeadline(time.Time) error { return nil }

type stdioAddr struct{}

func (stdioAddr) Network() string { return "stdio" }
func (stdioAddr) String() string  { return "stdio" }
