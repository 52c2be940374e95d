package smtpd

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// recorder is a QMAILQUEUE program that keeps what it gets: the message
// (descriptor 0) in msg, the envelope (descriptor 1) in env, its
// environment in vars, then says "queued" as goqmail-qmail-queue does on
// descriptor 6 (which smtpd may have stopped reading), and writes done
// last.
const recorder = `#!/bin/sh
trap '' PIPE
cat > "$GOQMAIL_ROOT/msg"
cat <&1 > "$GOQMAIL_ROOT/env"
env > "$GOQMAIL_ROOT/vars"
printf 'K0123456789abcdef\n' >&6
touch "$GOQMAIL_ROOT/done"
exit 0
`

// qqSetup makes a dialog environment whose control/qmailqueue is the
// recorder, with the given extra control files.
func qqSetup(t *testing.T, steps ...dialogStep) (*dialogEnv, string) {
	t.Helper()
	env := dialogSetup(t, steps)
	prog := filepath.Join(env.root, "recorder")
	if err := os.WriteFile(prog, []byte(recorder), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(env.control, "qmailqueue"), []byte(prog+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return env, env.start(t)
}

// waitFile waits for the recorder to finish (it runs on after smtpd's
// reply when smtpd gave up on the message).
func waitFile(t *testing.T, path string) bool {
	t.Helper()
	for range 500 {
		if _, err := os.Stat(path); err == nil {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// TestQmailQueueGetsTheStoredCopy: the program gets what the queue would
// store, as it arrives: smtpd's Received line, the qmail-spp plugins'
// header lines, the message without the fields smtpd removes; then the
// envelope in qmail-queue's format, and its environment says who the
// client is. Its report on descriptor 6 names the message in the reply.
func TestQmailQueueGetsTheStoredCopy(t *testing.T) {
	env, addr := qqSetup(t, dialogStep{verb: "control", arg: `smtpplugins [mail]\n:echo "HX-Plugin: yes"`},
		dialogStep{verb: "tcprules", arg: `127.:allow,SIMSCAN_DEBUG="1"`})
	msg := "X-Goqmail-Junk: forged\nSubject: filtered\n\nbody\n"
	r := sendOne(t, addr, msg)
	if !strings.HasPrefix(r, "250 2.0.0 ok ") || !strings.HasSuffix(r, " qp 0123456789abcdef") {
		t.Fatalf("end of data: %q", r)
	}
	if !waitFile(t, filepath.Join(env.root, "done")) {
		t.Fatal("the program did not finish")
	}
	got, _ := os.ReadFile(filepath.Join(env.root, "msg"))
	lines := strings.SplitN(string(got), "\n", 4)
	if len(lines) < 4 || !strings.HasPrefix(lines[0], "Received: from unknown (HELO client.example) (127.0.0.1)") ||
		lines[2] != "X-Plugin: yes" || lines[3] != "Subject: filtered\n\nbody\n" {
		t.Errorf("the program got:\n%s", got)
	}
	envelope, _ := os.ReadFile(filepath.Join(env.root, "env"))
	if string(envelope) != "Fa@example.com\x00Tuser@example.org\x00\x00" {
		t.Errorf("envelope %q", envelope)
	}
	vars, _ := os.ReadFile(filepath.Join(env.root, "vars"))
	for _, want := range []string{"TCPREMOTEIP=127.0.0.1\n", "SIMSCAN_DEBUG=1\n", "GOQMAIL_ROOT=" + env.root + "\n", "PROTO=TCP\n", "SMTPMAILFROM=a@example.com\n"} {
		if !strings.Contains(string(vars), want) {
			t.Errorf("the program's environment lacks %q:\n%s", want, vars)
		}
	}
	if !strings.Contains(env.logs.String(), "accepted msg 0123456789abcdef from <a@example.com>") {
		t.Errorf("log:\n%s", env.logs)
	}
	if ids, _ := env.messages(); len(ids) != 0 {
		t.Errorf("smtpd queued the message itself: %v", ids)
	}
}

// TestQmailQueueWithMessageChecks: with message checks the header lines
// they add at the end of the data come first, before the Received line,
// as the queue would store them (the message waited in smtpd's spool file).
func TestQmailQueueWithMessageChecks(t *testing.T) {
	env, addr := qqSetup(t)
	junk := &fakeCheck{verdict: MessageVerdict{Prefix: []byte("Authentication-Results: mail.example.org; none\n"), Junk: "quarantine"}}
	env.srv.MessageChecks = []MessageCheckFactory{func(MessageFacts) MessageCheck { return junk }}
	big := strings.Repeat("0123456789abcdef", 20000) // more than a pipe holds
	if r := sendOne(t, addr, "Subject: checked\n\n"+big+"\n"); !strings.HasPrefix(r, "250 ") {
		t.Fatalf("end of data: %q", r)
	}
	if !waitFile(t, filepath.Join(env.root, "done")) {
		t.Fatal("the program did not finish")
	}
	got, _ := os.ReadFile(filepath.Join(env.root, "msg"))
	want := fmt.Sprintf("Authentication-Results: mail.example.org; none\nX-Seen: %d\nX-Goqmail-Junk: quarantine\nReceived: ", len(big)+19)
	if !strings.HasPrefix(string(got), want) || !strings.HasSuffix(string(got), "Subject: checked\n\n"+big+"\n") {
		t.Errorf("the program got %q...%q, want it to start %q", got[:min(len(got), 200)], got[max(0, len(got)-40):], want)
	}
}

// TestQmailQueueAbort: a message smtpd refuses itself (here: a loop)
// reaches the program without its envelope's end, so a qmail-queue would
// queue nothing; the client gets smtpd's own answer.
func TestQmailQueueAbort(t *testing.T) {
	env, addr := qqSetup(t)
	hops := strings.Repeat("Received: from x by y; 1 Jan 2000 00:00:00 -0000\n", 100)
	if r := sendOne(t, addr, hops+"Subject: loop\n\nx\n"); !strings.HasPrefix(r, "554 5.4.6 ") {
		t.Fatalf("end of data: %q", r)
	}
	if !waitFile(t, filepath.Join(env.root, "done")) {
		t.Fatalf("the program did not finish\n%s", env.logs)
	}
	if envelope, _ := os.ReadFile(filepath.Join(env.root, "env")); len(envelope) != 0 {
		t.Errorf("the program got an envelope for a refused message: %q", envelope)
	}
}

// TestQmailQueueRefusesRoot: no QMAILQUEUE program runs as root; an smtpd
// that finds itself root answers 451 at DATA and starts nothing.
func TestQmailQueueRefusesRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the refusal to run a QMAILQUEUE program as root is only reachable as root")
	}
	filtersAsRoot = false
	defer func() { filtersAsRoot = true }()
	env, addr := qqSetup(t)
	c := dialSMTP(t, env, addr, false)
	c.expect("", "220 ")
	c.expect("HELO client.example", "250 ")
	c.expect("MAIL FROM:<a@example.com>", "250 ")
	c.expect("RCPT TO:<user@example.org>", "250 ")
	c.expect("DATA", "451 4.3.0 qq temporary problem; try again later")
	if _, err := os.Stat(filepath.Join(env.root, "done")); err == nil {
		t.Error("the program ran as root")
	}
	if !strings.Contains(env.logs.String(), "refusing to run a QMAILQUEUE program as root") {
		t.Errorf("log:\n%s", env.logs)
	}
}
