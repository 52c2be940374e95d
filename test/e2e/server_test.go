package e2e

import (
	"bufio"
	"errors"
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

	"goqmail/internal/logdir"
	"goqmail/internal/testport"
)

// Server is one goqmail root directory and, while started, its goqmaild.
type Server struct {
	t       *testing.T
	Root    string // the goqmail directory made by `goqmail init`
	Port    int
	Addr    string // 127.0.0.1:Port
	logPath string
	logFile *os.File
	cred    *syscall.Credential // run init and goqmaild as this user; nil: as the test
	env     []string            // extra environment for goqmaild
	// extraFiles are passed to goqmaild as descriptors 3, 4, ... (not
	// close-on-exec), as an init script could leave them open.
	extraFiles []*os.File
	// installed: made by `goqmail install`; goqmaild is ROOT/bin/goqmaild.
	installed bool

	cmd     *exec.Cmd
	done    chan struct{} // closed when goqmaild has exited
	waitErr error

	// Probes are the client addresses of Start's readiness connections,
	// so a test counting sessions in the log can leave them out.
	Probes []string
}

// Options adjust a server before its first start.
type Options struct {
	Control map[string]string   // control file name -> content, written after init
	Cred    *syscall.Credential // single-user mode as another account
	Env     []string            // extra environment for goqmaild (GOQMAIL_DNS, GOQMAIL_REMOTEPORT)
	NoStart bool
	// Install makes the directory with `goqmail install` (as root) instead
	// of `goqmail init`, listening on Addr, with control/me, locals and
	// rcpthosts set to InstallDomain.
	Install bool
}

// InstallDomain is the local domain of a server made with Options.Install.
const InstallDomain = "inst.example.test"

// Stop bounds: goqmaild's own stages wait up to 60 s each, far more than a
// healthy stop needs; a test that sees more than this has found a hang.
const (
	startTimeout = 10 * time.Second
	stopTimeout  = 10 * time.Second
)

// NewServer makes a goqmail directory with `goqmail init` on a free port,
// applies opt.Control and starts goqmaild (unless opt.NoStart). Cleanup
// stops it and prints its log if the test failed.
func NewServer(t *testing.T, opt Options) *Server {
	t.Helper()
	base := t.TempDir()
	// As root, goqmail's accounts must get through every parent (the
	// brief's "permission denied" trap): t.TempDir makes 0700 directories.
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Dir(base), 0o755); err != nil {
		t.Fatal(err)
	}
	if opt.Cred != nil {
		if err := os.Chown(base, int(opt.Cred.Uid), int(opt.Cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	s := &Server{t: t, Root: filepath.Join(base, "root"), cred: opt.Cred, env: opt.Env, installed: opt.Install}
	s.Port = freePort(t)
	s.Addr = "127.0.0.1:" + strconv.Itoa(s.Port)
	s.logPath = filepath.Join(t.TempDir(), "goqmaild.log")
	f, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	s.logFile = f
	t.Cleanup(func() {
		if s.Running() {
			s.Stop()
		}
		f.Close()
		if t.Failed() {
			t.Logf("goqmaild log (%s):\n%s", s.Root, s.Log())
		}
	})

	verb := "init"
	if opt.Install {
		if !asRoot || opt.Cred != nil {
			t.Skip("needs root: goqmail install creates system accounts")
		}
		verb = "install"
	}
	mk := exec.Command(filepath.Join(binDir, "goqmail"), verb, s.Root)
	mk.Env = []string{"PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "GOQMAIL_LISTEN=" + s.Addr}
	mk.Dir = base
	if opt.Cred != nil {
		mk.SysProcAttr = &syscall.SysProcAttr{Credential: opt.Cred}
	}
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("goqmail %s %s: %v\n%s", verb, s.Root, err, out)
	}
	if opt.Install {
		for name, content := range map[string]string{"me": InstallDomain, "locals": InstallDomain,
			"rcpthosts": InstallDomain, "smtplisten": s.Addr} {
			s.SetControl(name, content+"\n")
		}
	}
	// Tests talk to loopback only. Remote delivery (bounces to a@example.org
	// included) goes to a closed loopback port and defers, unless the test
	// sets up its own DNS or routes; DNS goes to a closed port too.
	hasDNS := false
	for _, e := range opt.Env {
		hasDNS = hasDNS || strings.HasPrefix(e, "GOQMAIL_DNS=")
	}
	if !hasDNS {
		s.env = append(s.env, fmt.Sprintf("GOQMAIL_DNS=127.0.0.1:%d", freePort(t)))
		if _, ok := opt.Control["smtproutes"]; !ok {
			s.SetControl("smtproutes", fmt.Sprintf(":127.0.0.1:%d\n", freePort(t)))
		}
	}
	for name, content := range opt.Control {
		s.SetControl(name, content)
	}
	if !opt.NoStart {
		s.Start()
	}
	return s
}

// freePort returns a loopback port nobody listens on right now, for a
// server the test starts later (internal/testport says why not port 0).
func freePort(t *testing.T) int {
	t.Helper()
	p, err := testport.Free()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// SetControl writes control/NAME, readable by every goqmail account.
func (s *Server) SetControl(name, content string) {
	s.t.Helper()
	path := filepath.Join(s.Root, "control", name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		s.t.Fatal(err)
	}
	if s.cred != nil {
		if err := os.Chown(path, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			s.t.Fatal(err)
		}
	}
}

// Start runs goqmaild ROOT and waits until smtpd greets.
func (s *Server) Start() {
	s.t.Helper()
	if s.Running() {
		s.t.Fatal("Start: goqmaild is already running")
	}
	daemon := filepath.Join(binDir, "goqmaild")
	if s.installed {
		daemon = filepath.Join(s.Root, "bin", "goqmaild")
	}
	cmd := exec.Command(daemon, s.Root)
	cmd.Env = append([]string{"PATH=/usr/local/bin:/usr/bin:/bin"}, s.env...)
	cmd.Dir = "/"
	// A file, not a pipe: Wait must not wait for descendants that keep the
	// write end open, and the log survives restarts in one place.
	cmd.Stdout, cmd.Stderr = s.logFile, s.logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: s.cred}
	cmd.ExtraFiles = s.extraFiles
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start goqmaild: %v", err)
	}
	s.cmd = cmd
	s.done = make(chan struct{})
	go func(done chan struct{}) {
		s.waitErr = cmd.Wait()
		close(done)
	}(s.done)
	deadline := time.Now().Add(startTimeout)
	for {
		// Ready means smtpd greets on a listener this goqmaild bound: a
		// greeting alone could come from another test's server on the
		// port while ours still waits for it (seen twice before freePort
		// left the ephemeral range).
		if !listensOn(cmd.Process.Pid, s.Port) {
			if time.Now().After(deadline) {
				s.t.Fatalf("goqmaild did not listen on %s within %v\nlog:\n%s", s.Addr, startTimeout, s.Log())
			}
		} else if probe, err := greet(s.Addr); err == nil {
			s.Probes = append(s.Probes, probe)
			return
		} else if time.Now().After(deadline) {
			s.t.Fatalf("goqmaild on %s did not greet within %v: %v\nlog:\n%s", s.Addr, startTimeout, err, s.Log())
		}
		select {
		case <-s.done:
			s.t.Fatalf("goqmaild exited during start (%v)\nlog:\n%s", s.waitErr, s.Log())
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// listensOn reports whether process pid holds the socket listening on
// 127.0.0.1:port: /proc/net/tcp names the listening socket's inode, and
// one of the process's descriptors is "socket:[inode]".
func listensOn(pid, port int) bool {
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return false
	}
	local := fmt.Sprintf("0100007F:%04X", port)
	inode := ""
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 9 && f[1] == local && f[3] == "0A" { // 0A: LISTEN
			inode = f[9]
		}
	}
	if inode == "" {
		return false
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return false
	}
	for _, fd := range fds {
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); err == nil && l == "socket:["+inode+"]" {
			return true
		}
	}
	return false
}

// greet waits for smtpd's 220 and says QUIT: the port being bound (by the
// supervisor) is not enough, smtpd itself must be serving. It returns the
// probe's own address.
func greet(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(line, "220 ") {
		return "", fmt.Errorf("greeting %q", line)
	}
	fmt.Fprint(c, "QUIT\r\n")
	return c.LocalAddr().String(), nil
}

// Running reports whether goqmaild was started and has not exited.
func (s *Server) Running() bool {
	if s.done == nil {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// Pid is goqmaild's process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Signal sends sig to goqmaild.
func (s *Server) Signal(sig syscall.Signal) {
	s.t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("signal goqmaild: %v", err)
	}
}

// Stop sends SIGTERM and waits for goqmaild to exit. It returns how long
// the stop took and the exit error (nil for exit 0). A goqmaild that does
// not stop within stopTimeout fails the test and is killed along with
// every program it started.
func (s *Server) Stop() (time.Duration, error) {
	s.t.Helper()
	start := time.Now()
	pids := s.pidFiles()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		s.t.Errorf("SIGTERM goqmaild: %v", err)
	}
	select {
	case <-s.done:
		return time.Since(start), s.waitErr
	case <-time.After(stopTimeout):
	}
	s.t.Errorf("goqmaild did not stop within %v of SIGTERM; killing it and its programs %v", stopTimeout, pids)
	s.cmd.Process.Kill()
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	<-s.done
	return time.Since(start), s.waitErr
}

// pidFiles reads ROOT/run/*.pid: service name -> pid, without
// goqmaild's own (Pid has it).
func (s *Server) pidFiles() map[string]int {
	pids := map[string]int{}
	files, _ := filepath.Glob(filepath.Join(s.Root, "run", "*.pid"))
	for _, f := range files {
		if filepath.Base(f) == "goqmaild.pid" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			pids[strings.TrimSuffix(filepath.Base(f), ".pid")] = pid
		}
	}
	return pids
}

// Log returns everything goqmaild and its programs have logged so far:
// goqmaild's standard error, then, for a server that logs to files
// (control/logdest files), the lines of ROOT/log.
func (s *Server) Log() string {
	b := s.stderrLog()
	if files, err := logdir.Files(filepath.Join(s.Root, "log")); err == nil {
		for _, f := range files {
			c, _ := os.ReadFile(f)
			b += string(c)
		}
	}
	return b
}

// stderrLog is what goqmaild's standard error received.
func (s *Server) stderrLog() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	return string(b)
}

// WaitLog waits until the log has at least n lines matching re and returns
// those lines.
func (s *Server) WaitLog(re string, n int, timeout time.Duration) []string {
	s.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(timeout)
	for {
		var hits []string
		for _, l := range strings.Split(s.Log(), "\n") {
			if rx.MatchString(l) {
				hits = append(hits, l)
			}
		}
		if len(hits) >= n {
			return hits
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("waited %v for %d log lines matching %q, have %d", timeout, n, re, len(hits))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Maildir is the demo user's Maildir.
func (s *Server) Maildir() string { return filepath.Join(s.Root, "home", "demo", "Maildir") }

// MaildirNew lists the files in the demo Maildir's new/.
func (s *Server) MaildirNew() []string {
	s.t.Helper()
	return listFiles(s.t, filepath.Join(s.Maildir(), "new"))
}

// WaitMaildir waits until the demo Maildir's new/ holds n files and returns
// their paths. More than n fails at once: a duplicate delivery is a bug.
func (s *Server) WaitMaildir(n int, timeout time.Duration) []string {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		files := s.MaildirNew()
		if len(files) > n {
			s.t.Fatalf("Maildir new/ holds %d messages, expected %d: %v", len(files), n, files)
		}
		if len(files) == n {
			return files
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("waited %v for %d messages in %s/new, have %d", timeout, n, s.Maildir(), len(files))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// QueueMessages lists the committed messages in queue/msg (16 hex digits;
// the .state files beside them are not messages).
func (s *Server) QueueMessages() []string {
	s.t.Helper()
	var ids []string
	for _, f := range listFiles(s.t, filepath.Join(s.Root, "queue", "msg")) {
		if queueID.MatchString(filepath.Base(f)) {
			ids = append(ids, filepath.Base(f))
		}
	}
	return ids
}

var queueID = regexp.MustCompile(`^[0-9a-f]{16}$`)

// listFiles returns the paths of the entries of dir, sorted.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, filepath.Join(dir, e.Name()))
	}
	return out
}
