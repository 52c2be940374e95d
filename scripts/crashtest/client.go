package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// smtpConn is a minimal SMTP client: just what a sender needs, and every
// reply checked. net/smtp is frozen and hides the reply to the end of
// DATA behind an io.WriteCloser; we want that reply exactly.
type smtpConn struct {
	c  net.Conn
	br *bufio.Reader
}

// replyTimeout bounds every wait for the server. smtpd answers at once even
// while the queue is being killed (451), so hitting it means a stall.
const replyTimeout = 90 * time.Second

var errTimeout = errors.New("reply timeout")

func dialSMTP(addr string) (*smtpConn, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	s := &smtpConn{c: c, br: bufio.NewReaderSize(c, 4096)}
	code, text, err := s.reply()
	if err == nil && code != 220 {
		err = fmt.Errorf("greeting %d %s", code, text)
	}
	if err == nil {
		code, text, err = s.cmd("EHLO " + heloName)
		if err == nil && code != 250 {
			err = fmt.Errorf("EHLO: %d %s", code, text)
		}
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return s, nil
}

func (s *smtpConn) close() {
	s.c.SetDeadline(time.Now().Add(time.Second))
	s.c.Write([]byte("QUIT\r\n"))
	s.c.Close()
}

// reply reads one (possibly multi-line) reply.
func (s *smtpConn) reply() (int, string, error) {
	s.c.SetReadDeadline(time.Now().Add(replyTimeout))
	var text []string
	for {
		line, err := s.br.ReadString('\n')
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return 0, "", errTimeout
			}
			return 0, "", err
		}
		line = strings.TrimRight(line, "\r\n")
		if len(line) < 4 || (line[3] != ' ' && line[3] != '-') {
			return 0, "", fmt.Errorf("malformed reply %q", line)
		}
		code, err := strconv.Atoi(line[:3])
		if err != nil {
			return 0, "", fmt.Errorf("malformed reply %q", line)
		}
		text = append(text, line[4:])
		if line[3] == ' ' {
			return code, strings.Join(text, " / "), nil
		}
	}
}

func (s *smtpConn) write(p []byte) error {
	s.c.SetWriteDeadline(time.Now().Add(replyTimeout))
	_, err := s.c.Write(p)
	return err
}

func (s *smtpConn) cmd(line string) (int, string, error) {
	if err := s.write([]byte(line + "\r\n")); err != nil {
		return 0, "", err
	}
	return s.reply()
}

// attempt is one try at handing message n to the server.
type attempt struct {
	num        int       // 1, 2, ... (part of the envelope sender)
	start, end time.Time // from MAIL to the last reply or error
	dataSent   bool      // the whole message and its final dot went out: the queue may hold it
	code       int       // reply to the end of DATA (0: none)
	text       string    // that reply, or the error
	outcome    string    // see outcome* below
	qid        string    // queue id from a 250
}

const (
	outcomeAcked   = "acknowledged"  // 250 after DATA
	outcomeTemp    = "refused 4xx"   // a 4xx anywhere (smtpd's 451 while the queue is down)
	outcomePerm    = "refused 5xx"   // never expected: the sender gives up on that message
	outcomeDropped = "conn dropped"  // connection error or timeout
	outcomeNoConn  = "no connection" // could not connect at all
)

// msgRecord is everything the senders learned about one message. Only the
// sender that owns the message touches it; the verifier reads it after
// all senders have finished.
type msgRecord struct {
	attempts []attempt
	acked    int // index into attempts of the 250, -1 if none
	gaveUp   bool
}

// pacer spreads first attempts evenly over the kill phase, so the kills
// land while the load is running rather than after a fast load ended.
type pacer struct {
	start    time.Time
	interval time.Duration
	next     atomic.Int64
}

func (p *pacer) wait(ctx context.Context) {
	k := p.next.Add(1) - 1
	d := time.Until(p.start.Add(time.Duration(k) * p.interval))
	if d <= 0 {
		return
	}
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// sender is one concurrent SMTP client.
type sender struct {
	addr   string
	seed   uint64
	run    string
	recs   []msgRecord
	work   <-chan int
	pace   *pacer
	maxTry int
	// slow makes this sender trickle DATA in 8 KB pieces, 10 ms apart, so
	// messages are in the middle of being received when a kill lands (a
	// killed supervisor's queue once went on writing such a message into a
	// file the new queue had recycled).
	slow    bool
	conn    *smtpConn
	retries []retry // messages to try again, owned by this sender
	// to gives the recipients of message n (nil: demoOnly).
	to func(n int) []string
	// acks, if set, counts acknowledged messages as they happen.
	acks *atomic.Int64
}

type retry struct {
	n  int
	at time.Time
}

// loop sends messages from work, retrying refused ones like a real client
// (with the same X-Crash-Id), until everything is acknowledged, refused
// permanently, or out of attempts, or ctx ends.
func (s *sender) loop(ctx context.Context) {
	defer func() {
		if s.conn != nil {
			s.conn.close()
		}
	}()
	workOpen := true
loop:
	for ctx.Err() == nil {
		n, ok := s.due()
		if !ok && workOpen {
			select {
			case n, ok = <-s.work:
				if !ok {
					workOpen = false
					continue
				}
				if s.pace.wait(ctx); ctx.Err() != nil {
					break loop
				}
			case <-ctx.Done():
				break loop
			}
		}
		if !ok {
			if len(s.retries) == 0 {
				return
			}
			wait := time.Until(s.retries[0].at)
			for _, r := range s.retries {
				wait = min(wait, time.Until(r.at))
			}
			select {
			case <-ctx.Done():
				break loop
			case <-time.After(max(wait, time.Millisecond)):
			}
			continue
		}
		s.try(n)
	}
	// Out of time: what is still waiting for a retry was never accepted.
	for _, r := range s.retries {
		s.recs[r.n].gaveUp = true
	}
}

// due takes a retry whose time has come, if any.
func (s *sender) due() (int, bool) {
	now := time.Now()
	for i, r := range s.retries {
		if !r.at.After(now) {
			s.retries = append(s.retries[:i], s.retries[i+1:]...)
			return r.n, true
		}
	}
	return 0, false
}

func (s *sender) try(n int) {
	rec := &s.recs[n]
	a := attempt{num: len(rec.attempts) + 1, start: time.Now()}
	s.send(n, &a)
	a.end = time.Now()
	rec.attempts = append(rec.attempts, a)
	switch a.outcome {
	case outcomeAcked:
		rec.acked = len(rec.attempts) - 1
		if s.acks != nil {
			s.acks.Add(1)
		}
		return
	case outcomePerm:
		rec.gaveUp = true
		return
	}
	if len(rec.attempts) >= s.maxTry {
		rec.gaveUp = true
		return
	}
	// Back off like a client would, a little longer each time.
	backoff := min(100*time.Millisecond<<min(len(rec.attempts)-1, 5), 2*time.Second)
	s.retries = append(s.retries, retry{n: n, at: time.Now().Add(backoff)})
}

// writeData sends the message's data (dot and CRLF included) at once, or
// trickled for a slow sender.
func (s *sender) writeData(data []byte) error {
	if !s.slow {
		return s.conn.write(data)
	}
	const piece = 8 << 10
	for len(data) > 0 {
		n := min(piece, len(data))
		if err := s.conn.write(data[:n]); err != nil {
			return err
		}
		data = data[n:]
		if len(data) > 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	return nil
}

// send makes one attempt over the current connection, opening one first if
// needed. Any connection trouble closes it; the next attempt reconnects.
func (s *sender) send(n int, a *attempt) {
	if s.conn == nil {
		c, err := dialSMTP(s.addr)
		if err != nil {
			a.outcome, a.text = outcomeNoConn, err.Error()
			return
		}
		s.conn = c
	}
	fail := func(code int, text string, err error) {
		switch {
		case err != nil:
			a.outcome, a.text = outcomeDropped, err.Error()
		case code >= 500:
			a.outcome, a.text = outcomePerm, strconv.Itoa(code)+" "+text
		default:
			a.outcome, a.text = outcomeTemp, strconv.Itoa(code)+" "+text
		}
		// After a dropped connection or a 421 the session is over; after
		// another refusal we start afresh anyway, to keep state simple.
		s.conn.close()
		s.conn = nil
	}
	to := s.to
	if to == nil {
		to = demoOnly
	}
	type step struct {
		line string
		want int
	}
	steps := []step{{"MAIL FROM:<" + envSender(n, a.num) + ">", 250}}
	for _, r := range to(n) {
		steps = append(steps, step{"RCPT TO:<" + r + ">", 250})
	}
	steps = append(steps, step{"DATA", 354})
	for _, st := range steps {
		code, text, err := s.conn.cmd(st.line)
		if err != nil || code != st.want {
			fail(code, text, err)
			return
		}
	}
	if err := s.writeData(wireForm(storedForm(s.seed, s.run, n, to(n)))); err != nil {
		fail(0, "", err)
		return
	}
	a.dataSent = true
	code, text, err := s.conn.reply()
	a.code = code
	if err != nil || code != 250 {
		fail(code, text, err)
		return
	}
	a.outcome, a.text = outcomeAcked, text
	// "ok <unixtime> qp <queue id>"
	if f := strings.Fields(text); len(f) >= 2 && f[len(f)-2] == "qp" {
		a.qid = f[len(f)-1]
	}
}
