// Package submittest is a stand-in for the queue's submit socket, for tests
// of programs that submit mail (sendmail, the delivery process's forwards).
// It speaks the queue's side of the protocol exactly as internal/queue's
// handleSubmit does: Begin, Rcpt..., Data..., then Commit (answered) or
// Abort.
package submittest

import (
	"net"
	"sync"
	"testing"

	"goqmail/internal/ipc"
	"goqmail/internal/proto"
)

// Submission is one message as the queue received it.
type Submission struct {
	UID       int // the submitter, from SO_PEERCRED
	Sender    string
	Network   bool
	Rcpts     []string
	Content   string
	Committed bool // answered with an OK Result (false: refused, or aborted)
}

// Queue is a running fake submit socket at Path.
type Queue struct {
	Path   string
	mu     sync.Mutex
	answer proto.Result
	got    []Submission
}

// Start listens on path and answers every Commit with answer; it stops when
// the test ends.
func Start(t testing.TB, path string, answer proto.Result) *Queue {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	q := &Queue{Path: path, answer: answer}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.AcceptUnix()
			if err != nil {
				return
			}
			go q.serve(c)
		}
	}()
	return q
}

// SetAnswer changes the answer to later commits.
func (q *Queue) SetAnswer(r proto.Result) {
	q.mu.Lock()
	q.answer = r
	q.mu.Unlock()
}

// Submissions returns what was received so far.
func (q *Queue) Submissions() []Submission {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]Submission(nil), q.got...)
}

// Take returns what was received so far and forgets it.
func (q *Queue) Take() []Submission {
	q.mu.Lock()
	defer q.mu.Unlock()
	got := q.got
	q.got = nil
	return got
}

func (q *Queue) record(s *Submission) {
	q.mu.Lock()
	q.got = append(q.got, *s)
	q.mu.Unlock()
}

func (q *Queue) serve(c *net.UnixConn) {
	defer c.Close()
	cred, _ := ipc.PeerCred(c)
	r := ipc.NewReader(c, proto.MaxChunk+64)
	var cur *Submission
	for {
		typ, d, err := r.Next()
		if err != nil {
			return
		}
		switch typ {
		case proto.TBegin:
			b, err := proto.DecodeBegin(d)
			if err != nil {
				return
			}
			cur = &Submission{UID: cred.UID, Sender: b.Sender, Network: b.Network}
		case proto.TRcpt:
			rc, err := proto.DecodeRcpt(d)
			if err != nil || cur == nil {
				return
			}
			cur.Rcpts = append(cur.Rcpts, rc.Addr)
		case proto.TData:
			p, err := proto.DecodeData(d)
			if err != nil || cur == nil {
				return
			}
			cur.Content += string(p)
		case proto.TCommit:
			if cur == nil {
				return
			}
			q.mu.Lock()
			answer := q.answer
			q.mu.Unlock()
			cur.Committed = answer.OK
			q.record(cur)
			cur = nil
			if _, err := c.Write(answer.Encode(nil)); err != nil {
				return
			}
		case proto.TAbort:
			if cur != nil {
				q.record(cur)
				cur = nil
			}
		default:
			return
		}
	}
}
