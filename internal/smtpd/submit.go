package smtpd

import (
	"bufio"
	"fmt"
	"net"
	"time"

	"goqmail/internal/ipc"
	"goqmail/internal/proto"
)

// queueConn is a connection to the queue's submit socket. Sessions borrow
// one from the server's pool at DATA and give it back after the queue's
// answer, so most messages cost no connect and accept.
type queueConn struct {
	path string
	c    net.Conn
	w    *bufio.Writer
	r    *ipc.Reader
	buf  []byte
	// chunk stages message bytes so the queue gets frames of up to 64 KB
	// however small the DATA reader's writes are.
	chunk []byte
	err   error
}

func (q *queueConn) open() error {
	if q.c != nil && q.err == nil {
		return nil
	}
	q.close()
	c, err := net.DialTimeout("unix", q.path, 10*time.Second)
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

func (q *queueConn) close() {
	if q.c != nil {
		q.c.Close()
	}
	q.c, q.w, q.r = nil, nil, nil
}

func (q *queueConn) frame(f []byte) {
	if q.err != nil {
		return
	}
	if _, err := q.w.Write(f); err != nil {
		q.err = err
	}
}

// begin starts a submission with its envelope, sent at once so that a
// pooled connection whose queue has restarted since is noticed now, before
// the 354, and replaced by a fresh one.
func (q *queueConn) begin(sender string, rcpts []string) error {
	for attempt := 0; ; attempt++ {
		if err := q.open(); err != nil {
			return err
		}
		q.chunk = q.chunk[:0]
		q.buf = proto.Begin{Sender: sender}.Encode(q.buf)
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
		q.close()
	}
}

// Write stages message content; it never fails the DATA reader (errors are
// reported at commit) so the session reads the client's data to its end.
func (q *queueConn) Write(p []byte) (int, error) {
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

func (q *queueConn) flushChunk() {
	if len(q.chunk) == 0 {
		return
	}
	q.buf = proto.EncodeData(q.buf, q.chunk)
	q.frame(q.buf)
	q.chunk = q.chunk[:0]
}

// commit asks the queue to make the message durable and waits for its answer.
func (q *queueConn) commit(timeout time.Duration) (proto.Result, error) {
	q.flushChunk()
	q.buf = proto.EncodeCommit(q.buf)
	q.frame(q.buf)
	if q.err == nil {
		q.err = q.w.Flush()
	}
	if q.err != nil {
		err := q.err
		q.close()
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
		q.close()
		return proto.Result{}, err
	}
	return res, nil
}

// abort drops the message being submitted.
func (q *queueConn) abort() {
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
		q.close()
	}
}

// takeQueue lends a session a queue connection.
func (s *Server) takeQueue() *queueConn {
	select {
	case q := <-s.qpool:
		return q
	default:
		return &queueConn{path: s.SubmitSocket}
	}
}

// giveQueue takes a connection back after the queue answered (or the
// message was aborted); a broken one is closed.
func (s *Server) giveQueue(q *queueConn) {
	if q.c == nil || q.err != nil {
		q.close()
		return
	}
	select {
	case s.qpool <- q:
	default:
		q.close()
	}
}
