package smtpd

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"goqmail/internal/smtp"
)

// fakeCheck records what it saw and answers with a fixed verdict.
type fakeCheck struct {
	mu      sync.Mutex
	seen    bytes.Buffer
	verdict MessageVerdict
	ended   bool
	closed  bool
}

func (c *fakeCheck) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen.Write(p)
}
func (c *fakeCheck) End(context.Context) MessageVerdict {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ended = true
	v := c.verdict
	if v.Prefix != nil {
		v.Prefix = fmt.Appendf(nil, "%sX-Seen: %d\n", v.Prefix, c.seen.Len())
	}
	return v
}
func (c *fakeCheck) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
}

// sendOne sends one message over a new session and returns the reply to
// its end of data.
func sendOne(t *testing.T, addr, msg string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	reply := func() string {
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if len(l) < 4 || l[3] == ' ' {
				return strings.TrimRight(l, "\r\n")
			}
		}
	}
	reply()
	for _, cmd := range []string{"HELO client.example", "MAIL FROM:<a@example.com>", "RCPT TO:<user@example.org>", "DATA"} {
		fmt.Fprintf(c, "%s\r\n", cmd)
		reply()
	}
	fmt.Fprint(c, strings.ReplaceAll(msg, "\n", "\r\n")+".\r\n")
	return reply()
}

// TestMessageChecks: checks see the message as sent, forged fields are
// gone from the stored copy, a check's header lines go on top with the
// junk marker, and a refusal keeps the message out of the queue.
func TestMessageChecks(t *testing.T) {
	env := dialogSetup(t, nil)
	addr := env.start(t)
	junk := &fakeCheck{verdict: MessageVerdict{Prefix: []byte("Authentication-Results: mail.example.org; none\n"), Junk: "dmarc=quarantine\nsecond line"}}
	plain := &fakeCheck{verdict: MessageVerdict{Prefix: []byte{}}}
	env.srv.MessageChecks = []MessageCheckFactory{
		func(MessageFacts) MessageCheck { return junk },
		func(MessageFacts) MessageCheck { return plain },
		func(MessageFacts) MessageCheck { return nil }, // nothing to check
	}
	env.srv.DropHeaders = []HeaderDropper{func(f []byte) bool {
		return strings.EqualFold(string(fieldName(f)), "Authentication-Results") && bytes.Contains(f, []byte("mail.example.org"))
	}}
	msg := "Authentication-Results: mail.example.org;\n dkim=pass (forged)\nX-Goqmail-Junk: no, forged\nAuthentication-Results: other.example; spf=pass\nSubject: t\n\nbody\n"
	if r := sendOne(t, addr, msg); !strings.HasPrefix(r, "250 ") {
		t.Fatalf("end of data: %q", r)
	}
	if junk.seen.String() != msg || !junk.ended || !junk.closed || !plain.ended {
		t.Errorf("the check saw %q (ended %v closed %v), want the message as sent", junk.seen.String(), junk.ended, junk.closed)
	}
	_, lines, err := env.content()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(lines, "\n")
	for _, want := range []string{
		"Authentication-Results: mail.example.org; none\nX-Seen: " + fmt.Sprint(len(msg)) + "\nX-Seen: " + fmt.Sprint(len(msg)) + "\nX-Goqmail-Junk: dmarc=quarantine second line\nReceived: ",
		"\nAuthentication-Results: other.example; spf=pass\nSubject: t\n\nbody",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("stored message lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "forged") {
		t.Errorf("a forged field reached the queue:\n%s", got)
	}

	// A refusal: the permanent one wins over the temporary, nothing queued.
	before, _ := env.messages()
	temp := &fakeCheck{verdict: MessageVerdict{Refuse: &smtp.Reply{Code: 451, Enh: "4.7.1", Text: "try later"}}}
	perm := &fakeCheck{verdict: MessageVerdict{Refuse: &smtp.Reply{Code: 550, Enh: "5.7.1", Text: "rejected by policy"}}}
	env.srv.MessageChecks = []MessageCheckFactory{
		func(MessageFacts) MessageCheck { return temp },
		func(MessageFacts) MessageCheck { return perm },
	}
	if r := sendOne(t, addr, "Subject: no\n\nx\n"); r != "550 5.7.1 rejected by policy" {
		t.Errorf("end of data with a refusing check: %q", r)
	}
	if after, _ := env.messages(); len(after) != len(before) {
		t.Errorf("a refused message was queued")
	}
	if !temp.closed || !perm.closed {
		t.Error("checks not closed")
	}
}
