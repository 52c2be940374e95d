package spp

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"goqmail/internal/control"
	"goqmail/internal/smtp"
)

func parse(t *testing.T, root, text string) (*Config, control.Problems) {
	t.Helper()
	return Parse("control/smtpplugins", control.Items([]byte(text)), root)
}

func TestParse(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "plugins"), 0o755)
	os.WriteFile(filepath.Join(root, "plugins", "check"), []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(filepath.Join(root, "plugins", "noexec"), []byte("#!/bin/sh\n"), 0o644)
	c, probs := parse(t, root, "# qmail-spp\n[connection]\n:echo N\n[RCPT]\nplugins/check\n"+filepath.Join(root, "plugins", "check")+"\n[data]\n")
	if len(probs) != 0 {
		t.Fatalf("problems: %v", probs)
	}
	if got := c.Plugins(Connection); len(got) != 1 || got[0].Shell != "echo N" {
		t.Errorf("[connection] = %+v", got)
	}
	rc := c.Plugins(Rcpt)
	if len(rc) != 2 || rc[0].Path != filepath.Join(root, "plugins", "check") || rc[0].Line != 5 || rc[1].Path != rc[0].Path {
		t.Errorf("[rcpt] = %+v", rc)
	}
	if len(c.Plugins(Mail)) != 0 || c.Empty() {
		t.Errorf("mail plugins or emptiness wrong: %+v", c)
	}
	_, probs = parse(t, root, "plugins/check\n[auth]\n:x\n[mail]\nplugins/noexec\nplugins/missing\n:\nplugins/check --flag\n")
	var lines []int
	for _, p := range probs {
		if p.File != "control/smtpplugins" || p.Fix == "" {
			t.Errorf("problem without file or fix: %+v", p)
		}
		lines = append(lines, p.Line)
	}
	// 1: before any section; 2: [auth]; 3: under an unknown section; 5,
	// 6: not executable, missing; 7: empty command; 8: arguments.
	if want := []int{1, 2, 3, 5, 6, 7, 8}; !equalInts(lines, want) {
		t.Errorf("problems on lines %v, want %v: %v", lines, want, probs)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// session makes a Session whose plugins are the given shell commands.
func session(t *testing.T, text string) (*Session, *[]string) {
	t.Helper()
	c, probs := parse(t, t.TempDir(), text)
	if len(probs) != 0 {
		t.Fatal(probs)
	}
	var mu sync.Mutex
	var logs []string
	s := &Session{Config: c, Dir: t.TempDir(), Timeout: 10 * time.Second, Env: map[string]string{"TCPREMOTEIP": "192.0.2.1", "PATH": "/usr/bin:/bin"},
		Log: func(f string, a ...any) {
			mu.Lock()
			defer mu.Unlock()
			logs = append(logs, strings.TrimSpace(fmt.Sprintf(f, a...)))
		}}
	return s, &logs
}

// TestAnswers: each command letter of qmail-spp.
func TestAnswers(t *testing.T) {
	s, _ := session(t, `[mail]
:echo "H""X-Spp: $SMTPMAILFROM from $TCPREMOTEIP"; echo SSEEN=mail; echo N; echo E554 never read
:echo E554 never run
[rcpt]
:test "$SMTPRCPTTO" = bad@example.org && echo "E553 sorry, no mailbox here by that name (#5.1.1)"; echo "P550-first line"; test "$SMTPRCPTTO" = two@example.org && echo "R550 second line"; echo "HX-Count: $SMTPRCPTCOUNT/$SMTPRCPTCOUNTALL $SMTPRCPTHOSTSOK $SEEN"
:test "$SMTPRCPTTO" = fix@example.org && echo Cfixed@example.org; test "$SMTPRCPTTO" = ok@elsewhere.example && echo O; true
[data]
:echo D
`)
	if r := s.Mail("a@example.com"); r.Verdict != Continue {
		t.Fatalf("mail: %+v", r)
	}
	if s.Env["SEEN"] != "mail" {
		t.Errorf("S did not set a variable: %v", s.Env)
	}
	if r := s.Rcpt("bad@example.org", true); r.Verdict != Refuse || r.Reply != (smtp.Reply{Code: 553, Enh: "5.1.1", Text: "sorry, no mailbox here by that name"}) {
		t.Errorf("E: %+v", r)
	}
	if r := s.Rcpt("good@example.org", true); r.Verdict != Continue || r.Addr != "" {
		t.Errorf("no answer: %+v", r)
	}
	s.Accepted()
	if r := s.Rcpt("fix@example.org", false); r.Verdict != Continue || r.Addr != "fixed@example.org" || s.Env["SMTPRCPTTO"] != "fixed@example.org" {
		t.Errorf("C: %+v", r)
	}
	if r := s.Rcpt("ok@elsewhere.example", false); r.Verdict != SkipChecks {
		t.Errorf("O: %+v", r)
	}
	if r := s.Rcpt("two@example.org", true); r.Verdict != Close || !r.Show || r.Reply.Text != "first line\nsecond line" || r.Reply.Code != 550 {
		t.Errorf("P and R: %+v", r)
	}
	want := "X-Spp: a@example.com from 192.0.2.1\nX-Count: 0/2 1 mail\nX-Count: 1/3 0 mail\nX-Count: 1/4 0 mail\n"
	if got := string(s.Headers()); got != want {
		t.Errorf("headers:\n%s\nwant:\n%s", got, want)
	}
	if r := s.Data(); r.Verdict != Close || r.Show {
		t.Errorf("D: %+v", r)
	}
	s.Reset()
	if len(s.Headers()) != 0 {
		t.Error("Reset kept the header lines")
	}
}

// TestAcceptTurnsPluginsOff: A stops every later plugin of the session
// (qmail-spp's spprun = 0), but a delayed error still answers.
func TestAcceptTurnsPluginsOff(t *testing.T) {
	s, _ := session(t, "[helo]\n:echo LR451 come back later; echo A\n[mail]\n:echo E554 plugins are off, never seen\n")
	if r := s.Helo("client.example"); r.Verdict != Continue || s.Env["SMTPHELOHOST"] != "client.example" {
		t.Fatalf("helo: %+v", r)
	}
	if r := s.Mail("a@example.com"); r.Verdict != Continue {
		t.Errorf("mail after A: %+v", r)
	}
	if r := s.Rcpt("b@example.org", true); r.Verdict != Refuse || r.Reply.Code != 451 || !strings.Contains(r.Why, "LR") {
		t.Errorf("delayed error: %+v", r)
	}
}

// TestFailures: a plugin that cannot run, crashes, hangs or answers
// nonsense gets 451 and a log line, never an accept.
func TestFailures(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "gone"), []byte("#!/bin/sh\necho N\n"), 0o755)
	c, probs := parse(t, root, `[connection]
gone
[helo]
:kill -SEGV $$
[mail]
:sleep 30 & echo E554 too late; wait
[rcpt]
:echo Esorry
[data]
:exit 120
`)
	if len(probs) != 0 {
		t.Fatal(probs)
	}
	os.Remove(filepath.Join(root, "gone"))
	var logs []string
	s := &Session{Config: c, Dir: root, Timeout: 500 * time.Millisecond, Env: map[string]string{},
		Log: func(f string, a ...any) { logs = append(logs, fmt.Sprintf(f, a...)) }}
	for name, r := range map[string]Result{"missing": s.Connect(), "crash": s.Helo("x"), "hang": s.Mail("a@b"),
		"nonsense": s.Rcpt("c@d", true), "exit 120": s.Data()} {
		if r.Verdict != Refuse || r.Reply != ReplyFailed {
			t.Errorf("%s: %+v, want %v", name, r, ReplyFailed)
		}
	}
	if len(logs) < 5 {
		t.Errorf("logs: %q", logs)
	}
}

// TestRefusesRoot: no plugin runs as root (smtpd has an account of its
// own); a session that finds itself root answers 451 and runs nothing.
func TestRefusesRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the refusal to run a plugin as root is only reachable as root")
	}
	AllowRoot = false
	defer func() { AllowRoot = true }()
	marker := filepath.Join(t.TempDir(), "ran")
	s, logs := session(t, "[mail]\n:touch "+marker+"\n")
	if r := s.Mail("a@example.com"); r.Verdict != Refuse || r.Reply != ReplyFailed {
		t.Errorf("as root: %+v", r)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the plugin ran as root")
	}
	if len(*logs) == 0 || !strings.Contains((*logs)[0], "refusing to run a plugin as root") {
		t.Errorf("logs %q", *logs)
	}
}

// TestEscapedChildDoesNotHold: a plugin whose child leaves its process
// group and keeps standard output open is still bounded by the timeout.
func TestEscapedChildDoesNotHold(t *testing.T) {
	s, _ := session(t, "[mail]\n:setsid sleep 30 & echo N\n")
	s.Timeout = time.Second
	done := make(chan Result, 1)
	go func() { done <- s.Mail("a@example.com") }()
	select {
	case r := <-done:
		if r.Verdict != Refuse || r.Reply != ReplyFailed {
			t.Errorf("%+v, want the plugin failed", r)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the session was held by the plugin's escaped child")
	}
}
