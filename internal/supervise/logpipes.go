package supervise

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"goqmail/internal/control"
)

// Logs that last (control/logdest, docs/logs.md), daemontools' way: for
// every destination but goqmaild's standard error, each program gets a
// pipe of its own as standard output and error, and goqmail-log, running
// under its own account, gets the read ends. The supervisor only holds
// both ends of every pipe, so that a restarted program or a restarted log
// writer finds its pipe with nothing lost; it reads and parses nothing.

// logWait bounds how long goqmail-log may take to write what is left in
// the pipes at the stop.
const logWait = 10 * time.Second

// logPipes is the supervisor's side of the log pipes.
type logPipes struct {
	dest  string              // "files", "journal" or "syslog"
	names []string            // pipe names in the order of goqmail-log's descriptors
	r, w  map[string]*os.File // pipe name -> read end, write end
	orig  *os.File            // goqmaild's standard error
}

// selfPipe is the name of goqmaild's own pipe.
const selfPipe = "goqmaild"

// LogDest resolves control/logdest: "" when the lines stay on standard
// error, else "files", "journal" or "syslog". auto means the journal when
// stderr is the journal stream systemd's JOURNAL_STREAM names
// ("device:inode" of the stream, systemd.exec(5)): INVOCATION_ID alone
// says systemd started us, not where standard error goes.
func LogDest(setting string, getenv func(string) string, stderr *os.File) string {
	switch setting {
	case "files", "journal", "syslog":
		return setting
	case "auto":
		if isJournalStream(getenv("JOURNAL_STREAM"), stderr) {
			return "journal"
		}
	}
	return ""
}

func isJournalStream(v string, f *os.File) bool {
	dev, ino, ok := strings.Cut(v, ":")
	if !ok || f == nil {
		return false
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return false
	}
	return strconv.FormatUint(st.Dev, 10) == dev && strconv.FormatUint(st.Ino, 10) == ino
}

// setupLogs makes a pipe for every service and for goqmaild itself, and
// from now on writes goqmaild's own lines into its pipe. Nothing to do
// when the lines stay on standard error.
func (s *Supervisor) setupLogs(snap *control.Snapshot) error {
	dest := LogDest(snap.Line(control.LogDest), os.Getenv, os.Stderr)
	if dest == "" {
		return nil
	}
	lp := &logPipes{dest: dest, r: map[string]*os.File{}, w: map[string]*os.File{}, orig: os.Stderr}
	for _, svc := range Services {
		if !svc.Log {
			lp.names = append(lp.names, svc.Name)
		}
	}
	lp.names = append(lp.names, selfPipe)
	for _, name := range lp.names {
		r, w, err := os.Pipe()
		if err != nil {
			lp.close()
			return fmt.Errorf("log pipe for %s: %w", name, err)
		}
		// Room for bursts while goqmail-log is slow or restarting; the
		// kernel may give less (pipe-max-size), which only means less room.
		// (Through Control: Fd would make the write end blocking, and
		// goqmaild's own must not be.)
		if rc, err := w.SyscallConn(); err == nil {
			rc.Control(func(fd uintptr) { unix.FcntlInt(fd, unix.F_SETPIPE_SZ, 1<<20) })
		}
		lp.r[name], lp.w[name] = r, w
	}
	s.logs = lp
	s.Log.SetOutput(&selfWriter{w: lp.w[selfPipe], fallback: lp.orig})
	return nil
}

// stdio is what a service gets as standard output and error.
func (s *Supervisor) stdio(svc *Service) *os.File {
	if s.logs == nil || svc.Log {
		return os.Stderr
	}
	return s.logs.w[svc.Name]
}

// logWriterFiles are goqmail-log's descriptors (3, 4, ...) and their names.
func (s *Supervisor) logWriterFiles() ([]*os.File, []string) {
	if s.logs == nil {
		return nil, nil
	}
	var files []*os.File
	for _, n := range s.logs.names {
		files = append(files, s.logs.r[n])
	}
	return files, []string{"GOQMAIL_LOG=" + s.logs.dest, "GOQMAIL_LOG_FDS=" + strings.Join(s.logs.names, ",")}
}

// stopLogs is the last step of a stop: goqmaild's lines go back to its
// standard error, the write ends are closed (every program has exited, so
// goqmail-log reads what is left and then meets the end of each pipe),
// and goqmail-log is told to finish, and killed if it does not.
func (s *Supervisor) stopLogs() {
	lp := s.logs
	if lp == nil {
		return
	}
	s.Log.SetOutput(lp.orig)
	for _, w := range lp.w {
		w.Close()
	}
	s.mu.Lock()
	p := s.procs["log"]
	s.mu.Unlock()
	if p != nil {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(logWait):
			s.Log.Printf("warning: log did not stop in time; killing it")
			p.cmd.Process.Kill()
			<-p.done
		}
		os.Remove(s.pidFile("log"))
	}
	for _, r := range lp.r {
		r.Close()
	}
}

func (lp *logPipes) close() {
	for _, f := range lp.r {
		f.Close()
	}
	for _, f := range lp.w {
		f.Close()
	}
}

// selfWriter writes goqmaild's own lines into its pipe without ever
// waiting: the supervisor must go on restarting programs (goqmail-log
// among them) while the pipe is full, so a line that does not fit goes to
// goqmaild's standard error instead.
type selfWriter struct {
	w        *os.File
	fallback *os.File
}

func (sw *selfWriter) Write(b []byte) (int, error) {
	all := len(b)
	if rc, err := sw.w.SyscallConn(); err == nil {
		n := 0
		rc.Write(func(fd uintptr) bool {
			// The pipe is non-blocking (os.Pipe): a full one is EAGAIN.
			n, _ = syscall.Write(int(fd), b)
			return true // never wait for room
		})
		if n == len(b) {
			return all, nil
		}
		if n > 0 {
			b = b[n:] // writes up to PIPE_BUF are whole: only an overlong line gets here
		}
	}
	if _, err := sw.fallback.Write(b); err != nil {
		return 0, err
	}
	return all, nil
}
