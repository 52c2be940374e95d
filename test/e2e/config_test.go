package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startRefused runs goqmaild, which must refuse to start: it returns its
// exit status, failing the test if it is still running after startTimeout
// (before validation it started and restarted smtpd every second forever).
func (s *Server) startRefused() int {
	s.t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "goqmaild"), s.Root)
	cmd.Env = append([]string{"PATH=/usr/local/bin:/usr/bin:/bin"}, s.env...)
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = s.logFile, s.logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: s.cred}
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start goqmaild: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			s.t.Fatalf("goqmaild exited 0 with an invalid configuration\nlog:\n%s", s.Log())
		}
		return err.(*exec.ExitError).ExitCode()
	case <-time.After(startTimeout):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		s.t.Fatalf("goqmaild still running %v after a start with an invalid configuration\nlog:\n%s", startTimeout, s.Log())
	}
	return 0
}

// settled waits until every program has read its configuration, so that
// an edit the test makes next is not read by a program still starting:
// SIGHUPs until each has answered "configuration reloaded" (a program
// that gets the signal before it catches signals dies of it and is
// restarted, so one SIGHUP is not enough).
func (s *Server) settled() {
	s.t.Helper()
	progs := []string{"queue", "lspawn", "remote", "send", "auth", "smtpd"}
	reloaded := regexp.MustCompile(`(\w+): status: configuration reloaded`)
	count := func() map[string]int {
		m := map[string]int{}
		for _, h := range reloaded.FindAllStringSubmatch(s.Log(), -1) {
			m[h[1]]++
		}
		return m
	}
	before := count()
	deadline := time.Now().Add(deliverTimeout)
	for {
		s.Signal(syscall.SIGHUP)
		for wait := time.Now().Add(time.Second); time.Now().Before(wait); time.Sleep(20 * time.Millisecond) {
			now := count()
			done := true
			for _, p := range progs {
				done = done && now[p] > before[p]
			}
			if done {
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("not every program of %v reloaded within %v", progs, deliverTimeout)
		}
	}
}

// TestBadTCPRulesStopsStart: a tcp.smtp with a syntax error stops the
// start with the file, line and fix, before any socket exists or any
// program runs. Before, smtpd exited on it and was restarted every second
// while clients got no greeting.
func TestBadTCPRulesStopsStart(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{NoStart: true, Control: map[string]string{
		"tcp.smtp":  "127.:allow,RELAYCLIENT=\"\"\n# ok so far\n10.0.0.1 allow\n192.168.:allow,DATABYTES=\"10M\"\n",
		"databytes": "10M\n",
	}})
	if code := s.startRefused(); code != 111 {
		t.Errorf("goqmaild exited %d, want 111", code)
	}
	log := s.Log()
	for _, want := range []string{
		`goqmaild: alert: configuration: control/tcp.smtp line 3: missing ':' between address and instructions in "10.0.0.1 allow"; write ADDRESS:allow`,
		`goqmaild: alert: configuration: control/tcp.smtp line 4: DATABYTES="10M" is not a number of bytes`,
		`goqmaild: alert: configuration: control/databytes line 1: "10M" is not a number of bytes; write a whole number such as 10485760 (0 = no limit)`,
		`goqmaild: alert: refusing to start: 3 configuration problem(s)`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	// Nothing was bound, created or started.
	if c, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
		c.Close()
		t.Errorf("something listens on %s", s.Addr)
	}
	if socks, _ := filepath.Glob(filepath.Join(s.Root, "run", "*")); len(socks) != 0 {
		t.Errorf("run/ holds %v", socks)
	}
	for _, prog := range []string{"smtpd", "queue", "send"} {
		if strings.Contains(log, prog+": ") {
			t.Errorf("%s ran:\n%s", prog, log)
		}
	}
}

// TestUnreadableCertificateStopsStart: a servercert.pem the SMTP server
// cannot read is an error, not silently no TLS.
func TestUnreadableCertificateStopsStart(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{NoStart: true})
	cert := filepath.Join(s.Root, "control", "servercert.pem")
	want := "control/servercert.pem: cannot be read by goqmaild"
	if asRoot {
		// Root can read anything; the account smtpd runs as cannot.
		if err := os.Chmod(cert, 0o600); err != nil {
			t.Fatal(err)
		}
	} else {
		// As one user, a directory where the file should be cannot be read.
		os.Remove(cert)
		if err := os.Mkdir(cert, 0o755); err != nil {
			t.Fatal(err)
		}
		want = "control/servercert.pem: cannot be used: "
	}
	s.startRefused()
	if !strings.Contains(s.Log(), "alert: configuration: "+want) {
		t.Fatalf("log lacks %q:\n%s", want, s.Log())
	}
}

// TestSIGHUPWithBadFileKeepsOldConfiguration: a SIGHUP after an edit
// that breaks rcpthosts is not forwarded: every program keeps its
// configuration (mail to the old domains still flows), the log names each
// problem, and a restart-only setting changed meanwhile is reported. Before,
// smtpd took the garbage as domains and refused the real ones.
func TestSIGHUPWithBadFileKeepsOldConfiguration(t *testing.T) {
	t.Parallel()
	requireTool(t, "swaks")
	s := NewServer(t, Options{})
	s.settled()
	pids := s.pidFiles()
	smtpdReloads := strings.Count(s.Log(), "smtpd: status: configuration reloaded")

	s.SetControl("rcpthosts", "# replaced by mistake\nexample.test junk\n<paste>\n")
	s.SetControl("smtplisten", fmt.Sprintf("127.0.0.1:%d\n", freePort(t)))
	handled := `goqmaild: (warning: SIGHUP: not forwarded|status: SIGHUP: rereading)`
	n := len(regexp.MustCompile(handled).FindAllString(s.Log(), -1))
	s.Signal(syscall.SIGHUP)
	s.WaitLog(handled, n+1, deliverTimeout) // forwarded or not
	sendDemo(t, s, "after a refused SIGHUP")
	log := s.Log()
	for _, want := range []string{
		`goqmaild: warning: SIGHUP: not forwarded: every program keeps its old configuration`,
		`goqmaild: warning: SIGHUP: configuration: control/rcpthosts line 2: "example.test junk" is not a domain name`,
		`goqmaild: warning: SIGHUP: configuration: control/rcpthosts line 3: "<paste>" is not a domain name`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	if _, after, _ := strings.Cut(log, "SIGHUP: not forwarded"); strings.Contains(after, "configuration reloaded") {
		t.Errorf("a program reloaded the bad configuration:\n%s", after)
	}

	// Fixed: the next SIGHUP is forwarded, and the listen address that
	// changed is named as needing a restart.
	s.SetControl("rcpthosts", "example.test\nmail.example.test\n")
	s.Signal(syscall.SIGHUP)
	s.WaitLog(`smtpd: status: configuration reloaded`, smtpdReloads+1, deliverTimeout)
	s.WaitLog(`goqmaild: warning: SIGHUP: control/smtplisten changed .*restart goqmaild to apply it`, 1, deliverTimeout)
	if after := s.pidFiles(); fmt.Sprint(after) != fmt.Sprint(pids) {
		t.Errorf("programs restarted: pids %v, then %v", pids, after)
	}
}

// TestProgramWithBadConfigurationWaits: a program whose configuration
// became invalid without a SIGHUP and that then restarts exits with the
// configuration status; goqmaild alerts with the reason instead of
// restarting it every second, and starts it at once after a SIGHUP whose
// check passes. Before, smtpd restarted with databytes 10M taken as "no
// limit" (a warning).
func TestProgramWithBadConfigurationWaits(t *testing.T) {
	t.Parallel()
	requireTool(t, "swaks")
	s := NewServer(t, Options{})
	s.settled()
	s.SetControl("databytes", "10M\n")
	smtpd := s.pidFiles()["smtpd"]
	if err := syscall.Kill(smtpd, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// The new smtpd has read databytes (before, it warned and went on).
	s.WaitLog(`smtpd: (alert: configuration|warning): control/databytes`, 1, deliverTimeout)
	if _, err := greet(s.Addr); err == nil {
		t.Fatal("smtpd greets with an invalid databytes")
	}
	s.WaitLog(`goqmaild: alert: smtpd cannot start: its configuration is invalid; trying again in 30s`, 1, deliverTimeout)
	s.WaitLog(`goqmaild: alert: configuration: control/databytes line 1: "10M" is not a number of bytes`, 1, deliverTimeout)
	if n := len(regexp.MustCompile(`smtpd: alert: configuration`).FindAllString(s.Log(), -1)); n != 1 {
		t.Errorf("smtpd tried %d times, want once before the wait", n)
	}

	s.SetControl("databytes", strconv.Itoa(1<<20)+"\n")
	s.Signal(syscall.SIGHUP)
	waitFor(t, deliverTimeout, "smtpd to greet again", func() bool { _, err := greet(s.Addr); return err == nil })
	sendDemo(t, s, "after the fix")
}
