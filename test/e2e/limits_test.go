package e2e

// Issue 11, items 1 and 2: one client address must not shut out everyone.
// 200 slow SMTP connections (and silent ones to 465) from 127.0.0.2 while
// 127.0.0.3 delivers over port 25 and an authenticated client submits
// over 587 and 465; POP3 bad-login loops from 127.0.0.2 while a good
// login from 127.0.0.3 goes through. Everything with the shipped
// defaults (docs/limits.md). Each step of the good clients must be
// answered within stepBound: a liveness check with room for a busy
// machine, not a measurement.

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// stepBound is how long one reply to a good client may take while the
// abuser is at work.
const stepBound = 5 * time.Second

// dialFrom connects to addr from the loopback address ip (all of
// 127.0.0.0/8 is this machine).
func dialFrom(ip, addr string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: stepBound}
	return d.Dial("tcp", addr)
}

// lineClient is a client of a line protocol (SMTP, POP3) whose every
// answer must come within stepBound.
type lineClient struct {
	t    *testing.T
	what string
	c    net.Conn
	br   *bufio.Reader
}

func newLineClient(t *testing.T, what string, c net.Conn) *lineClient {
	t.Cleanup(func() { c.Close() })
	return &lineClient{t: t, what: what, c: c, br: bufio.NewReader(c)}
}

// answer reads one reply (the last line of an SMTP multi-line one) and
// fails unless it starts with want and came within stepBound.
func (lc *lineClient) answer(step, want string) string {
	lc.t.Helper()
	start := time.Now()
	lc.c.SetReadDeadline(start.Add(stepBound))
	for {
		l, err := lc.br.ReadString('\n')
		if err != nil {
			lc.t.Fatalf("%s, %s: no answer within %v: %v (got %q)", lc.what, step, stepBound, err, l)
		}
		if len(l) >= 4 && l[3] == '-' && l[0] >= '2' && l[0] <= '5' {
			continue // an SMTP continuation line
		}
		if !strings.HasPrefix(l, want) {
			lc.t.Fatalf("%s, %s: %q, want %q", lc.what, step, l, want)
		}
		lc.t.Logf("%s, %s: answered in %v", lc.what, step, time.Since(start).Round(time.Millisecond))
		return l
	}
}

// do sends one command line and checks the answer.
func (lc *lineClient) do(cmd, want string) string {
	lc.t.Helper()
	lc.c.SetWriteDeadline(time.Now().Add(stepBound))
	if _, err := fmt.Fprintf(lc.c, "%s\r\n", cmd); err != nil {
		lc.t.Fatalf("%s, %s: %v", lc.what, cmd, err)
	}
	step, _, _ := strings.Cut(cmd, "\r\n")
	if strings.HasPrefix(cmd, "AUTH ") || strings.HasPrefix(cmd, "PASS ") {
		step = cmd[:4] + " ..."
	}
	return lc.answer(step, want)
}

// startTLS makes the client speak TLS (after STARTTLS, or at once on 465).
func (lc *lineClient) startTLS() {
	lc.t.Helper()
	tc := tls.Client(lc.c, &tls.Config{InsecureSkipVerify: true, ServerName: "mail.example.test"})
	tc.SetDeadline(time.Now().Add(stepBound))
	if err := tc.Handshake(); err != nil {
		lc.t.Fatalf("%s: TLS handshake: %v", lc.what, err)
	}
	lc.c, lc.br = tc, bufio.NewReader(tc)
}

// smtpMessage sends one message in an open session (after EHLO and any
// AUTH) and returns the reply to the final dot.
func (lc *lineClient) smtpMessage(from, rcpt, subject string) string {
	lc.t.Helper()
	lc.do("MAIL FROM:<"+from+">", "250 ")
	lc.do("RCPT TO:<"+rcpt+">", "250 ")
	lc.do("DATA", "354 ")
	return lc.do("Subject: "+subject+"\r\n\r\nsent while 127.0.0.2 is at it\r\n.", "250 ")
}

func TestSlowClientsCannotShutOutOthers(t *testing.T) {
	t.Parallel()
	sub, smtps := freePort(t), freePort(t)
	s := NewServer(t, Options{Control: map[string]string{
		"submissionlisten": fmt.Sprintf("127.0.0.1:%d\n", sub),
		"smtpslisten":      fmt.Sprintf("127.0.0.1:%d\n", smtps),
	}})
	user := c6VirtualUser(t, s, "mia", "limit secret")
	subAddr, smtpsAddr := fmt.Sprintf("127.0.0.1:%d", sub), fmt.Sprintf("127.0.0.1:%d", smtps)

	// The abuser: 200 connections to port 25 from 127.0.0.2, each sending
	// a byte of a NOOP every 3 s once greeted, and 50 to 465 that never
	// say a word (no TLS handshake).
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var greeted, refusedSMTP, silentOpen, closedSilently atomic.Int64
	var other sync.Map // first lines that are neither
	defer func() { close(stop); wg.Wait() }()
	var ready sync.WaitGroup
	for i := range 250 {
		wg.Add(1)
		ready.Add(1)
		go func() {
			defer wg.Done()
			if i >= 200 {
				silent(stop, &ready, smtpsAddr, &silentOpen, &closedSilently)
				return
			}
			c, err := dialFrom("127.0.0.2", s.Addr)
			if err != nil {
				other.Store("dial: "+err.Error(), true)
				ready.Done()
				return
			}
			defer c.Close()
			c.SetReadDeadline(time.Now().Add(clientTimeout))
			first, _ := bufio.NewReader(c).ReadString('\n')
			switch {
			case strings.HasPrefix(first, "220 "):
				greeted.Add(1)
			case first == "421 4.7.0 too many connections from your address; try again later\r\n":
				refusedSMTP.Add(1)
			default:
				other.Store(first, true)
			}
			ready.Done()
			if !strings.HasPrefix(first, "220 ") {
				return
			}
			for _, b := range []byte("NOOP\r\n") {
				select {
				case <-stop:
					return
				case <-time.After(3 * time.Second):
				}
				c.Write([]byte{b})
			}
		}()
	}
	ready.Wait()
	other.Range(func(k, _ any) bool { t.Errorf("a slow client from 127.0.0.2 got %q", k); return true })
	if greeted.Load() != 20 || refusedSMTP.Load() != 180 {
		t.Errorf("of 200 connections from 127.0.0.2 to port 25, %d were greeted and %d refused with 421 4.7.0; want 20 (concurrencyperip) and 180",
			greeted.Load(), refusedSMTP.Load())
	}

	// 127.0.0.3 delivers over port 25.
	c, err := dialFrom("127.0.0.3", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	mx := newLineClient(t, "127.0.0.3 on port 25", c)
	mx.answer("greeting", "220 ")
	mx.do("EHLO mx.example.org", "250 ")
	mx.smtpMessage("a@example.org", "demo@example.test", "from 127.0.0.3")
	mx.do("QUIT", "221 ")

	// An authenticated client submits over 587 (STARTTLS) and 465.
	login := "AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00limit secret"))
	c, err = dialFrom("127.0.0.4", subAddr)
	if err != nil {
		t.Fatal(err)
	}
	msa := newLineClient(t, "127.0.0.4 on 587", c)
	msa.answer("greeting", "220 ")
	msa.do("EHLO laptop.example.org", "250 ")
	msa.do("STARTTLS", "220 ")
	msa.startTLS()
	msa.do("EHLO laptop.example.org", "250 ")
	msa.do(login, "235 ")
	msa.smtpMessage(user, "far@remote.example", "over 587")
	msa.do("QUIT", "221 ")

	c, err = dialFrom("127.0.0.4", smtpsAddr)
	if err != nil {
		t.Fatal(err)
	}
	msa = newLineClient(t, "127.0.0.4 on 465", c)
	msa.startTLS()
	msa.answer("greeting", "220 ")
	msa.do("EHLO laptop.example.org", "250 ")
	msa.do(login, "235 ")
	msa.smtpMessage(user, "far@remote.example", "over 465")
	msa.do("QUIT", "221 ")

	s.WaitMaildir(1, deliverTimeout)
	// Of the 50 silent connections to 465, 20 wait for a handshake and
	// 30 were closed at once, before any TLS.
	waitFor(t, clientTimeout, "the silent 465 connections to be sorted", func() bool {
		return silentOpen.Load()+closedSilently.Load() == 50
	})
	if silentOpen.Load() != 20 || closedSilently.Load() != 30 {
		t.Errorf("of 50 silent connections to 465, %d stayed open and %d were closed; want 20 and 30", silentOpen.Load(), closedSilently.Load())
	}
	for _, want := range []string{
		`smtpd: 127\.0\.0\.2:\d+: refused on smtp with 421 4\.7\.0: 20 sessions from 127\.0\.0\.2 already \(concurrencyperip 20\)`,
		`smtpd: 127\.0\.0\.2:\d+: refused on smtps \(closed before TLS\): 20 sessions from 127\.0\.0\.2 already \(concurrencyperip 20\)`,
	} {
		s.WaitLog(want, 1, stepBound)
	}
}

// silent opens a connection to an smtps port and says nothing. It counts
// the connection as open once no byte and no close came within two
// seconds (the server waits for a TLS handshake), or as closed when the
// server closed it without a word; then it waits for stop.
func silent(stop chan struct{}, ready *sync.WaitGroup, addr string, open, closed *atomic.Int64) {
	c, err := dialFrom("127.0.0.2", addr)
	if err != nil {
		ready.Done()
		return
	}
	defer c.Close()
	ready.Done()
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	var b [1]byte
	_, err = c.Read(b[:])
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		open.Add(1)
	case errors.Is(err, io.EOF):
		closed.Add(1)
		return
	default:
		return
	}
	<-stop
}

func TestPOP3BadLoginLoopsLeaveOthersIn(t *testing.T) {
	t.Parallel()
	pop := freePort(t)
	s := NewServer(t, Options{Control: map[string]string{
		"pop3listen":    fmt.Sprintf("127.0.0.1:%d\n", pop),
		"authplaintext": "1\n", // the abuser's loop stays cheap: no TLS
	}})
	c6VirtualUser(t, s, "pat", "pop secret")
	addr := fmt.Sprintf("127.0.0.1:%d", pop)

	// 100 loops from 127.0.0.2: connect, USER/PASS with a wrong password
	// until the server closes, again; a refused connection waits 100 ms.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var refusedAtConnect, badAnswers, tempAnswers atomic.Int64
	var other sync.Map
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				badLogins(stop, addr, &refusedAtConnect, &badAnswers, &tempAnswers, &other)
			}
		}()
	}
	// Let the loops run into the limits (and the auth service's delays).
	waitFor(t, clientTimeout, "the bad-login loops to meet the limits", func() bool {
		return refusedAtConnect.Load() > 0 && tempAnswers.Load() > 0 && badAnswers.Load() >= 4
	})

	c, err := dialFrom("127.0.0.3", addr)
	if err != nil {
		t.Fatal(err)
	}
	good := newLineClient(t, "127.0.0.3 on POP3", c)
	good.answer("greeting", "+OK ")
	good.do("USER pat@virt.example", "+OK")
	good.do("PASS pop secret", "+OK ")
	good.do("STAT", "+OK 0 0")
	good.do("QUIT", "+OK")
	close(stop)
	wg.Wait()

	other.Range(func(k, _ any) bool { t.Errorf("a bad-login loop got %q", k); return true })
	t.Logf("bad-login loops: %d connections refused, %d logins refused as wrong, %d refused unchecked",
		refusedAtConnect.Load(), badAnswers.Load(), tempAnswers.Load())
	for _, want := range []string{
		`pop3d: 127\.0\.0\.2:\d+: refused: \d+ (sessions|connections) from this address`,
		`auth: warning: pop3 login pat@virt\.example from 127\.0\.0\.2: refused unchecked: 4 logins from this address in progress \(authconcurrencyperip 4\)`,
	} {
		s.WaitLog(want, 1, stepBound)
	}
}

// badLogins is one connection of a bad-login loop: USER and a wrong PASS
// until the server closes the connection. It sorts the answers.
func badLogins(stop chan struct{}, addr string, refused, bad, temp *atomic.Int64, other *sync.Map) {
	c, err := dialFrom("127.0.0.2", addr)
	if err != nil {
		other.Store("dial: "+err.Error(), true)
		time.Sleep(50 * time.Millisecond)
		return
	}
	defer c.Close()
	done := make(chan struct{})
	defer close(done)
	go func() { // a stop ends the wait for an answer the auth service delays
		select {
		case <-stop:
			c.Close()
		case <-done:
		}
	}()
	br := bufio.NewReader(c)
	c.SetDeadline(time.Now().Add(clientTimeout))
	first, err := br.ReadString('\n')
	if err != nil {
		return
	}
	if strings.HasPrefix(first, "-ERR [SYS/TEMP] too many connections") {
		refused.Add(1)
		time.Sleep(100 * time.Millisecond)
		return
	}
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		fmt.Fprintf(c, "USER pat@virt.example\r\nPASS wrong %d\r\n", i)
		if l, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(l, "+OK") {
			return
		}
		l, err := br.ReadString('\n')
		switch {
		case err != nil:
			return
		case strings.HasPrefix(l, "-ERR [AUTH] authentication failed"):
			bad.Add(1)
		case strings.HasPrefix(l, "-ERR [SYS/TEMP] authentication temporarily unavailable"):
			temp.Add(1)
		default:
			other.Store(l, true)
			return
		}
		if strings.Contains(l, "closing") {
			return
		}
	}
}
