// Command goqmail-smtpd is the SMTP server. The supervisor starts it as the
// goqmaild account with the listening sockets of control/smtplisten,
// submissionlisten and smtpslisten on fds 3 and up (GOQMAIL_FDS sockets,
// GOQMAIL_FD_KINDS naming each one's kind: smtp, submission or smtps); it
// submits mail through ROOT/run/submit.sock. SIGHUP rereads control/ and
// tcp.smtp (an invalid configuration keeps the old one); SIGTERM stops
// accepting, lets sessions in DATA finish and writes the greylisting state
// (ROOT/greylist, read at start and when a SIGHUP turns greylisting on).
// Policy DNS lookups go to control/dnsservers, or
// GOQMAIL_DNS (host:port) in tests. An invalid configuration at
// start exits 78 (logline.ExitConfig). See internal/smtpd.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"goqmail/internal/authclient"
	"goqmail/internal/connlimit"
	"goqmail/internal/control"
	"goqmail/internal/ipc"
	"goqmail/internal/logline"
	"goqmail/internal/metrics"
	"goqmail/internal/milterclient"
	"goqmail/internal/relaygrant"
	"goqmail/internal/smtpd"
)

func main() {
	log := logline.New("smtpd")
	// Signals are caught from the start: a SIGHUP that arrives while the
	// program is still starting must not kill it.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	root := logline.RootArg("goqmail-smtpd")
	controlDir := filepath.Join(root, "control")
	var lns []net.Listener
	n := max(ipc.EnvUID("GOQMAIL_FDS"), 0)
	kinds, err := smtpd.ParseKinds(os.Getenv("GOQMAIL_FD_KINDS"), n)
	if err != nil {
		log.Fatalf("%v", err)
	}
	// A configuration that cannot be used stops the start with
	// logline.ExitConfig, so the supervisor waits for a fix instead of
	// restarting smtpd every second while clients get no greeting.
	cfg, warnings, err := loadConfig(controlDir, kinds)
	if err != nil {
		log.ConfigFatalf(control.ErrorLines(err)...)
	}
	for _, w := range warnings {
		log.Printf("warning: %s", w)
	}
	checkFiles(log, cfg)
	// SMTP AUTH goes to goqmail-auth; POP-before-SMTP grants come from
	// ROOT/relay/grants, which goqmail-auth writes on each POP3 login.
	s := &smtpd.Server{SubmitSocket: filepath.Join(root, "run", "submit.sock"), Log: log,
		Auth:      authAdapter{authclient.Dial(filepath.Join(root, "run", "auth.sock"))},
		Grants:    relaygrant.Open(filepath.Join(root, "relay", "grants")),
		QueueFree: queueFree(filepath.Join(root, "queue")),
		Metrics:   metrics.FromEnv(metrics.FromSMTPD, root),
	}
	// SPF, DKIM and DMARC (control/spfcheck, dkimcheck, dmarccheck) ask
	// the policy resolver SetConfig makes (control/dnsservers, or
	// GOQMAIL_DNS in tests); forged Authentication-Results fields naming
	// this host always go.
	s.MessageChecks = append(s.MessageChecks, s.AuthCheck)
	s.DropHeaders = append(s.DropHeaders, s.DropForgedAuthResults)
	s.SetConfig(cfg)
	loadGreylist(log, s)
	milterclient.SetWarn(func(format string, args ...any) { log.Printf("warning: "+format, args...) })
	for i, kind := range kinds {
		ln, err := ipc.InheritedListener(3+i, kind.String())
		if err != nil {
			log.Fatalf("%v", err)
		}
		lns = append(lns, ln)
		go s.ServeKind(ln, kind)
	}
	if len(lns) == 0 {
		log.Fatalf("no listening sockets passed (GOQMAIL_FDS)")
	}
	for sig := range sigs {
		if sig == syscall.SIGHUP {
			cfg, warnings, err := loadConfig(controlDir, kinds)
			if err != nil {
				log.ReloadFailed(control.ErrorLines(err))
				continue
			}
			for _, w := range warnings {
				log.Printf("warning: %s", w)
			}
			checkFiles(log, cfg)
			s.SetConfig(cfg)
			loadGreylist(log, s)
			log.Printf("status: configuration reloaded")
			continue
		}
		// The listeners stay open while sessions finish: new clients get
		// 421 rather than a silent backlog (the supervisor closes its copy
		// once smtpd has exited).
		s.Shutdown(60 * time.Second)
		for _, ln := range lns {
			ln.Close()
		}
		return
	}
}

// loadConfig reads control/ and checks it against the listeners.
// GOQMAIL_DNS (host:port) replaces control/dnsservers, as it points remote
// delivery at a test's DNS server (docs/remote.md).
func loadConfig(dir string, kinds []smtpd.Kind) (*smtpd.Config, []string, error) {
	cfg, warnings, err := smtpd.LoadConfig(dir)
	if err == nil {
		err = smtpd.CheckListeners(cfg, kinds)
	}
	if err == nil {
		err = smtpd.CheckGreylistDir(cfg)
	}
	if err != nil {
		return nil, nil, err
	}
	if v := os.Getenv("GOQMAIL_DNS"); v != "" {
		cfg.Checks.DNSServers = []string{v}
	}
	return cfg, warnings, nil
}

// loadGreylist reads the greylisting state if greylisting is on now; a
// state that cannot be read defers the recipients greylisting would
// decide (451) until a SIGHUP after the fix.
func loadGreylist(log *logline.Logger, s *smtpd.Server) {
	if err := s.LoadGreylist(); err != nil {
		log.Printf("alert: greylisting cannot start, recipients it would decide get 451 until it can: %v", err)
	}
}

// checkFiles warns when the open-file limit cannot hold every session the
// budgets allow (one descriptor each).
func checkFiles(log *logline.Logger, cfg *smtpd.Config) {
	if err := connlimit.CheckFiles(cfg.MaxSessions+cfg.MaxSubmission, 1); err != nil {
		log.Printf("warning: %v", err)
	}
}

// authAdapter checks SMTP AUTH logins with goqmail-auth (run/auth.sock). A
// failure of the service itself is an error (454 4.7.0), never a wrong
// password.
type authAdapter struct{ c *authclient.Client }

func (a authAdapter) Verify(ctx context.Context, svc, login, pw, ip string) (smtpd.AuthResult, error) {
	r, err := a.c.Verify(ctx, svc, login, pw, ip)
	if err != nil {
		return smtpd.AuthResult{}, err
	}
	if !r.OK && r.Temporary {
		return smtpd.AuthResult{}, errors.New(r.Text)
	}
	return smtpd.AuthResult{OK: r.OK, User: r.User, Owns: r.Owns}, nil
}

// queueFree reads the space left for the queue's unprivileged writer
// (f_bavail): statfs needs only the path, not read access to queue/.
func queueFree(dir string) func() (int64, error) {
	return func() (int64, error) {
		var st syscall.Statfs_t
		if err := syscall.Statfs(dir, &st); err != nil {
			return 0, fmt.Errorf("statfs %s: %w", dir, err)
		}
		return int64(st.Bavail) * st.Bsize, nil
	}
}
