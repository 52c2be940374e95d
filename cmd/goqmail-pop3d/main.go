package main

import (
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"goqmail/internal/connlimit"
	"goqmail/internal/control"
	"goqmail/internal/ipc"
	"goqmail/internal/logline"
	"goqmail/internal/metrics"
	"goqmail/internal/pop3"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == "-session" {
		os.Exit(runSession(os.Args[2]))
	}
	serve(logline.RootArg("goqmail-pop3d"))
}

// runSession is the mailbox side. Root is refused: the auth service must
// have switched to the owner's uid, and a root session could be steered
// into any file by a planted symlink.
func runSession(maildir string) int {
	log := logline.New("pop3d")
	if os.Getuid() == 0 || os.Geteuid() == 0 {
		log.Printf("alert: -session refuses to run as root")
		return 100
	}
	f := os.NewFile(3, "pop3-client")
	if f == nil {
		log.Printf("alert: -session: fd 3 is not open")
		return 111
	}
	conn, err := net.FileConn(f)
	f.Close()
	if err != nil {
		log.Printf("alert: -session: fd 3: %v", err)
		return 111
	}
	if err := pop3.Session(conn, maildir, log); err != nil {
		log.Printf("%v", err)
		return 111
	}
	return 0
}

func serve(root string) {
	log := logline.New("pop3d")
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	named := strings.Split(os.Getenv("GOQMAIL_FD_KINDS"), ",")
	n := ipc.EnvUID("GOQMAIL_FDS")
	if n <= 0 {
		log.Fatalf("no listening sockets passed (GOQMAIL_FDS)")
	}
	kinds := make([]string, n)
	for i := range kinds {
		kinds[i] = "pop3"
		if i < len(named) && named[i] != "" {
			kinds[i] = named[i]
		}
		if kinds[i] != "pop3" && kinds[i] != "pop3s" {
			log.Fatalf("fd %d: unknown listener kind %q (want pop3 or pop3s)", 3+i, kinds[i])
		}
	}
	cfg, err := loadConfig(root, kinds, log)
	if err != nil {
		log.ConfigFatalf(control.ErrorLines(err)...)
	}
	checkFiles(log, cfg)
	certs := &certSource{}
	certs.cur.Store(cfg.certs)
	srv := &pop3.Server{
		Auth:    newAuthClient(filepath.Join(root, "run", "auth.sock")),
		TLS:     certs.Config,
		Log:     log,
		Metrics: metrics.FromEnv(metrics.FromPOP3D, root),
	}
	srv.SetSettings(cfg.settings)
	var lns []net.Listener
	for i, kind := range kinds {
		ln, err := ipc.InheritedListener(3+i, kind)
		if err != nil {
			log.Fatalf("%v", err)
		}
		lns = append(lns, ln)
		go srv.Serve(ln, kind == "pop3s")
	}
	for sig := range sigs {
		if sig == syscall.SIGHUP {
			// A changed certificate file is reread on its own; SIGHUP
			// rereads me, authplaintext, the limits and a certificate
			// that appeared.
			cfg, err := loadConfig(root, kinds, log)
			if err != nil {
				log.ReloadFailed(control.ErrorLines(err))
				continue
			}
			checkFiles(log, cfg)
			certs.cur.Store(cfg.certs)
			srv.SetSettings(cfg.settings)
			log.Printf("status: configuration reloaded")
			continue
		}
		for _, ln := range lns {
			ln.Close()
		}
		return
	}
}

// checkFiles warns when the open-file limit cannot hold every session
// concurrencypop3 allows: two descriptors each once logged in (the client
// and the mailbox session's socket).
func checkFiles(log *logline.Logger, cfg *config) {
	if err := connlimit.CheckFiles(cfg.settings.Limits.Total, 2); err != nil {
		log.Printf("warning: %v", err)
	}
}
