package queue

import (
	"bufio"
	"net"
	"os"
	"sort"
	"sync"

	"goqmail/internal/ipc"
	"goqmail/internal/proto"
)

// subscriber is the connected send process: frames for it are queued here
// and written by one goroutine, so a slow send never blocks a commit.
type subscriber struct {
	conn   uint64 // accept number of its connection
	mu     sync.Mutex
	cond   *sync.Cond
	queue  [][]byte
	closed bool
}

func newSubscriber() *subscriber {
	s := &subscriber{}
	s.cond = sync.NewCond(&s.mu)
	return s
}

func (s *subscriber) push(frames []byte) {
	s.mu.Lock()
	if !s.closed {
		s.queue = append(s.queue, frames)
		s.cond.Signal()
	}
	s.mu.Unlock()
}

func (s *subscriber) close() {
	s.mu.Lock()
	s.closed = true
	s.cond.Broadcast()
	s.mu.Unlock()
}

// next waits for queued frames; nil means closed.
func (s *subscriber) next() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.queue) == 0 && !s.closed {
		s.cond.Wait()
	}
	if s.closed {
		return nil
	}
	q := s.queue
	s.queue = nil
	return q
}

// handleCtl serves send: the snapshot of the queue, then new messages as
// they commit; in the other direction recipient updates and removals.
//
// Only the most recently accepted connection is served: a send that was
// killed while the queue was down leaves its connection in the backlog, and
// when both are accepted after a restart the handlers may run in any order.
// Comparing accept numbers, not arrival at this point, keeps the live send.
func (s *Server) handleCtl(c *net.UnixConn, n uint64) {
	cred, err := ipc.PeerCred(c)
	if err != nil || (s.SendUID >= 0 && cred.UID != s.SendUID) {
		s.Log.Printf("warning: ctl: refused connection from uid %d (%v)", cred.UID, err)
		return
	}
	r := ipc.NewReader(c, 0)
	typ, d, err := r.Next()
	if err != nil || typ != proto.THello || proto.DecodeHello(d) != nil {
		s.Log.Printf("warning: ctl: bad hello: %v", err)
		return
	}
	sub := newSubscriber()
	sub.conn = n
	s.mu.Lock()
	if s.sub != nil && s.sub.conn > n {
		s.mu.Unlock()
		s.Log.Printf("warning: ctl: dropped a stale control connection (a newer send is connected)")
		return
	}
	if s.sub != nil {
		s.sub.close() // a newer send replaces the old one
	}
	s.sub = sub
	ids := make([]string, 0, len(s.ids))
	for id := range s.ids {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.sub == sub {
			s.sub = nil
		}
		s.mu.Unlock()
		sub.close()
	}()
	sort.Strings(ids)

	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		defer c.Close() // unblocks the reader if writing fails
		w := bufio.NewWriterSize(c, 64<<10)
		for _, id := range ids {
			frames, err := s.snapshotMsg(id)
			if err != nil {
				s.Log.Printf("warning: ctl: msg %s: %v", id, err)
				continue
			}
			if _, err := w.Write(frames); err != nil {
				return
			}
		}
		w.Write(proto.EncodeSnapEnd(nil))
		if w.Flush() != nil {
			return
		}
		for {
			batch := sub.next()
			if batch == nil {
				return
			}
			for _, f := range batch {
				w.Write(f)
			}
			if w.Flush() != nil {
				return
			}
		}
	}()

	for {
		typ, d, err := r.Next()
		if err != nil {
			break
		}
		switch typ {
		case proto.TUpdate:
			u, err := proto.DecodeUpdate(d)
			if err != nil {
				s.Log.Printf("warning: ctl: %v", err)
				goto out
			}
			s.update(u)
		case proto.TBounce:
			b, err := proto.DecodeBounce(d)
			if err != nil {
				s.Log.Printf("warning: ctl: %v", err)
				goto out
			}
			sub.push(s.makeBounce(b).Encode(nil))
		case proto.TDone:
			id, err := proto.DecodeDone(d)
			if err != nil {
				s.Log.Printf("warning: ctl: %v", err)
				goto out
			}
			s.remove(id)
		default:
			s.Log.Printf("warning: ctl: unexpected frame type %#x", typ)
			goto out
		}
	}
out:
	sub.close()
	c.Close()
	<-writerDone
}

// snapshotMsg reads a message's envelope and state log from disk.
func (s *Server) snapshotMsg(id string) ([]byte, error) {
	env, err := ReadEnvelope(s.Layout.Msg(id))
	if err != nil {
		return nil, err
	}
	states := make([]proto.RcptState, len(env.Rcpts))
	for i := range states {
		states[i].Index = i
	}
	held := false
	if sb, err := os.ReadFile(s.Layout.State(id)); err == nil {
		recs, torn := ParseState(sb)
		if torn {
			s.Log.Printf("warning: msg %s: state log ends in a torn record (crash while appending); earlier records kept", id)
		}
		for _, r := range recs {
			if r.Index == proto.HoldIndex {
				held = r.State == 1
				continue
			}
			if r.Index < len(states) {
				states[r.Index] = proto.RcptState{Index: r.Index, State: r.State, RetryAt: r.RetryAt, Text: r.Text}
			}
		}
	} else if !os.IsNotExist(err) {
		return nil, err
	}
	return encodeMsg(id, env, states, held), nil
}

func (s *Server) known(id string) bool {
	s.mu.Lock()
	_, ok := s.ids[id]
	s.mu.Unlock()
	return ok
}

func (s *Server) update(u proto.Update) {
	if !s.known(u.ID) {
		s.Log.Printf("warning: ctl: update for unknown msg %s", u.ID)
		return
	}
	rec := StateRecord{Index: u.Index, State: u.State, RetryAt: u.RetryAt, Text: proto.CleanText(u.Text)}
	s.mu.Lock()
	s.withState[u.ID] = true
	s.mu.Unlock()
	if err := AppendState(s.Layout.State(u.ID), rec); err != nil {
		// Losing a state record repeats a delivery at worst.
		s.Log.Printf("warning: msg %s: %v", u.ID, err)
	}
}

func (s *Server) remove(id string) {
	if !s.known(id) {
		s.Log.Printf("warning: ctl: done for unknown msg %s", id)
		return
	}
	s.mu.Lock()
	hasState := s.withState[id]
	size := s.ids[id]
	delete(s.ids, id)
	delete(s.withState, id)
	s.mu.Unlock()
	// The journal's done record first: a power loss that brings the
	// message's name back must not also bring it back to life
	// (recoverJournal). Then the message file: once it is gone the
	// message is.
	s.journal.done(id)
	if err := s.recycle(s.Layout.Msg(id), size); err != nil {
		s.Log.Printf("warning: msg %s: remove: %v", id, err)
	}
	if hasState {
		if err := os.Remove(s.Layout.State(id)); err != nil && !os.IsNotExist(err) {
			s.Log.Printf("warning: msg %s: remove state: %v", id, err)
		}
	}
}
