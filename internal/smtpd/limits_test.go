package smtpd

// Connection limits at accept and stress timeouts, with real loopback
// sockets from several source addresses (127.0.0.0/8 is all loopback).

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// limitConn is one raw client connection and its first line.
type limitConn struct {
	c     net.Conn
	br    *bufio.Reader
	first string // the greeting or the refusal; "" when closed without a word
}

// dialFrom connects to addr from the loopback address ip and reads the
// first line the server sends.
func dialFrom(t *testing.T, addr, ip string) *limitConn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, ip, err)
	}
	t.Cleanup(func() { c.Close() })
	lc := &limitConn{c: c, br: bufio.NewReader(c)}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	lc.first, err = lc.br.ReadString('\n')
	if err != nil && err != io.EOF {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("no first line from %s within 10 s", addr)
		}
	}
	return lc
}

// limitEnv starts a server with the given control lines ("name value")
// and tcp.smtp lines ("tcprules ...").
func limitEnv(t *testing.T, directives ...string) (*dialogEnv, string) {
	t.Helper()
	return tlsTestEnv(t, directives...)
}

// waitCount waits until the budget holds n sessions (a closed client's
// session ends on the server a moment after the close).
func waitCount(t *testing.T, env *dialogEnv, b, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for env.srv.budgets[b].table.Sessions() != n {
		if time.Now().After(deadline) {
			t.Fatalf("budget %d holds %d sessions, want %d", b, env.srv.budgets[b].table.Sessions(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPerAddressLimitAtAccept(t *testing.T) {
	env, addr := limitEnv(t, "control concurrencyperip 3", `tcprules 127.0.0.4:allow,RELAYCLIENT=""`)
	var held []*limitConn
	for i := range 3 {
		c := dialFrom(t, addr, "127.0.0.2")
		if !strings.HasPrefix(c.first, "220 ") {
			t.Fatalf("session %d from 127.0.0.2: %q", i+1, c.first)
		}
		held = append(held, c)
	}
	over := dialFrom(t, addr, "127.0.0.2")
	if want := "421 4.7.0 too many connections from your address; try again later\r\n"; over.first != want {
		t.Fatalf("fourth session from 127.0.0.2: %q, want %q", over.first, want)
	}
	if _, err := over.br.ReadString('\n'); err != io.EOF {
		t.Errorf("the refused connection was not closed: %v", err)
	}
	if c := dialFrom(t, addr, "127.0.0.3"); !strings.HasPrefix(c.first, "220 ") {
		t.Fatalf("another address was refused: %q", c.first)
	}
	// The site's own hosts (RELAYCLIENT) are not limited per address.
	for i := range 5 {
		if c := dialFrom(t, addr, "127.0.0.4"); !strings.HasPrefix(c.first, "220 ") {
			t.Fatalf("RELAYCLIENT session %d: %q", i+1, c.first)
		}
	}
	if !strings.Contains(env.logs.String(), "refused on smtp with 421 4.7.0: 3 sessions from 127.0.0.2 already (concurrencyperip 3)") {
		t.Errorf("the refusal is not logged:\n%s", env.logs.String())
	}
	// A session that ends gives its place back.
	held[0].c.Close()
	waitCount(t, env, budgetSMTP, 2+1+5)
	if c := dialFrom(t, addr, "127.0.0.2"); !strings.HasPrefix(c.first, "220 ") {
		t.Fatalf("after one session ended, 127.0.0.2 still refused: %q", c.first)
	}
}

func TestConnectionRatePerAddress(t *testing.T) {
	env, addr := limitEnv(t, "control connectrateperip 4")
	for i := range 4 {
		c := dialFrom(t, addr, "127.0.0.2")
		if !strings.HasPrefix(c.first, "220 ") {
			t.Fatalf("connection %d: %q", i+1, c.first)
		}
		c.c.Close()
	}
	for i := range 3 {
		c := dialFrom(t, addr, "127.0.0.2")
		if want := "421 4.7.0 too many connections from your address in the last minute; try again later\r\n"; c.first != want {
			t.Fatalf("connection %d past the rate: %q, want %q", 5+i, c.first, want)
		}
	}
	if c := dialFrom(t, addr, "127.0.0.3"); !strings.HasPrefix(c.first, "220 ") {
		t.Fatalf("another address was refused: %q", c.first)
	}
	// Three refusals, one report: the flood does not flood the log.
	if n := strings.Count(env.logs.String(), "connections from 127.0.0.2 this minute (connectrateperip 4)"); n != 1 {
		t.Errorf("%d reports of the rate refusals, want 1:\n%s", n, env.logs.String())
	}
}

// Port 25 and submission have budgets of their own: a full port 25 takes
// nothing from 587 or 465, and the other way round.
func TestBudgetPerListenerKind(t *testing.T) {
	env, addr := limitEnv(t, "certificate", "control concurrencyincoming 3", "control concurrencysubmission 2", "control concurrencyperip 0")
	sub := listenKind(t, env, KindSubmission)
	smtps := listenKind(t, env, KindSMTPS)
	for i, ip := range []string{"127.0.1.1", "127.0.1.2", "127.0.1.3"} {
		if c := dialFrom(t, addr, ip); !strings.HasPrefix(c.first, "220 ") {
			t.Fatalf("port 25 session %d: %q", i+1, c.first)
		}
	}
	if c := dialFrom(t, addr, "127.0.1.4"); c.first != "421 4.3.2 too many connections; try again later\r\n" {
		t.Fatalf("port 25 past its budget: %q", c.first)
	}
	// Submission still greets: port 25 used up its own budget only.
	s1 := dialFrom(t, sub, "127.0.0.5")
	if !strings.HasPrefix(s1.first, "220 ") {
		t.Fatalf("submission while port 25 is full: %q", s1.first)
	}
	// 465 talks TLS first: dial it raw, the budget is counted before TLS.
	raw, err := net.Dial("tcp", smtps)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	waitCount(t, env, budgetSubmission, 2)
	// Submission and smtps share the second budget: it is full now. A
	// refused smtps connection is closed without a word (no TLS for it).
	if c := dialFrom(t, smtps, "127.0.0.6"); c.first != "" {
		t.Fatalf("smtps past the submission budget sent %q", c.first)
	}
	if c := dialFrom(t, sub, "127.0.0.6"); c.first != "421 4.3.2 too many connections; try again later\r\n" {
		t.Fatalf("submission past its budget: %q", c.first)
	}
	if !strings.Contains(env.logs.String(), "2 sessions, the budget of submission and smtps (concurrencysubmission 2) is used up") {
		t.Errorf("no log of the submission budget:\n%s", env.logs.String())
	}
}

// listenKind adds a listener of kind to the test server.
func listenKind(t *testing.T, env *dialogEnv, kind Kind) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go env.srv.ServeKind(ln, kind)
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// Under stress the timeouts shrink: a silent session that was waiting
// with the normal 20 minutes is ended when stress starts, and a client
// that dribbles a command line byte by byte is ended though every read
// brings a byte. When the sessions are gone, stress ends.
func TestStressShortensTimeouts(t *testing.T) {
	env, addr := limitEnv(t, "control concurrencyincoming 4", "control stressthreshold 50", "control timeoutsmtpdstress 1", "control concurrencyperip 0")
	silent := dialFrom(t, addr, "127.0.0.2")
	if !strings.HasPrefix(silent.first, "220 ") {
		t.Fatalf("first session: %q", silent.first)
	}
	waitCount(t, env, budgetSMTP, 1)
	if env.srv.budgets[budgetSMTP].stressed.Load() {
		t.Fatal("one session of four is stress")
	}
	// Two busy sessions (a NOOP every 300 ms, each line in time) bring
	// stress (two of four is 50 %) and keep it on after the silent one
	// has gone (it lasts down to 1.8 sessions).
	stop := make(chan struct{})
	var keepers []chan error
	for _, ip := range []string{"127.0.0.3", "127.0.0.4"} {
		k := dialFrom(t, addr, ip)
		if !strings.HasPrefix(k.first, "220 ") {
			t.Fatalf("busy session from %s: %q", ip, k.first)
		}
		ended := make(chan error, 1)
		keepers = append(keepers, ended)
		go func() { ended <- keepBusy(k, stop) }()
	}
	silent.c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if l, err := silent.br.ReadString('\n'); l != "421 4.4.2 timeout; closing connection\r\n" {
		t.Fatalf("the silent session under stress got %q, %v; want 421 4.4.2\n%s", l, err, env.logs.String())
	}
	waitCount(t, env, budgetSMTP, 2)
	if !env.srv.budgets[budgetSMTP].stressed.Load() {
		t.Fatalf("two busy sessions of four are no stress\n%s", env.logs.String())
	}
	// The dribbler sends a byte every 300 ms: each read is in time, the
	// line is not.
	dribbler := dialFrom(t, addr, "127.0.0.5")
	if !strings.HasPrefix(dribbler.first, "220 ") {
		t.Fatalf("dribbler: %q", dribbler.first)
	}
	done := make(chan string, 1)
	go func() {
		dribbler.c.SetReadDeadline(time.Now().Add(30 * time.Second))
		l, _ := dribbler.br.ReadString('\n')
		done <- l
	}()
	var got string
	line := []byte("NOOP this line never ends in time, whatever the machine's speed\r\n")
	for i := 0; got == "" && i < len(line); i++ {
		dribbler.c.Write(line[i : i+1])
		select {
		case got = <-done:
		case <-time.After(300 * time.Millisecond):
		}
	}
	if got != "421 4.4.2 timeout; closing connection\r\n" {
		t.Fatalf("the dribbler under stress got %q; want 421 4.4.2 before its line was complete\n%s", got, env.logs.String())
	}
	close(stop)
	for _, k := range keepers {
		if err := <-k; err != nil {
			t.Errorf("a busy session: %v", err)
		}
	}
	logs := env.logs.String()
	for _, want := range []string{"status: smtp under stress: 2 of 4 sessions (stressthreshold 50%); timeouts now 1s per command, 5m0s per session", "timeout under stress"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	waitCount(t, env, budgetSMTP, 0)
	if env.srv.budgets[budgetSMTP].stressed.Load() {
		t.Error("stress outlived the sessions")
	}
	if !strings.Contains(env.logs.String(), "status: smtp no longer under stress") {
		t.Errorf("the end of stress is not logged:\n%s", env.logs.String())
	}
}

// keepBusy sends a NOOP every 300 ms and reads its answer until stop,
// then says QUIT.
func keepBusy(k *limitConn, stop chan struct{}) error {
	for {
		select {
		case <-stop:
			fmt.Fprint(k.c, "QUIT\r\n")
			k.c.SetReadDeadline(time.Now().Add(10 * time.Second))
			if l, err := k.br.ReadString('\n'); !strings.HasPrefix(l, "221 ") {
				return fmt.Errorf("QUIT: %q, %v", l, err)
			}
			return nil
		case <-time.After(300 * time.Millisecond):
		}
		fmt.Fprint(k.c, "NOOP\r\n")
		k.c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if l, err := k.br.ReadString('\n'); !strings.HasPrefix(l, "250 ") {
			return fmt.Errorf("NOOP: %q, %v", l, err)
		}
	}
}

// A reload changes the limits for the next connections without losing
// the counts of the sessions already open.
func TestLimitsFollowReload(t *testing.T) {
	env, addr := limitEnv(t, "control concurrencyperip 2")
	for range 2 {
		if c := dialFrom(t, addr, "127.0.0.2"); !strings.HasPrefix(c.first, "220 ") {
			t.Fatalf("%q", c.first)
		}
	}
	if c := dialFrom(t, addr, "127.0.0.2"); !strings.HasPrefix(c.first, "421 4.7.0") {
		t.Fatalf("third from 127.0.0.2: %q", c.first)
	}
	cfg := *env.cfg
	cfg.MaxPerIP = 3
	env.srv.SetConfig(&cfg)
	if c := dialFrom(t, addr, "127.0.0.2"); !strings.HasPrefix(c.first, "220 ") {
		t.Fatalf("third from 127.0.0.2 after raising the limit: %q", c.first)
	}
	if c := dialFrom(t, addr, "127.0.0.2"); !strings.HasPrefix(c.first, "421 4.7.0") {
		t.Fatalf("fourth from 127.0.0.2: %q", c.first)
	}
}
