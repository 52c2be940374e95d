package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestQueueSurvivesRestart: messages accepted while local delivery is held
// (concurrencylocal 0) stay in the queue across a stop, and the next start
// delivers each exactly once and empties the queue.
func TestQueueSurvivesRestart(t *testing.T) {
	t.Parallel()
	requireTool(t, "swaks")
	s := NewServer(t, Options{Control: map[string]string{"concurrencylocal": "0\n"}})
	for i := 1; i <= 3; i++ {
		r := swaks(t, s, "--to", "demo@example.test", "--header", fmt.Sprintf("Subject: restart %d", i), "--body", fmt.Sprintf("message %d", i))
		if r.Code != 0 || !acceptedAfterData.MatchString(r.Out) {
			t.Fatalf("message %d: swaks exited %d:\n%s", i, r.Code, r.Out)
		}
	}
	s.WaitLog(`send: new msg [0-9a-f]{16}$`, 3, deliverTimeout)
	if n := s.MaildirNew(); len(n) != 0 {
		t.Fatalf("delivered with concurrencylocal 0: %v", n)
	}
	if d, err := s.Stop(); err != nil {
		t.Fatalf("goqmaild exited with %v after %v", err, d)
	}
	if q := s.QueueMessages(); len(q) != 3 {
		t.Fatalf("queue/msg holds %d messages after the stop, want 3: %v", len(q), q)
	}
	if n := s.MaildirNew(); len(n) != 0 {
		t.Fatalf("delivered during the stop: %v", n)
	}

	s.SetControl("concurrencylocal", "10\n")
	s.Start()
	files := s.WaitMaildir(3, deliverTimeout)
	var subjects []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`(?m)^Subject: (.*)$`).FindSubmatch(b)
		if m == nil {
			t.Fatalf("%s has no Subject:\n%s", f, b)
		}
		subjects = append(subjects, string(m[1]))
	}
	sort.Strings(subjects)
	if want := "restart 1,restart 2,restart 3"; strings.Join(subjects, ",") != want {
		t.Errorf("delivered subjects %q, want %s", subjects, want)
	}
	s.WaitLog(`send: end msg [0-9a-f]{16}$`, 3, deliverTimeout)
	waitFor(t, deliverTimeout, "queue/msg to empty", func() bool { return len(s.QueueMessages()) == 0 })
}

// TestSIGHUPRereadsDomains: a domain added to rcpthosts and locals while
// goqmaild runs is refused before SIGHUP, accepted and delivered after it,
// with no program restarted.
func TestSIGHUPRereadsDomains(t *testing.T) {
	t.Parallel()
	requireTool(t, "swaks")
	s := NewServer(t, Options{})
	const rcpt = "demo@newdomain.example"
	r := swaks(t, s, "--to", rcpt, "--header", "Subject: before")
	if !regexp.MustCompile(`(?m)^<\*\* 553 `).MatchString(r.Out) {
		t.Fatalf("before SIGHUP, RCPT TO:<%s> was not refused with 553:\n%s", rcpt, r.Out)
	}
	pids := s.pidFiles()

	s.SetControl("rcpthosts", "example.test\nmail.example.test\nnewdomain.example\n")
	s.SetControl("locals", "example.test\nmail.example.test\nnewdomain.example\n")
	s.Signal(syscall.SIGHUP)
	s.WaitLog(`smtpd: status: configuration reloaded`, 1, deliverTimeout)
	s.WaitLog(`send: status: configuration reloaded`, 1, deliverTimeout)

	r = swaks(t, s, "--to", rcpt, "--header", "Subject: after")
	if r.Code != 0 || !acceptedAfterData.MatchString(r.Out) {
		t.Fatalf("after SIGHUP, mail to %s was not accepted (exit %d):\n%s", rcpt, r.Code, r.Out)
	}
	files := s.WaitMaildir(1, deliverTimeout)
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "Subject: after") || !strings.HasPrefix(string(b), "Return-Path: <a@example.org>\nDelivered-To: "+rcpt+"\n") {
		t.Errorf("delivered message is not the one sent to %s:\n%s", rcpt, b)
	}
	if after := s.pidFiles(); fmt.Sprint(after) != fmt.Sprint(pids) {
		t.Errorf("programs restarted across SIGHUP: pids %v, then %v", pids, after)
	}
	if !s.Running() {
		t.Errorf("goqmaild exited on SIGHUP")
	}
	if strings.Contains(s.Log(), "exited") {
		t.Errorf("a program exited across SIGHUP")
	}
}

// TestSIGTERMStopsEverything: after SIGTERM goqmaild exits 0 within a few
// seconds, having stopped every program of its root, delivery processes
// included, and removed its pid files.
func TestSIGTERMStopsEverything(t *testing.T) {
	t.Parallel()
	requireTool(t, "swaks")
	s := NewServer(t, Options{})
	sendDemo(t, s, "before stop")
	// Everything that belongs to this server: the supervisor's tree (with
	// the delivery process lspawn keeps for a while) and anything that names
	// the root on its command line.
	procs := descendants(t, s.Pid())
	procs = append(procs, ofRoot(t, s.Root)...)
	var names []string
	for _, p := range procs {
		names = append(names, p.Comm)
	}
	for _, want := range []string{"goqmail-queue", "goqmail-send", "goqmail-lspawn", "goqmail-smtpd", "goqmail-local"} {
		if !slices.Contains(names, want) {
			t.Errorf("before the stop, no %s among goqmaild's processes %v", want, procs)
		}
	}

	d, err := s.Stop()
	if err != nil {
		t.Errorf("goqmaild exited with %v, want exit 0", err)
	}
	if d > 5*time.Second {
		t.Errorf("goqmaild took %v to stop, want at most 5s", d)
	}
	if !strings.HasSuffix(s.Log(), "goqmaild: status: stopped\n") {
		t.Errorf("goqmaild's last log line is not \"status: stopped\"")
	}
	// A delivery process notices the spawner's socket closing on its own
	// time; give it a moment, but note if it outlived goqmaild.
	var left []procInfo
	for _, p := range procs {
		if p.alive() {
			left = append(left, p)
		}
	}
	if len(left) > 0 {
		t.Logf("still running right after goqmaild exited: %v", left)
	}
	waitFor(t, 2*time.Second, "every goqmail process of the root to exit", func() bool {
		for _, p := range procs {
			if p.alive() {
				return false
			}
		}
		return len(ofRoot(t, s.Root)) == 0
	})
	if pidf, _ := filepath.Glob(filepath.Join(s.Root, "run", "*.pid")); len(pidf) != 0 {
		t.Errorf("pid files left after the stop: %v", pidf)
	}
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestKilledProgramIsRestarted: the supervisor restarts a program that
// dies (here by SIGKILL, as a crash would), rewrites its pid file, and mail
// flows again through the restarted programs.
func TestKilledProgramIsRestarted(t *testing.T) {
	t.Parallel()
	requireTool(t, "swaks")
	s := NewServer(t, Options{})
	old := s.pidFiles()
	for _, svc := range []string{"smtpd", "queue", "send", "lspawn", "remote", "auth", "dkimsign"} {
		// send exits by itself when its queue connection drops: it may be
		// gone (and restarting) before its turn comes.
		if err := syscall.Kill(old[svc], syscall.SIGKILL); err != nil && err != syscall.ESRCH {
			t.Fatalf("kill %s (%d): %v", svc, old[svc], err)
		}
	}
	waitFor(t, deliverTimeout, "every killed program to be restarted", func() bool {
		now := s.pidFiles()
		for svc, pid := range old {
			p, err := readProc(now[svc])
			if now[svc] == pid || err != nil || p.PPid != s.Pid() {
				return false
			}
		}
		return true
	})
	sendDemo(t, s, "after restart")
}

// TestSIGTERMLetsDataFinish: a message whose DATA is in progress when
// SIGTERM arrives is still taken (smtpd stops first and lets sessions
// finish), and once acknowledged it is either delivered or in the queue.
func TestSIGTERMLetsDataFinish(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{})
	c, err := net.DialTimeout("tcp", s.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(clientTimeout))
	br := bufio.NewReader(c)
	reply := func() string {
		for {
			l, err := br.ReadString('\n')
			if err != nil || len(l) < 4 || l[3] == ' ' {
				return l
			}
		}
	}
	if l := reply(); !strings.HasPrefix(l, "220 ") {
		t.Fatalf("greeting %q", l)
	}
	for _, cmd := range []string{"EHLO x\r\n", "MAIL FROM:<a@example.org>\r\n", "RCPT TO:<demo@example.test>\r\n", "DATA\r\n"} {
		fmt.Fprint(c, cmd)
		if l := reply(); len(l) == 0 || (l[0] != '2' && l[0] != '3') {
			t.Fatalf("%q: %q", cmd, l)
		}
	}
	fmt.Fprint(c, "Subject: mid-data\r\n\r\nbefore SIGTERM\r\n")
	s.Signal(syscall.SIGTERM)
	s.WaitLog(`goqmaild: status: terminated: stopping`, 1, deliverTimeout)
	time.Sleep(200 * time.Millisecond) // the signal reaches smtpd mid-DATA
	fmt.Fprint(c, "after SIGTERM\r\n.\r\n")
	if l := reply(); !strings.HasPrefix(l, "250 2.0.0 ok ") {
		t.Fatalf("end of DATA after SIGTERM answered %q, want 250", l)
	}
	fmt.Fprint(c, "QUIT\r\n")
	select {
	case <-s.done:
	case <-time.After(stopTimeout):
		t.Fatalf("goqmaild did not stop within %v", stopTimeout)
	}
	if s.waitErr != nil {
		t.Errorf("goqmaild exited with %v, want 0", s.waitErr)
	}
	if n, q := len(s.MaildirNew()), len(s.QueueMessages()); n+q != 1 {
		t.Errorf("acknowledged message: %d delivered, %d queued; want it in exactly one place", n, q)
	}
}
