package main

import (
	"errors"
	"fmt"
	"goqmail/internal/supervise"
	"goqmail/internal/testport"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// server is one goqmaild we started, on a root directory of our own.
type server struct {
	bin     string
	root    string
	addr    string // SMTP address
	logPath string
	logFile *os.File // goqmaild's stderr

	mu     sync.Mutex // cmd and exited change when the killer restarts goqmaild
	cmd    *exec.Cmd
	exited chan struct{}

	markMu sync.Mutex
	mark   *os.File // our own O_APPEND handle on the same log, for markers

	// starter starts goqmaild's command (nil: cmd.Start). The power-loss
	// test starts it through crashfs, which traps its syncfs calls.
	starter func(*exec.Cmd) error
}

// freePort finds a loopback port nobody listens on (internal/testport).
func freePort() (string, error) { return testport.FreeAddr() }

// programs are what goqmaild needs beside it (it runs the others from its
// own directory), plus the admin command.
var programs = supervise.Programs

// snapshotBin copies the programs into work/bin. The supervisor execs a
// program again at every restart; with a copy, a `make build` elsewhere
// during the run cannot swap binaries under the test halfway through.
func snapshotBin(bin, work string) (string, error) {
	dst := filepath.Join(work, "bin")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return "", err
	}
	for _, p := range programs {
		b, err := os.ReadFile(filepath.Join(bin, p))
		if err != nil {
			return "", fmt.Errorf("copy programs: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dst, p), b, 0o755); err != nil {
			return "", fmt.Errorf("copy programs: %w", err)
		}
	}
	return dst, nil
}

// setupServer runs `goqmail init` in work/root and starts goqmaild on it,
// its log (every program's stderr) in work/goqmaild.log.
func setupServer(bin, work string) (*server, error) {
	s, err := initServer(bin, work)
	if err != nil {
		return nil, err
	}
	if err := s.start(); err != nil {
		return nil, err
	}
	return s, nil
}

// initServer copies the programs and runs `goqmail init` in work/root
// with SMTP on a free loopback port; it starts nothing.
func initServer(bin, work string) (*server, error) {
	addr, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("free port: %w", err)
	}
	if bin, err = snapshotBin(bin, work); err != nil {
		return nil, err
	}
	s := &server{bin: bin, root: filepath.Join(work, "root"), addr: addr, logPath: filepath.Join(work, "goqmaild.log")}
	mk := exec.Command(filepath.Join(bin, "goqmail"), "init", s.root)
	mk.Env = append(os.Environ(), "GOQMAIL_LISTEN="+addr)
	if out, err := mk.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("goqmail init: %w\n%s", err, out)
	}
	// The load comes from one address and reconnects after every kill and
	// temporary failure: the per-address limits, meant for strangers,
	// would turn some attempts into refusals at connect (docs/limits.md).
	for name, v := range map[string]string{"concurrencyperip": "0", "connectrateperip": "0"} {
		if err := os.WriteFile(filepath.Join(s.root, "control", name), []byte(v+"\n"), 0o644); err != nil {
			return nil, err
		}
	}
	// Both handles append: every program writes a line per write(2) and so
	// do we, so our kill markers fall between whole lines, in order.
	s.logFile, err = os.OpenFile(s.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	s.mark, err = os.OpenFile(s.logPath, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// start starts goqmaild on the root and waits until it is ready.
func (s *server) start() error {
	cmd := exec.Command(filepath.Join(s.bin, "goqmaild"), s.root)
	cmd.Stdout, cmd.Stderr = s.logFile, s.logFile
	start := cmd.Start
	if s.starter != nil {
		start = func() error { return s.starter(cmd) }
	}
	if err := start(); err != nil {
		return fmt.Errorf("start goqmaild: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	if err := s.waitReady(30 * time.Second); err != nil {
		s.stop()
		return err
	}
	return nil
}

// current returns the running goqmaild and the channel closed when it exits.
func (s *server) current() (*exec.Cmd, chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd, s.exited
}

// killSupervisor SIGKILLs goqmaild itself (its programs die with it) and
// starts a new one at once, as an init system or an impatient admin would.
// It returns the killed pid (0 if there was none), when it was killed and
// when it was seen dead: its programs die in between (and an instant
// after), so a session may still be served by them until then.
func (s *server) killSupervisor() (pid int, at, dead time.Time, err error) {
	cmd, exited := s.current()
	if cmd == nil || cmd.Process == nil {
		return 0, at, dead, nil
	}
	pid = cmd.Process.Pid
	s.marker("kill goqmaild pid %d", pid)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		s.marker("kill goqmaild pid %d failed: %v", pid, err)
		return 0, at, dead, nil
	}
	at = time.Now()
	<-exited
	dead = time.Now()
	return pid, at, dead, s.start()
}

// waitReady waits until SMTP answers and every program has a pid file.
func (s *server) waitReady(patience time.Duration) error {
	deadline := time.Now().Add(patience)
	for {
		c, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err == nil {
			c.Close()
			ready := true
			for _, p := range []string{"queue", "send", "lspawn", "smtpd", "remote"} {
				if s.pid(p) == 0 {
					ready = false
				}
			}
			if ready {
				return nil
			}
		}
		_, exited := s.current()
		select {
		case <-exited:
			return fmt.Errorf("goqmaild exited during startup; see %s", s.logPath)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("goqmaild not ready after %v (last error %v); see %s", patience, err, s.logPath)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends goqmaild with SIGTERM (a clean stop of everything), killing it
// if it does not stop in time. Safe to call more than once.
func (s *server) stop() error {
	if s == nil {
		return nil
	}
	cmd, exited := s.current()
	if cmd == nil || cmd.Process == nil {
		return nil
	}
	select {
	case <-exited:
		return nil
	default:
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		return nil
	case <-time.After(3 * time.Minute):
		// Its children have SIGKILL as their parent-death signal.
		cmd.Process.Kill()
		<-exited
		return errors.New("goqmaild did not stop within 3 minutes of SIGTERM; killed it")
	}
}

// pid reads ROOT/run/NAME.pid and returns the pid if that process is alive,
// a child of our goqmaild and the right program; 0 otherwise (not written
// yet, or stale while the supervisor waits out its restart throttle).
func (s *server) pid(name string) int {
	b, err := os.ReadFile(filepath.Join(s.root, "run", name+".pid"))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	cmd, _ := s.current()
	if cmd == nil || cmd.Process == nil {
		return 0
	}
	comm, ppid, ok := procInfo(pid)
	if !ok || ppid != cmd.Process.Pid || comm != "goqmail-"+name {
		return 0
	}
	return pid
}

// locals lists the running delivery processes of our server: processes
// named goqmail-local whose parent is our local spawner. Never anyone
// else's, even if another goqmail runs on this machine.
func (s *server) locals() []int {
	spawner := s.pid("lspawn")
	if spawner == 0 {
		return nil
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if comm, ppid, ok := procInfo(pid); ok && comm == "goqmail-local" && ppid == spawner {
			pids = append(pids, pid)
		}
	}
	return pids
}

// procInfo reads a process's name and parent from /proc/PID/stat; a zombie
// (state Z, already dead) counts as gone.
func procInfo(pid int) (comm string, ppid int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", 0, false
	}
	// pid (comm) state ppid ...; comm may hold spaces, so split at the last ')'.
	st := string(b)
	open, end := strings.IndexByte(st, '('), strings.LastIndexByte(st, ')')
	if open < 0 || end < open {
		return "", 0, false
	}
	f := strings.Fields(st[end+1:])
	if len(f) < 2 || f[0] == "Z" || f[0] == "X" {
		return "", 0, false
	}
	ppid, err = strconv.Atoi(f[1])
	if err != nil {
		return "", 0, false
	}
	return st[open+1 : end], ppid, true
}

// marker writes a line into goqmaild's log in its format, so the log shows
// exactly where each kill fell among the programs' own lines.
func (s *server) marker(format string, args ...any) {
	line := time.Now().UTC().Format("2006-01-02T15:04:05.000000Z ") + markerProg + ": " + fmt.Sprintf(format, args...) + "\n"
	s.markMu.Lock()
	s.mark.WriteString(line)
	s.markMu.Unlock()
}

const markerProg = "crashtest"

// signalSend sends sig to the current send process.
func (s *server) signalSend(sig syscall.Signal) bool {
	pid := s.pid("send")
	if pid == 0 {
		return false
	}
	return syscall.Kill(pid, sig) == nil
}
