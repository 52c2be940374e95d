// Command goqmail-smtpd is the SMTP server. The supervisor starts it as the
// goqmaild account with the listening sockets of control/smtplisten on fds
// 3 and up; it submits mail through ROOT/run/submit.sock. SIGHUP rereads
// control/ and tcp.smtp; SIGTERM stops accepting and lets sessions in DATA
// finish. See internal/smtpd.
package main

import (
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"goqmail/internal/ipc"
	"goqmail/internal/logline"
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
	cfg, warnings, err := smtpd.LoadConfig(controlDir)
	if err != nil {
		log.Fatalf("%v", err)
	}
	for _, w := range warnings {
		log.Printf("warning: %s", w)
	}
	s := &smtpd.Server{SubmitSocket: filepath.Join(root, "run", "submit.sock"), Log: log}
	s.SetConfig(cfg)
	var lns []net.Listener
	n := ipc.EnvUID("GOQMAIL_FDS")
	for fd := 3; fd < 3+n; fd++ {
		ln, err := ipc.InheritedListener(fd, "smtp")
		if err != nil {
			log.Fatalf("%v", err)
		}
		lns = append(lns, ln)
		go s.Serve(ln)
	}
	if len(lns) == 0 {
		log.Fatalf("no listening sockets passed (GOQMAIL_FDS)")
	}
	for sig := range sigs {
		if sig == syscall.SIGHUP {
			cfg, warnings, err := smtpd.LoadConfig(controlDir)
			if err != nil {
				log.Printf("warning: reload: %v; keeping the old configuration", err)
				continue
			}
			for _, w := range warnings {
				log.Printf("warning: %s", w)
			}
			s.SetConfig(cfg)
			log.Printf("status: configuration reloaded")
			continue
		}
		for _, ln := range lns {
			ln.Close()
		}
		s.Shutdown(60 * time.Second)
		return
	}
}
