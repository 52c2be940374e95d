package smtpd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"goqmail/internal/proto"
	"goqmail/internal/qmailqueue"
	"goqmail/internal/spp"
	"goqmail/internal/timerslack"
)

// queueSink is where data() sends a message: the queue's submit socket
// (submit.Conn), or a QMAILQUEUE program (filterSink).
type queueSink interface {
	Begin(sender string, rcpts []string) error
	Write(p []byte) (int, error)
	Prefix(lines []byte)
	Commit(timeout time.Duration) (proto.Result, error)
	Abort()
	Close()
}

// openQueue returns where the message of this transaction goes, and what
// to call when the session is done with it.
func (s *session) openQueue() (queueSink, func()) {
	if prog, ok := s.qmailQueueProgram(); ok {
		f := &filterSink{path: prog, env: spp.Environ(s.childEnv()), dir: s.hooks.cfg.root,
			timeout: s.hooks.cfg.qqTimeout, spool: s.hasMessageChecks(),
			log: func(format string, args ...any) {
				s.srv.Log.Printf("%s: qmailqueue %s: %s", s.remote, prog, fmt.Sprintf(format, args...))
			}}
		return f, f.finish
	}
	q := s.srv.takeQueue()
	return q, func() { s.srv.giveQueue(q) }
}

// qmailQueueProgram is the QMAILQUEUE program of this session: the
// variable (tcp.smtp, or a plugin's S) wins over control/qmailqueue, and
// an empty value means none.
func (s *session) qmailQueueProgram() (string, bool) {
	if s.hooks == nil {
		return "", false
	}
	prog, set := s.hooks.env["QMAILQUEUE"]
	if !set {
		prog = s.hooks.cfg.qmailQueue
	}
	return prog, prog != ""
}

// hasMessageChecks reports whether checks may add header lines at the
// end of this message's data (msgcheck.go).
func (s *session) hasMessageChecks() bool {
	return len(s.srv.MessageChecks) > 0 || s.hooks != nil && len(s.hooks.milters) > 0
}

// filterSink runs a QMAILQUEUE program for one message, as qmail-smtpd's
// qmail_open and qmail_close do: the program starts at DATA as smtpd's own
// account with the message on descriptor 0, the envelope comes on
// descriptor 1 once the message has ended, and its exit code is the
// answer (qmailqueue.ExitOutcome); descriptor 6 carries notqmail's custom
// error and goqmail-qmail-queue's queue id.
//
// The message goes to the program as it arrives, except when message
// checks run (DKIM, DMARC, milters): their header lines are only known at
// the end of the data and belong at the top, so the message then waits in
// an unlinked file of smtpd's in $TMPDIR and the program gets those lines
// first, then the message. Either way the program sees what the queue
// would store: smtpd's Received line, the header lines of plugins, the
// message without the fields smtpd removes (hdrfilter.go).
type filterSink struct {
	path    string
	env     []string
	dir     string
	timeout time.Duration
	spool   bool
	log     func(format string, args ...any)
	// sign passes smtpd's word that the message may be DKIM-signed (a
	// client that may relay) to goqmail's qmail-queue, as
	// GOQMAIL_DKIM_SIGN=1; the queue believes it only from smtpd's uid.
	sign bool

	sender string
	rcpts  []string
	cmd    *exec.Cmd
	msgW   *os.File // the program's descriptor 0, our end
	envW   *os.File // its descriptor 1
	repR   *os.File // its descriptor 6
	report chan []byte
	exited chan error
	out    *bufio.Writer
	spoolF *os.File
	prefix []byte
	err    error // the first write error: the program stopped reading
	done   bool  // waited for, or left to the reaper
}

// errFilterAsRoot: no filter runs as root (issue 13's rule for checks);
// smtpd has an account of its own. filtersAsRoot is for tests, which may
// run as root.
var (
	errFilterAsRoot = errors.New("refusing to run a QMAILQUEUE program as root")
	filtersAsRoot   = false
)

// Begin starts the program (qmail-smtpd: "451 qqt failure" when it cannot).
func (f *filterSink) Begin(sender string, rcpts []string) error {
	if os.Geteuid() == 0 && !filtersAsRoot {
		return errFilterAsRoot
	}
	if !filepath.IsAbs(f.path) {
		return fmt.Errorf("QMAILQUEUE=%q is not an absolute path", f.path)
	}
	f.sender, f.rcpts = sender, rcpts
	var pipes [4][2]*os.File // message, envelope, report, stderr
	for i := range pipes {
		r, w, err := os.Pipe()
		if err != nil {
			f.closePipes(pipes[:i])
			return fmt.Errorf("start %s: %w", f.path, err)
		}
		pipes[i] = [2]*os.File{r, w}
	}
	cmd := exec.Command(f.path)
	cmd.Dir, cmd.Env = f.dir, f.env
	if f.sign {
		cmd.Env = append(cmd.Env[:len(cmd.Env):len(cmd.Env)], "GOQMAIL_DKIM_SIGN=1")
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = pipes[0][0], pipes[1][0], pipes[3][1]
	cmd.ExtraFiles = []*os.File{nil, nil, nil, pipes[2][1]} // descriptor 6
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := timerslack.Start(cmd, timerslack.Default); err != nil { // the administrator's program, not goqmail's tuning
		f.closePipes(pipes[:])
		return fmt.Errorf("start %s: %w", f.path, err)
	}
	pipes[0][0].Close()
	pipes[1][0].Close()
	pipes[2][1].Close()
	pipes[3][1].Close()
	f.cmd, f.msgW, f.envW, f.repR = cmd, pipes[0][1], pipes[1][1], pipes[2][0]
	f.report = make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(f.repR, 4096))
		f.report <- b
	}()
	go func(r *os.File) {
		defer r.Close()
		sc := bufio.NewScanner(r)
		for n := 0; sc.Scan(); n++ {
			if n < 20 {
				f.log("%s", sc.Text())
			}
		}
	}(pipes[3][0])
	f.exited = make(chan error, 1)
	go func() { f.exited <- cmd.Wait() }()
	if f.spool {
		sp, err := tempFile()
		if err != nil {
			f.Abort()
			return fmt.Errorf("a file in %s for the message: %w", os.TempDir(), err)
		}
		f.spoolF = sp
		f.out = bufio.NewWriterSize(sp, 64<<10)
	} else {
		f.out = bufio.NewWriterSize(deadlineWriter{f.msgW, f.timeout}, 64<<10)
	}
	return nil
}

func (f *filterSink) closePipes(ps [][2]*os.File) {
	for _, p := range ps {
		if p[0] != nil {
			p[0].Close()
			p[1].Close()
		}
	}
}

// Write never fails the DATA reader: a program that stops reading (it
// refused the message early, or died) is answered at the end.
func (f *filterSink) Write(p []byte) (int, error) {
	if f.err == nil {
		_, f.err = f.out.Write(p)
	}
	return len(p), nil
}

// Prefix takes the header lines for the top of the message.
func (f *filterSink) Prefix(lines []byte) { f.prefix = append(f.prefix, lines...) }

// Commit ends the message, writes the envelope, and waits for the
// program's answer, at most the filter timeout.
func (f *filterSink) Commit(time.Duration) (proto.Result, error) {
	if f.err == nil {
		f.err = f.out.Flush()
	}
	if f.spool && f.err == nil {
		f.err = f.sendSpool()
	}
	if !f.spool && len(f.prefix) > 0 && f.err == nil {
		f.err = errors.New("header lines for the top of a message that went out as it came")
	}
	f.msgW.Close()
	if f.err == nil {
		// qmail_close: no envelope after a write error, so the
		// program's qmail-queue queues nothing.
		_, f.err = deadlineWriter{f.envW, f.timeout}.Write(qmailqueue.AppendEnvelope(nil, f.sender, f.rcpts))
	}
	f.envW.Close()
	timer := time.NewTimer(f.timeout)
	defer timer.Stop()
	var werr error
	select {
	case werr = <-f.exited:
	case <-timer.C:
		f.kill()
		<-f.exited
		f.done = true
		f.log("did not answer within %v; its process group was killed", f.timeout)
		return outcomeResult(qmailqueue.Outcomes[qmailqueue.ExitTimeout], ""), nil
	}
	f.done = true
	f.kill() // what it left running in its group
	var report []byte
	select {
	case report = <-f.report:
	case <-time.After(2 * time.Second): // a child kept descriptor 6 open
	}
	var ee *exec.ExitError
	var o qmailqueue.Outcome
	switch {
	case werr == nil:
		o = qmailqueue.ExitOutcome(0, nil)
	case errors.As(werr, &ee) && ee.Exited():
		o = qmailqueue.ExitOutcome(ee.ExitCode(), report)
	default:
		o = qmailqueue.Crashed
	}
	if f.err != nil {
		f.log("did not get the whole message: %v", f.err)
	}
	if o.OK && f.err != nil {
		// It said yes to a message it did not read to the end.
		o = qmailqueue.Outcomes[qmailqueue.ExitRead]
	}
	if !o.OK {
		f.log("refused the message from <%s>: %s", f.sender, o.Text)
	}
	id := qmailqueue.ParseQueued(report)
	if id == "" {
		id = strconv.Itoa(f.cmd.Process.Pid) // qmail-smtpd's "qp": the program's pid
	}
	return outcomeResult(o, id), nil
}

func outcomeResult(o qmailqueue.Outcome, id string) proto.Result {
	if o.OK {
		return proto.Result{OK: true, ID: id}
	}
	return proto.Result{Temporary: !o.Permanent, Text: o.Text}
}

// sendSpool writes the header lines, then the message waiting in the
// spool file, to the program.
func (f *filterSink) sendSpool() error {
	w := deadlineWriter{f.msgW, f.timeout}
	if _, err := w.Write(f.prefix); err != nil {
		return err
	}
	if _, err := f.spoolF.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err := io.Copy(w, f.spoolF)
	return err
}

// Abort ends the message without its envelope: a qmail-queue sees end of
// file before the envelope's end and queues nothing. The program is
// reaped in the background, killed if it has not gone within the filter
// timeout.
func (f *filterSink) Abort() {
	if f.cmd == nil || f.done {
		return
	}
	f.done = true
	f.msgW.Close()
	f.envW.Close()
	go func() {
		select {
		case <-f.exited:
		case <-time.After(f.timeout):
			f.kill()
			<-f.exited
		}
		f.kill()
	}()
}

// Close is Abort: the message never began.
func (f *filterSink) Close() { f.Abort() }

// finish releases what is left once the session is done with the message.
func (f *filterSink) finish() {
	f.Abort()
	if f.spoolF != nil {
		f.spoolF.Close()
	}
	if f.repR != nil {
		f.repR.Close()
	}
}

func (f *filterSink) kill() {
	if f.cmd != nil && f.cmd.Process != nil {
		syscall.Kill(-f.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// deadlineWriter bounds each write to a program's pipe: a program that
// stops reading without exiting cannot hold the session.
type deadlineWriter struct {
	f       *os.File
	timeout time.Duration
}

func (w deadlineWriter) Write(p []byte) (int, error) {
	w.f.SetWriteDeadline(time.Now().Add(w.timeout))
	return w.f.Write(p)
}

// tempFile is an unlinked file in $TMPDIR, readable by smtpd only.
func tempFile() (*os.File, error) {
	dir := os.TempDir()
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err == nil {
		return os.NewFile(uintptr(fd), filepath.Join(dir, "smtpd-message")), nil
	}
	f, err := os.CreateTemp(dir, "goqmail-smtpd-")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name())
	return f, nil
}
