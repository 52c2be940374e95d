// Package submit is the client side of the queue's submit socket: the one
// way into the queue, used by the SMTP server, by sendmail for local
// programs, and by the delivery process for forwards. The queue records the
// peer's uid from the socket itself (SO_PEERCRED), so a client cannot lie
// about who submitted.
package submit

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"time"

	"goqmail/internal/ipc"
	"goqmail/internal/proto"
)

// Conn is a connection to the queue's submit socket. Sessions borrow
// one from the server's pool at DATA and give it back after the queue's
// answer, so most messages cost no connect and accept.
type Conn struct {
	Path string // the queue's submit socket
	// Network marks messages received by the SMTP server (see proto.Begin).
	Network bool
	// Sign asks for a DKIM signature of network mail (see proto.Begin);
	// the SMTP server sets it per message.
	Sign bool
	c    net.Conn
	w    *bufio.Writer
	r    *ipc.Reader
	buf  []byte
	// chunk stages message bytes so the queue gets frames of up to 64 KB
	// however small the DATA reader's writes are.
	chunk []byte
	err   error
}

func (q *Conn) open() error {
	if q.c != nil && q.err == nil {
		return nil
	}
	q.Close()
	c, err := net.DialTimeout("unix", q.Path, 10*time.Second)
	if err != nil {
		return fmt.Errorf("connect to queue: %w", err)
	}
	q.c, q.err = c, nil
	q.w = bufio.NewWriterSize(c, proto.MaxChunk+64)
	q.r = ipc.NewReader(c, 0)
	if q.chunk == nil {
		q.chunk = make([]byte, 0, proto.MaxChunk)
	}
	return nil
}

func (q *Conn) Close() {
	if q.c != nil {
		q.c.Close()
	}
	q.c, q.w, q.r = nil, nil, nil
}

func (q *Conn) frame(f []byte) {
	if q.err != nil {
		return
	}
	if _, err := q.w.Write(f); err != nil {
		q.err = err
	}
}

// Begin starts a submission with its envelope, sent at once so that a
// pooled connection whose queue has restarted since is noticed now, before
// the 354, and replaced by a fresh one.
func (q *Conn) Begin(sender string, rcpts []string) error {
	for attempt := 0; ; attempt++ {
		if err := q.open(); err != nil {
			return err
		}
		q.chunk = q.chunk[:0]
		q.buf = proto.Begin{Sender: sender, Network: q.Network, Sign: q.Sign}.Encode(q.buf)
		q.frame(q.buf)
		for _, r := range rcpts {
			q.buf = proto.Rcpt{Addr: r}.Encode(q.buf)
			q.frame(q.buf)
		}
		if q.err == nil {
			q.err = q.w.Flush()
		}
		if q.err == nil || attempt > 0 {
			return q.err
		}
		q.Close()
	}
}

// Write stages message content; it never fails the DATA reader (errors are
// reported at commit) so the session reads the client's data to its end.
func (q *Conn) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		room := cap(q.chunk) - len(q.chunk)
		if room == 0 {
			q.flushChunk()
			continue
		}
		if room > len(p) {
			room = len(p)
		}
		q.chunk = append(q.chunk, p[:room]...)
		p = p[room:]
	}
	return n, nil
}

func (q *Conn) flushChunk() {
	if len(q.chunk) == 0 {
		return
	}
	q.buf = proto.EncodeData(q.buf, q.chunk)
	q.frame(q.buf)
	q.chunk = q.chunk[:0]
}

// Prefix adds header lines (LF line ends, complete fields) to be delivered
// before the content: what the client learns only at the end of the data
// (Authentication-Results, a filter's headers). Call it after the content
// and before Commit; the queue refuses lines that break proto.CheckPrefix
// and more than proto.MaxPrefix in all.
func (q *Conn) Prefix(lines []byte) {
	q.flushChunk()
	for len(lines) > 0 {
		n := min(len(lines), proto.MaxChunk)
		if n < len(lines) {
			// Split after a line end, so each frame holds whole lines.
			if i := bytes.LastIndexByte(lines[:n], '\n'); i >= 0 {
				n = i + 1
			}
		}
		q.buf = proto.EncodePrefix(q.buf, lines[:n])
		q.frame(q.buf)
		lines = lines[n:]
	}
}

// Commit asks the queue to make the message durable and waits for its answer.
func (q *Conn) Commit(timeout time.Duration) (proto.Result, error) {
	q.flushChunk()
	q.buf = proto.EncodeCommit(q.buf)
	q.frame(q.buf)
	if q.err == nil {
		q.err = q.w.Flush()
	}
	if q.err != nil {
		err := q.err
		q.Close()
		return proto.Result{}, err
	}
	q.c.SetReadDeadline(time.Now().Add(timeout))
	typ, d, err := q.r.Next()
	if err == nil && typ != proto.TResult {
		err = fmt.Errorf("unexpected frame type %#x", typ)
	}
	var res proto.Result
	if err == nil {
		res, err = proto.DecodeResult(d)
	}
	if err != nil {
		q.Close()
		return proto.Result{}, err
	}
	return res, nil
}

// Abort drops the message being submitted.
func (q *Conn) Abort() {
	if q.c == nil {
		return
	}
	q.chunk = q.chunk[:0]
	q.buf = proto.EncodeAbort(q.buf)
	q.frame(q.buf)
	if q.err == nil {
		q.err = q.w.Flush()
	}
	if q.err != nil {
		q.Close()
	}
}

// Broken reports whether the connection failed and must not be reused.
func (q *Conn) Broken() bool { return q.c == nil || q.err != nil }

// Message submits one whole message on a fresh connection and returns the
// queue's answer; used by programs that inject a message now and then.
func Message(path, sender string, rcpts []string, content io.Reader, timeout time.Duration) (proto.Result, error) {
	q := &Conn{Path: path}
	defer q.Close()
	if err := q.Begin(sender, rcpts); err != nil {
		return proto.Result{}, err
	}
	if _, err := io.Copy(q, content); err != nil {
		q.Abort()
		return proto.Result{}, err
	}
	return q.Commit(timeout)
}
