package webrpc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"goqmail/internal/ipc"
)

// maxFrameRead is the largest frame either side reads: a chunk is at most
// chunkSize plus a few bytes of header; a request head holds MaxArgs
// arguments of at most MaxArg bytes, bounded again by ipc.MaxFrame.
const maxFrameRead = ipc.MaxFrame

// Client is the front's end of one session. Calls are serialized: a
// session answers one request at a time. A protocol error or a timeout
// breaks the client for good (Broken), and the front ends the web session.
type Client struct {
	mu     sync.Mutex
	conn   net.Conn
	rd     *ipc.Reader
	w      *bufio.Writer
	broken error
	closed atomic.Bool // Close was called (without mu: see Close)
}

var errClosed = errors.New("webrpc: session closed")

// NewClient wraps a connection to a session.
func NewClient(conn net.Conn) *Client {
	return &Client{conn: conn, rd: ipc.NewReader(conn, maxFrameRead), w: bufio.NewWriterSize(conn, 64<<10)}
}

// DefaultCallTimeout bounds a call whose context has no deadline: a search
// through a large mailbox is the slowest thing a session does.
const DefaultCallTimeout = 2 * time.Minute

// Call sends req and waits for the response. The error is for transport
// and protocol failures only; a session's refusal is a Response with a
// Status other than OK.
func (c *Client) Call(ctx context.Context, req *Request) (*Response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Load() {
		return nil, errClosed
	}
	if c.broken != nil {
		return nil, c.broken
	}
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(DefaultCallTimeout)
	}
	c.conn.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { c.conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	resp, err := c.call(req)
	if errors.Is(err, ErrTooLarge) {
		return nil, err // refused before a byte was written: still usable
	}
	if err != nil {
		c.broken = fmt.Errorf("webrpc: session %s: %w", req.Op, err)
		c.conn.Close()
		return nil, c.broken
	}
	return resp, nil
}

func (c *Client) call(req *Request) (*Response, error) {
	if err := WriteRequest(c.w, req); err != nil {
		return nil, err
	}
	if err := c.w.Flush(); err != nil {
		return nil, err
	}
	return ReadResponse(c.rd)
}

// Broken says why the client can no longer be used (nil while it can).
func (c *Client) Broken() error {
	if c.closed.Load() {
		return errClosed
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.broken
}

// Close ends the session: the session process sees EOF and exits. It
// does not wait for a call in flight, which fails at once: a logout
// during a body search of a large folder waited for the search, up to
// DefaultCallTimeout, before the connection was closed (found in the
// security review of issue 15). A net.Conn may be closed while another
// goroutine reads or writes it.
func (c *Client) Close() error {
	c.closed.Store(true)
	return c.conn.Close()
}

// Handler answers one request. It must not keep req's byte slices past
// the call; it never returns nil.
type Handler func(req *Request) *Response

// Serve answers requests on rw until the peer closes it (nil) or sends
// something malformed (the error; the caller exits). idle bounds the wait
// for the next request (0: none): a front that vanished without closing
// does not keep a session process forever.
func Serve(conn net.Conn, idle time.Duration, h Handler) error {
	rd := ipc.NewReader(conn, maxFrameRead)
	w := bufio.NewWriterSize(conn, 64<<10)
	for {
		if idle > 0 {
			conn.SetReadDeadline(time.Now().Add(idle))
		}
		req, err := ReadRequest(rd)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		conn.SetReadDeadline(time.Time{})
		resp := h(req)
		if resp == nil {
			resp = Errorf(Failed, "internal error: no answer to %s", req.Op)
		}
		if err := WriteResponse(w, resp); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
}
