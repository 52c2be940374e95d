package dkimsign

import (
	"errors"
	"net"
	"sync/atomic"
	"time"

	"goqmail/internal/ipc"
	"goqmail/internal/logline"
	"goqmail/internal/proto"
)

// Server answers the queue's signing requests.
type Server struct {
	Log *logline.Logger
	// QueueUID is the only uid that may connect (-1: anyone, single-user
	// mode, where every program runs as one user).
	QueueUID int
	keys     atomic.Pointer[Keys]
}

// SetKeys swaps in a new key set (start, SIGHUP).
func (s *Server) SetKeys(k *Keys) { s.keys.Store(k) }

// requestIdle bounds the wait for the queue's next frame: the queue
// streams a message as its submitter sends it, and smtpd's own timeout
// (timeoutsmtpd, 1200 s by default) bounds that.
const requestIdle = 30 * time.Minute

// Serve accepts connections until ln is closed, each in its own goroutine
// (the queue commits several messages at once).
func (s *Server) Serve(ln *net.UnixListener) error {
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			time.Sleep(100 * time.Millisecond) // EMFILE and the like
			continue
		}
		go s.handle(c)
	}
}

func (s *Server) handle(c *net.UnixConn) {
	defer c.Close()
	cred, err := ipc.PeerCred(c)
	if err != nil || (s.QueueUID >= 0 && cred.UID != s.QueueUID) {
		s.Log.Printf("warning: refused a connection from uid %d (%v): only the queue may ask for signatures", cred.UID, err)
		return
	}
	r := ipc.NewReader(c, proto.MaxChunk+64)
	var msg *Message
	var id string
	defer func() {
		if msg != nil {
			msg.Close()
		}
	}()
	for {
		c.SetReadDeadline(time.Now().Add(requestIdle))
		typ, d, err := r.Next()
		if err != nil {
			return // the queue went away or sent garbage: it gets no answer
		}
		switch {
		case typ == proto.TSignBegin && msg == nil:
			b, err := proto.DecodeSignBegin(d)
			if err != nil {
				s.Log.Printf("warning: bad request from the queue: %v", err)
				return
			}
			id, msg = b.ID, NewMessage(s.keys.Load())
		case typ == proto.TData && msg != nil:
			p, err := proto.DecodeData(d)
			if err != nil {
				s.Log.Printf("warning: msg %s: bad data frame: %v", id, err)
				return
			}
			msg.Write(p)
		case typ == proto.TSignEnd && msg != nil:
			if d.End() != nil {
				return
			}
			res, err := msg.End()
			msg = nil
			if err != nil {
				// The queue turns a missing answer into a temporary
				// failure: the message is not sent unsigned.
				s.Log.Printf("warning: msg %s: signing failed: %v", id, err)
				return
			}
			if res.Field != "" {
				s.Log.Printf("msg %s: signed d=%s s=%s", id, res.Domain, res.Selector)
			} else {
				s.Log.Printf("msg %s: not signed: %s", id, res.Note)
			}
			c.SetWriteDeadline(time.Now().Add(time.Minute))
			c.Write(res.Encode(nil))
			return
		default:
			s.Log.Printf("warning: unexpected frame %#x from the queue", typ)
			return
		}
	}
}
