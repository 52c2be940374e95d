package authd

import (
	"context"
	"strings"
	"testing"
	"time"

	"goqmail/internal/authclient"
)

// One address has at most MaxPerIP logins in progress, the failure delay
// included; one more is answered at once, unchecked, as a temporary
// failure, and another address's login goes through meanwhile: with one
// verification slot, so the sleeping failures hold none.
func TestLoginsPerAddress(t *testing.T) {
	sleeping := make(chan struct{}, 10)
	wake := make(chan struct{})
	f := newFixture(t, func(c *Config) {
		c.Sleep = func(time.Duration) { sleeping <- struct{}{}; <-wake }
	})
	f.srv.SetSettings(Settings{Locals: []string{"example.test"}, MaxPerIP: 2, MaxVerifications: 1})
	results := make(chan authclient.Result, 2)
	for range 2 {
		go func() {
			r, err := f.client.Verify(context.Background(), "pop3", "bob@example.com", "wrong", "192.0.2.1")
			if err != nil {
				t.Error(err)
			}
			results <- r
		}()
	}
	for range 2 {
		<-sleeping // both failures are in their delay, holding their places
	}
	r := f.verify("bob@example.com", "bobpw", "192.0.2.1")
	if r.OK || !r.Temporary || r.Text != textBusy {
		t.Fatalf("a third login from the address: %+v, want a temporary refusal", r)
	}
	if r := f.verify("alice@example.com", "sys secret", "192.0.2.9"); !r.OK {
		t.Fatalf("another address could not log in: %+v", r)
	}
	if !strings.Contains(f.log.String(), "smtp login bob@example.com from 192.0.2.1: refused unchecked: 2 logins from this address in progress (authconcurrencyperip 2)") {
		t.Errorf("the refusal is not logged:\n%s", f.log.String())
	}
	close(wake)
	for range 2 {
		if r := <-results; r.OK || r.Temporary {
			t.Errorf("a wrong password: %+v", r)
		}
	}
	// The places are free again: the right password works from there.
	if r := f.verify("bob@example.com", "bobpw", "192.0.2.1"); !r.OK {
		t.Fatalf("after the delays ended: %+v", r)
	}
	// A refused login was not checked, so it is no failure either.
	if n := f.srv.throttle.count(f.srv.cfg.Now(), "ip:192.0.2.1"); n != 2 {
		t.Errorf("%d failures counted for the address, want the 2 checked ones", n)
	}
}

// At most MaxVerifications password checks run at once; the next waits
// for a slot (it is not refused), and a sleeping failure holds none.
func TestVerificationsQueue(t *testing.T) {
	inShadow := make(chan struct{}, 4)
	release := make(chan struct{})
	f := newFixture(t, func(c *Config) {
		c.Shadow = func(ctx context.Context, user, password string) (ShadowAnswer, error) {
			inShadow <- struct{}{}
			<-release
			return ShadowOK, nil
		}
	})
	f.srv.SetSettings(Settings{Locals: []string{"example.test"}, MaxVerifications: 1})
	first := make(chan authclient.Result, 1)
	go func() {
		r, _ := f.client.Verify(context.Background(), "smtp", "sys", "sys secret", "192.0.2.1")
		first <- r
	}()
	<-inShadow // the only slot is taken
	second := make(chan authclient.Result, 1)
	go func() {
		r, _ := f.client.Verify(context.Background(), "smtp", "bob@example.com", "bobpw", "192.0.2.2")
		second <- r
	}()
	deadline := time.Now().Add(5 * time.Second)
	for _, w := f.srv.verify.Load(); w != 1; _, w = f.srv.verify.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the second check is not waiting for the slot")
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case r := <-second:
		t.Fatalf("the second check ran beside the first: %+v", r)
	default:
	}
	close(release)
	if r := <-first; !r.OK {
		t.Errorf("first: %+v", r)
	}
	if r := <-second; !r.OK {
		t.Errorf("second, after waiting its turn: %+v", r)
	}
	if b, w := f.srv.verify.Load(); b != 0 || w != 0 {
		t.Errorf("after every login: %d checks running, %d waiting", b, w)
	}
}
