package supervise

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"goqmail/internal/accounts"
	"goqmail/internal/control"
	"goqmail/internal/logline"
	"goqmail/internal/pidlock"
	"goqmail/internal/timerslack"
)

// Supervisor runs the services of one goqmail root directory.
type Supervisor struct {
	Root   string // the goqmail directory: control/, users/, queue/, run/
	BinDir string // where the goqmail-* programs are
	Log    *logline.Logger

	asRoot bool
	ids    map[string]accounts.IDs // account name -> ids (root mode)
	files  map[string][]*os.File   // socket name -> listening sockets
	kinds  map[string]bool         // TCP listener kinds that have an address
	env    []string

	lock *pidlock.Lock // run/goqmaild.pid, held for the supervisor's whole life
	logs *logPipes     // the log pipes (logpipes.go); nil: lines go to standard error

	mu       sync.Mutex
	procs    map[string]*proc
	stopping bool
	exited   chan exitEvent
	cfg      configState // config.go
}

type proc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
}

func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

type exitEvent struct {
	svc     *Service
	err     error
	started time.Time
}

// RunDir is where sockets and pid files live.
func (s *Supervisor) RunDir() string { return filepath.Join(s.Root, "run") }

// PIDFile is the supervisor's pid file, which is also the root's lock.
func (s *Supervisor) PIDFile() string { return filepath.Join(s.RunDir(), "goqmaild.pid") }

// pidFile is a service's pid file, written while it runs.
func (s *Supervisor) pidFile(name string) string { return filepath.Join(s.RunDir(), name+".pid") }

// Run sets everything up, starts the services and supervises them until
// SIGTERM or SIGINT.
func (s *Supervisor) Run() error {
	// One root, one server: the lock comes before anything else is touched
	// (a second goqmaild used to replace the running one's sockets before it
	// failed on the port).
	if err := os.MkdirAll(s.RunDir(), 0o755); err != nil {
		return fmt.Errorf("make run directory: %w", err)
	}
	lock, err := pidlock.TryAcquire(s.PIDFile(), 0o644)
	if held := (*pidlock.HeldError)(nil); errors.As(err, &held) {
		return fmt.Errorf("goqmaild is already running on %s (pid %d, %s); stop it first with kill -TERM %d", s.Root, held.PID, s.PIDFile(), held.PID)
	}
	if err != nil {
		return err
	}
	s.lock = lock
	defer lock.Release()
	snap, err := s.loadConfig() // the check runs first: config.go
	if err != nil {
		return err
	}
	s.asRoot = os.Geteuid() == 0
	if err := s.resolveAccounts(); err != nil {
		return err
	}
	if err := s.makeSockets(snap); err != nil {
		return err
	}
	if err := s.setupLogs(snap); err != nil {
		return err
	}
	defer s.stopLogs() // after every other program, whatever ends Run
	s.metricsEnv()
	s.procs = map[string]*proc{}
	s.exited = make(chan exitEvent, len(Services))
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGALRM)
	for i := range Services {
		if !s.wanted(&Services[i]) {
			continue
		}
		if err := s.start(&Services[i]); err != nil {
			s.shutdown()
			return err
		}
	}
	mode := "as " + strconv.Itoa(os.Getuid())
	if s.asRoot {
		mode = "as root, services under their own accounts"
	}
	s.Log.Printf("status: started in %s (%s); SMTP on %v", s.Root, mode, snap.List(control.SMTPListen))
	for {
		select {
		case ev := <-s.exited:
			s.mu.Lock()
			stopping := s.stopping
			s.mu.Unlock()
			if stopping || s.heldForConfig(ev) {
				continue
			}
			s.Log.Printf("warning: %s exited (%v); restarting", ev.svc.Name, ev.err)
			// Throttle: never restart a program more than once a second.
			if wait := time.Second - time.Since(ev.started); wait > 0 {
				time.Sleep(wait)
			}
			if err := s.start(ev.svc); err != nil {
				s.Log.Printf("alert: cannot restart %s: %v; retrying", ev.svc.Name, err)
				go func(ev exitEvent) {
					time.Sleep(5 * time.Second)
					s.exited <- exitEvent{svc: ev.svc, err: err, started: time.Now()}
				}(ev)
			}
		case sig := <-sigs:
			switch sig {
			case syscall.SIGHUP:
				s.reload() // checked first: config.go
			case syscall.SIGALRM:
				s.signal(syscall.SIGALRM, "send")
			default:
				s.Log.Printf("status: %v: stopping", sig)
				s.shutdown()
				s.Log.Printf("status: stopped") // the last line goqmail-log writes (stopLogs)
				return nil
			}
		}
	}
}

func (s *Supervisor) resolveAccounts() error {
	s.ids = map[string]accounts.IDs{}
	for _, a := range accounts.All {
		if !s.asRoot {
			s.ids[a.Name] = accounts.Current()
			continue
		}
		ids, err := accounts.Lookup(a)
		if err != nil {
			return err
		}
		s.ids[a.Name] = ids
	}
	uidOf := func(a accounts.Account) string {
		if !s.asRoot {
			return "-1"
		}
		return strconv.Itoa(s.ids[a.Name].UID)
	}
	s.env = []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"GOQMAIL_SEND_UID=" + uidOf(accounts.Send),
		"GOQMAIL_QUEUE_UID=" + uidOf(accounts.Queue),
		"GOQMAIL_SMTPD_UID=" + uidOf(accounts.SMTPD),
		"GOQMAIL_AUTH_CLIENTS=" + uidOf(accounts.SMTPD) + "," + uidOf(accounts.POP3) + "," + uidOf(accounts.Web),
	}
	// Go runtime tuning set by the administrator reaches every program.
	// GOQMAIL_DNS and GOQMAIL_REMOTEPORT point remote delivery at a test
	// network's DNS server and SMTP port (cmd/goqmail-remote); GOQMAIL_DNS also smtpd's policy lookups (cmd/goqmail-smtpd);
	// GOQMAIL_TLS_ROOTS and GOQMAIL_MTASTS_PORT at its CA and HTTPS port
	// (cmd/goqmail-remote, cmd/goqmail-acme); GOQMAIL_ACME_CHECK sets how
	// often goqmail-acme looks at the certificate (cmd/goqmail-acme).
	// GOQMAIL_JOURNAL_SOCKET and GOQMAIL_SYSLOG_SOCKET point goqmail-log
	// at a test's stand-ins for journald and syslogd.
	// GOQMAIL_QUEUEJOURNAL_SEGMENT shrinks the queue journal's segments so
	// that the power-loss campaign goes round its ring (cmd/goqmail-queue).
	for _, v := range []string{"GOMAXPROCS", "GOGC", "GOMEMLIMIT", "GOQMAIL_DNS", "GOQMAIL_REMOTEPORT", "GOQMAIL_TLS_ROOTS", "GOQMAIL_MTASTS_PORT", "GOQMAIL_ACME_CHECK", "GOQMAIL_JOURNAL_SOCKET", "GOQMAIL_SYSLOG_SOCKET", "GOQMAIL_QUEUEJOURNAL_SEGMENT"} {
		if val, ok := os.LookupEnv(v); ok {
			s.env = append(s.env, v+"="+val)
		}
	}
	return nil
}

// metricsEnv tells the programs whether goqmail-metrics runs (a metrics
// listener is configured), and goqmail-metrics which uid each of them
// sends from.
func (s *Supervisor) metricsEnv() {
	if !s.kinds["prometheus"] {
		return
	}
	var clients []string
	for _, m := range metricsSenders {
		uid := os.Getuid()
		if s.asRoot {
			uid = s.ids[m.account.Name].UID
		}
		clients = append(clients, m.program+"="+strconv.Itoa(uid))
	}
	s.env = append(s.env, "GOQMAIL_METRICS=1", "GOQMAIL_METRICS_CLIENTS="+strings.Join(clients, ","))
}

// makeSockets creates the Unix sockets of the socket table and binds the
// SMTP addresses. The supervisor keeps them open, so a restarted server
// picks up where the old one left off and clients queue in the backlog.
func (s *Supervisor) makeSockets(snap *control.Snapshot) error {
	s.files = map[string][]*os.File{}
	s.kinds = map[string]bool{}
	for _, sk := range Sockets {
		path := filepath.Join(s.RunDir(), sk.File)
		os.Remove(path)
		if len(sk.Senders) > 0 {
			f, err := datagramSocket(path)
			if err != nil {
				return err
			}
			s.files[sk.Name] = []*os.File{f}
			continue
		}
		network := "unix"
		if sk.Packet {
			network = "unixpacket"
		}
		ln, err := net.ListenUnix(network, &net.UnixAddr{Name: path, Net: network})
		if err != nil {
			return fmt.Errorf("socket %s: %w", path, err)
		}
		ln.SetUnlinkOnClose(false)
		mode := os.FileMode(0o666)
		if sk.AdminOnly {
			mode = 0o600 // created by us: root's, or the running user's
		}
		if len(sk.Clients) > 0 {
			mode = 0o660
			if s.asRoot {
				gid, err := groupGID(accounts.NoFiles)
				if err != nil {
					return fmt.Errorf("socket %s: %w", path, err)
				}
				if err := os.Chown(path, 0, gid); err != nil {
					return fmt.Errorf("socket %s: %w", path, err)
				}
			}
		}
		if sk.Client != nil {
			mode = 0o600
			if s.asRoot {
				ids := s.ids[sk.Client.Name]
				if err := os.Chown(path, ids.UID, ids.GID); err != nil {
					return fmt.Errorf("socket %s: %w", path, err)
				}
			}
		}
		if err := os.Chmod(path, mode); err != nil {
			return fmt.Errorf("socket %s: %w", path, err)
		}
		f, err := ln.File()
		ln.Close()
		if err != nil {
			return err
		}
		s.files[sk.Name] = []*os.File{f}
	}
	if len(snap.List(control.SMTPListen)) == 0 {
		return errors.New("control/smtplisten lists no address")
	}
	for _, l := range TCPListeners {
		for _, addr := range snap.List(l.Control) {
			ln, err := s.listenTCP(addr)
			if err != nil {
				return fmt.Errorf("listen for %s on %s (control/%s): %w", l.Kind, addr, l.Control.Name, err)
			}
			f, err := ln.(*net.TCPListener).File()
			ln.Close()
			if err != nil {
				return err
			}
			s.files[l.Kind] = append(s.files[l.Kind], f)
			s.kinds[l.Kind] = true
		}
	}
	return nil
}

// datagramSocket makes a Senders socket (table.go): SOCK_DGRAM, mode 0666,
// SO_PASSCRED on, so that every datagram carries its sender's credentials
// from the first one on.
func datagramSocket(path string) (*os.File, error) {
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("socket %s: %w", path, err)
	}
	defer c.Close()
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("socket %s: %w", path, err)
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_PASSCRED, 1)
	}); err != nil || serr != nil {
		return nil, fmt.Errorf("socket %s: SO_PASSCRED: %w", path, errors.Join(err, serr))
	}
	if err := os.Chmod(path, 0o666); err != nil {
		return nil, fmt.Errorf("socket %s: %w", path, err)
	}
	return c.File()
}

// listenTCP binds addr. A port still in use is retried for a few seconds:
// the programs of a supervisor that was just killed release their copies of
// its listeners as the kernel ends them.
func (s *Supervisor) listenTCP(addr string) (net.Listener, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil || !errors.Is(err, syscall.EADDRINUSE) || time.Now().After(deadline) {
			return ln, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// wanted says whether a service runs: one that needs a network listener
// runs only when at least one of its TCP listeners has an address (its
// Unix sockets always exist: goqmail-metrics' socket does not count).
func (s *Supervisor) wanted(svc *Service) bool {
	if svc.Log {
		return s.logs != nil
	}
	if !svc.NeedsListener {
		return true
	}
	for _, name := range svc.Sockets {
		if _, tcp := listener(name); tcp && len(s.files[name]) > 0 {
			return true
		}
	}
	return false
}

// groupGID looks a group up by name.
func groupGID(name string) (int, error) {
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(g.Gid)
}

func (s *Supervisor) start(svc *Service) error {
	cmd := exec.Command(filepath.Join(s.BinDir, svc.Binary), s.Root)
	cmd.Env = s.env
	nfds := 0
	cmd.Dir = "/"
	out := s.stdio(svc) // its log pipe, or goqmaild's standard error
	cmd.Stdout = out
	cmd.Stderr = out
	var kinds []string
	for _, name := range svc.Sockets {
		cmd.ExtraFiles = append(cmd.ExtraFiles, s.files[name]...)
		nfds += len(s.files[name])
		for range s.files[name] {
			kinds = append(kinds, name)
		}
	}
	// Like systemd's LISTEN_FDS (and LISTEN_FDNAMES): the program takes
	// exactly these, and knows each one's kind.
	cmd.Env = append(cmd.Env[:len(cmd.Env):len(cmd.Env)], "GOQMAIL_FDS="+strconv.Itoa(nfds), "GOQMAIL_FD_KINDS="+strings.Join(kinds, ","))
	if svc.Log {
		files, env := s.logWriterFiles()
		cmd.ExtraFiles = append(cmd.ExtraFiles, files...)
		cmd.Env = append(cmd.Env, env...)
	}
	if _, set := os.LookupEnv("GOMAXPROCS"); !set {
		if svc.OneProc {
			cmd.Env = append(cmd.Env, "GOMAXPROCS=1")
		}
		if svc.ChildProcs > 0 {
			cmd.Env = append(cmd.Env, "GOQMAIL_LOCAL_GOMAXPROCS="+strconv.Itoa(svc.ChildProcs))
		}
	}
	// A program dies with its supervisor (SIGKILL, not SIGTERM): a program
	// that outlived it would go on working beside the next supervisor's,
	// and an old queue went on writing into files the new one's recovery
	// had recycled (issue 10). Everything is crash-safe; a message in
	// progress gets no 250 and the client retries.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if s.asRoot && svc.Account != nil {
		ids := s.ids[svc.Account.Name]
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(ids.UID), Gid: uint32(ids.GID), Groups: []uint32{uint32(ids.GID)}}
	}
	// Go's system monitor polls no more often than the slack lets it
	// (internal/timerslack); what the program starts inherits it.
	if err := timerslack.Start(cmd, timerslack.Server); err != nil {
		return fmt.Errorf("start %s: %w", svc.Name, err)
	}
	started := time.Now()
	p := &proc{cmd: cmd, done: make(chan struct{})}
	s.mu.Lock()
	s.procs[svc.Name] = p
	s.mu.Unlock()
	os.WriteFile(s.pidFile(svc.Name), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644)
	go func() {
		err := cmd.Wait()
		close(p.done)
		s.exited <- exitEvent{svc: svc, err: err, started: started}
	}()
	return nil
}

func (s *Supervisor) signal(sig syscall.Signal, names ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range names {
		if p := s.procs[n]; p != nil && p.running() {
			p.cmd.Process.Signal(sig)
		}
	}
}

// shutdown stops the services in an order that loses nothing: smtpd first
// (no new mail; messages being received finish), then send and the local
// spawner together (send starts nothing more and waits for running
// deliveries; the spawner ends its delivery processes within
// local.StopGrace, killing .qmail programs that would not finish, and
// relays their deferrals to send, which records them through the queue),
// then the queue, remote delivery (whose running jobs send waited for) and
// auth. The spawner used to stop last, after send had waited 60 s for a
// program that never exits, and left it running (issue 11, item 3).
func (s *Supervisor) shutdown() {
	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()
	for i, stage := range [][]string{{"smtpd", "pop3d", "web"}, {"send", "lspawn"}, {"queue", "remote", "auth", "metrics"}, {"dkimsign"}} {
		if i == 1 {
			// The network front ends are gone: close the listening sockets,
			// so new clients are refused at once instead of waiting in a
			// backlog nobody will ever accept from.
			s.closeListeners()
		}
		s.signal(syscall.SIGTERM, stage...)
		deadline := time.Now().Add(60 * time.Second)
		for _, n := range stage {
			s.mu.Lock()
			p := s.procs[n]
			s.mu.Unlock()
			if p == nil {
				continue
			}
			select {
			case <-p.done:
			case <-time.After(time.Until(deadline)):
				s.Log.Printf("warning: %s did not stop in time; killing it", n)
				p.cmd.Process.Kill()
				<-p.done
			}
			os.Remove(s.pidFile(n))
		}
	}
}

// closeListeners closes the supervisor's copies of the TCP listeners.
func (s *Supervisor) closeListeners() {
	for _, l := range TCPListeners {
		for _, f := range s.files[l.Kind] {
			f.Close()
		}
		delete(s.files, l.Kind)
	}
}
