package queue

import (
	"fmt"
	"io"
	"os"
	"time"

	"goqmail/internal/ipc"
	"goqmail/internal/proto"
)

// Bouncer writes bounce messages. The queue decides when and records the
// outcome; the wording and MIME structure live in internal/bounce, wired in
// by cmd/goqmail-queue, so that the root spawner, which links this package
// for the queue's file format, links no message composer.
type Bouncer interface {
	// Route says who receives the bounce of a message from origSender:
	// envelope sender and recipient, or drop with the reason (a triple
	// bounce, or double bounces discarded by configuration).
	Route(origSender string) (sender, rcpt string, double, drop bool, why string)
	// Write composes the bounce.
	Write(w io.Writer, b BounceInfo, original io.Reader, size int64) error
}

// BounceInfo is what a bounce reports.
type BounceInfo struct {
	ID         string
	Arrival    time.Time
	Now        time.Time
	OrigSender string
	To         string
	Double     bool
	Failures   []Failure
}

// Failure is one recipient a bounce reports.
type Failure struct{ Rcpt, Text string }

// makeBounce answers send's Bounce request: it writes one bounce for the
// listed recipients as a new queued message, then records them as bounced,
// and for a Last request removes the original. The bounce is committed
// before the records: a crash in between repeats the bounce, it never loses
// it (qmail has the same order: inject, then mark the bounce file done).
func (s *Server) makeBounce(b proto.Bounce) proto.Bounced {
	res := proto.Bounced{ID: b.ID}
	if !s.known(b.ID) {
		res.Text = "no such message"
		return res
	}
	if s.Bouncer == nil {
		res.Text = "no bouncer configured"
		return res
	}
	env, err := ReadEnvelope(s.Layout.Msg(b.ID))
	if err != nil {
		res.Text = err.Error()
		return res
	}
	texts, err := s.latestTexts(b.ID)
	if err != nil {
		res.Text = err.Error()
		return res
	}
	var failures []Failure
	for _, i := range b.Indexes {
		if i >= len(env.Rcpts) {
			res.Text = fmt.Sprintf("recipient %d out of range", i)
			return res
		}
		failures = append(failures, Failure{Rcpt: env.Rcpts[i], Text: texts[i]})
	}
	sender, rcpt, double, drop, why := s.Bouncer.Route(env.Sender)
	if drop {
		s.Log.Printf("msg %s: %s", b.ID, why)
		res.OK, res.Text = true, why
	} else {
		info := BounceInfo{ID: b.ID, Arrival: time.Unix(env.Birth, 0), Now: s.Now(), OrigSender: env.Sender,
			To: rcpt, Double: double, Failures: failures}
		id, err := s.writeBounce(env, sender, info)
		if err != nil {
			res.Text = err.Error()
			return res
		}
		res.OK, res.BounceID = true, id
	}
	for _, i := range b.Indexes {
		rec := StateRecord{Index: i, State: proto.StateBounced, Text: texts[i]}
		if err := AppendState(s.Layout.State(b.ID), rec); err != nil {
			s.Log.Printf("warning: msg %s: %v", b.ID, err)
		}
	}
	s.mu.Lock()
	s.withState[b.ID] = true
	s.mu.Unlock()
	if b.Last {
		s.remove(b.ID)
	}
	return res
}

// latestTexts returns each recipient's last recorded report text.
func (s *Server) latestTexts(id string) (map[int]string, error) {
	texts := map[int]string{}
	sb, err := os.ReadFile(s.Layout.State(id))
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	recs, _ := ParseState(sb)
	for _, r := range recs {
		if r.Index != proto.HoldIndex {
			texts[r.Index] = r.Text
		}
	}
	return texts, nil
}

func (s *Server) writeBounce(env *Envelope, sender string, info BounceInfo) (string, error) {
	orig, err := os.Open(s.Layout.Msg(info.ID))
	if err != nil {
		return "", err
	}
	defer orig.Close()
	c, err := ReadContent(orig, env.FileSize)
	if err != nil {
		return "", err
	}
	m := s.begin(sender, ipc.Cred{UID: os.Getuid(), PID: os.Getpid()})
	m.received = fmt.Appendf(nil, "Received: (goqmail %d invoked for bounce); %s\n", os.Getpid(), info.Now.UTC().Format("2 Jan 2006 15:04:05 -0000"))
	m.env.Rcpts = []string{info.To}
	m.bounceOf = info.ID
	m.wantSign = true // our own message: signed when bouncehost's domain has a key
	content := c.Reader(orig)
	if err := s.Bouncer.Write(writerFunc(func(b []byte) { s.write(m, b) }), info, content, env.Size); err != nil {
		s.discard(m)
		return "", fmt.Errorf("write bounce: %w", err)
	}
	r := s.commit(m)
	if !r.OK {
		return "", fmt.Errorf("queue bounce: %s", r.Text)
	}
	return r.ID, nil
}

// writerFunc adapts the submit path's write to an io.Writer; errors are
// kept in the incoming message and reported by commit.
type writerFunc func([]byte)

func (w writerFunc) Write(p []byte) (int, error) {
	w(p)
	return len(p), nil
}
