package smtpd

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// slowAuth answers no login before its context ends, as the auth service
// does while it slows down a guesser (up to 10 s).
type slowAuth struct{ ended chan error }

func (a *slowAuth) Verify(ctx context.Context, service, login, password, remoteIP string) (AuthResult, error) {
	<-ctx.Done()
	a.ended <- ctx.Err()
	return AuthResult{}, ctx.Err()
}

// TestHangupDuringAuthFreesSession: a client that hangs up while the auth
// service is slowing its login down no longer counts against
// concurrencyincoming; the wait is cut short well before the 10 s the
// service may take.
func TestHangupDuringAuthFreesSession(t *testing.T) {
	env := dialogSetup(t, []dialogStep{{verb: "control", arg: "authplaintext 1"}})
	auth := &slowAuth{ended: make(chan error, 1)}
	env.auth = nil
	addr := env.start(t)
	env.srv.Auth = auth
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	expect := func(prefix string) {
		t.Helper()
		for {
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("want %q: %v", prefix, err)
			}
			if len(l) >= 4 && l[3] == ' ' {
				if !strings.HasPrefix(l, prefix) {
					t.Fatalf("got %q, want %q", l, prefix)
				}
				return
			}
		}
	}
	expect("220 ")
	fmt.Fprint(c, "EHLO client.example\r\n")
	expect("250 ")
	fmt.Fprint(c, "AUTH PLAIN AGRlbW9AZXhhbXBsZS5vcmcAc2VjcmV0\r\n")
	time.Sleep(100 * time.Millisecond) // the session is waiting for Verify
	if n := env.srv.sessions.Load(); n != 1 {
		t.Fatalf("%d sessions counted while one waits for auth", n)
	}
	c.Close()
	select {
	case <-auth.ended:
	case <-time.After(3 * time.Second):
		t.Fatal("the auth wait went on for 3 s after the client hung up")
	}
	deadline := time.Now().Add(3 * time.Second)
	for env.srv.sessions.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions still counted after the client hung up", env.srv.sessions.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(env.logs.String(), "client disconnected during authentication") {
		t.Errorf("the session's end is not logged as a hang-up:\n%s", env.logs.String())
	}
}
