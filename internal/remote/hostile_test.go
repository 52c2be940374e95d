package remote

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// script is a hostile peer: it greets (unless greet is ""), answers EHLO
// with PIPELINING, takes MAIL/RCPT, and hands the DATA command to onData.
func script(greet string, onData func(s *session)) func(*session) {
	return func(s *session) {
		if greet != "" {
			io.WriteString(s.nc, greet)
		}
		for {
			l, err := s.line()
			if err != nil {
				return
			}
			switch {
			case strings.HasPrefix(l, "EHLO"):
				s.send("250-hostile.test", "250 PIPELINING")
			case strings.HasPrefix(l, "MAIL"), strings.HasPrefix(l, "RCPT"), l == "RSET":
				s.send("250 ok")
			case l == "DATA":
				onData(s)
				return
			case l == "QUIT":
				return
			default:
				s.send("500 what")
			}
		}
	}
}

// drain reads until the client goes away.
func drain(s *session) { io.Copy(io.Discard, s.br) }

const hostileBody = "Subject: t\n\nline one\nline two\n"

var hostileWire = wireForm(hostileBody)

func TestHostilePeers(t *testing.T) {
	const timeout = 300 * time.Millisecond
	floodEHLO := func(s *session) {
		s.send("220 hi")
		s.line()
		chunk := strings.Repeat("250-"+strings.Repeat("A", 500)+"\r\n", 50)
		for range 10 { // 250 KB, far over the cap
			if _, err := io.WriteString(s.nc, chunk); err != nil {
				return
			}
		}
		drain(s)
	}
	for _, tc := range []struct {
		name string
		h    func(*session)
		want string // result code
		text string // substring of the result text
	}{
		{"354 and 250 in one write", script("220 hi\r\n", func(s *session) {
			io.WriteString(s.nc, "354 go\r\n250 2.0.0 accepted early\r\n")
			s.data()
			s.send("250 2.0.0 ok")
			drain(s)
		}), "Z", "did not wait for the message"},
		{"250 before the final dot", script("220 hi\r\n", func(s *session) {
			s.send("354 go")
			buf := make([]byte, len(hostileWire))
			io.ReadFull(s.br, buf)
			s.send("250 2.0.0 accepted before the end")
			s.data()
			s.send("250 2.0.0 ok")
			drain(s)
		}), "Z", "answered before the end of the message"},
		{"no reply after the dot", script("220 hi\r\n", func(s *session) {
			s.send("354 go")
			s.data()
			drain(s)
		}), "Z", "Possible duplicate!"},
		{"close after the dot", script("220 hi\r\n", func(s *session) {
			s.send("354 go")
			s.data()
		}), "Z", "Possible duplicate!"},
		{"garbage after the dot", script("220 hi\r\n", func(s *session) {
			s.send("354 go")
			s.data()
			s.send("OK THANKS")
			drain(s)
		}), "Z", "Possible duplicate!"},
		{"250 to DATA", script("220 hi\r\n", func(s *session) {
			s.send("250 sure")
			drain(s)
		}), "Z", "answered DATA with 250"},
		{"multi-line greeting that never ends", func(s *session) {
			for {
				if _, err := io.WriteString(s.nc, "220-still going\r\n"); err != nil {
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		}, "Z", "greeting failed"},
		{"reply flood over the byte cap", floodEHLO, "Z", "reply longer than"},
		{"over-long line", script("220 "+strings.Repeat("x", 5000)+"\r\n", drain), "Z", "line longer than"},
		{"drip feed", func(s *session) {
			for _, c := range []byte("220 a very slow greeting indeed\r\n") {
				if _, err := s.nc.Write([]byte{c}); err != nil {
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
			drain(s)
		}, "Z", "i/o timeout"},
		{"malformed greeting", script("hello there\r\n", drain), "Z", "malformed reply line"},
		{"code changes mid-reply", script("220-hi\r\n554 no\r\n", drain), "Z", "reply code changed"},
		{"unsolicited data before EHLO", script("220 hi\r\n250 I talk first\r\n", drain), "Z", "unexpected bytes before EHLO"},
		{"silence", drain, "Z", "greeting failed"},
		{"NUL, CR and escapes in a rejection", func(s *session) {
			s.send("220 hi")
			for {
				l, err := s.line()
				if err != nil {
					return
				}
				switch {
				case strings.HasPrefix(l, "EHLO"):
					s.send("250 hi")
				case strings.HasPrefix(l, "RCPT"):
					io.WriteString(s.nc, "550-5.1.1 bad\x00user\rInjected: yes\x1b[2J\r\n550 5.1.1 caf\xc3\xa9 \xff\n")
				default:
					s.send("250 ok")
				}
			}
		}, "D", "550-5.1.1 bad?user?Injected: yes?[2J/550 5.1.1 café ?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // most cases wait out a timeout
			p := startPeer(t, "127.0.0.2", 0, tc.h)
			c := newClient(t, mxDNS("dest.test", p), p.addr.Port())
			c.ReplyTimeout = timeout
			if tc.name == "250 before the final dot" {
				// Give the peer's early reply time to arrive before the
				// dot would go out; with the 2 ms default the race is
				// usually, not always, won on a loaded machine.
				c.pollWait = 300 * time.Millisecond
			}
			start := time.Now()
			res := c.Deliver(context.Background(), job("dest.test", hostileBody, "a"))
			el := time.Since(start)
			if codes(res) != tc.want || !strings.Contains(res[0].Text, tc.text) {
				t.Fatalf("got %+v, want %s with %q", res, tc.want, tc.text)
			}
			if strings.ContainsAny(res[0].Text, "\x00\r\n\x1b") {
				t.Errorf("control characters in the result text: %q", res[0].Text)
			}
			if el > 4*timeout+c.pollWait {
				t.Errorf("took %v; per-reply timeout %v", el, timeout)
			}
		})
	}
}

// A peer that stops reading in the middle of a big message: the write
// deadline ends the delivery, and since the dot was never sent this is a
// plain deferral, not a possible duplicate.
func TestHostilePeerStopsReading(t *testing.T) {
	big := strings.Repeat(strings.Repeat("x", 998)+"\n", 8<<10) // 8 MB: more than the socket buffers hold
	stop := make(chan struct{})
	p := startPeer(t, "127.0.0.2", 0, script("220 hi\r\n", func(s *session) {
		s.send("354 go")
		<-stop // never read
	}))
	c := newClient(t, mxDNS("dest.test", p), p.addr.Port())
	c.ReplyTimeout = 300 * time.Millisecond
	start := time.Now()
	res := c.Deliver(context.Background(), job("dest.test", big, "a"))
	close(stop)
	if codes(res) != "Z" || !strings.Contains(res[0].Text, "sending the message failed") || strings.Contains(res[0].Text, "duplicate") {
		t.Fatalf("%+v", res)
	}
	if el := time.Since(start); el > 2500*time.Millisecond {
		t.Errorf("took %v", el)
	}
}

// After a 421 the connection is not kept for reuse.
func TestReply421IsNotReused(t *testing.T) {
	p := startPeer(t, "127.0.0.2", 0, func(s *session) {
		sv := server{}
		if s.n == 0 {
			sv.mail = func(string) string { return "421 4.3.2 shutting down" }
		}
		sv.serve(s)
	})
	c := newClient(t, mxDNS("dest.test", p), p.addr.Port())
	c.IdleTimeout = 10 * time.Second
	res := c.Deliver(context.Background(), job("dest.test", "x\n", "a"))
	if codes(res) != "Z" || !strings.Contains(res[0].Text, "421 4.3.2") {
		t.Fatalf("%+v", res)
	}
	res = c.Deliver(context.Background(), job("dest.test", "x\n", "a"))
	if codes(res) != "K" || p.conns() != 2 {
		t.Fatalf("%+v after 421, %d connections", res, p.conns())
	}
}

// A connection lost mid-transaction defers the recipients still open; a
// recipient already refused keeps its permanent answer.
func TestConnectionLostKeepsDecidedRecipients(t *testing.T) {
	p := startPeer(t, "127.0.0.2", 0, func(s *session) {
		s.send("220 hi")
		s.line()
		s.send("250-hi", "250 PIPELINING")
		for range 4 { // MAIL, RCPT, RCPT, DATA arrive together
			s.line()
		}
		s.send("250 ok", "550 5.1.1 unknown", "250 ok")
		// and hang up before answering DATA
	})
	c := newClient(t, mxDNS("dest.test", p), p.addr.Port())
	res := c.Deliver(context.Background(), job("dest.test", "x\n", "gone", "ok"))
	if codes(res) != "DZ" || !strings.Contains(res[1].Text, "connection died on DATA") {
		t.Fatalf("%+v", res)
	}
}
