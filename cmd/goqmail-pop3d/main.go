package main

import (
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"goqmail/internal/ipc"
	"goqmail/internal/logline"
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
	certs := &certFile{path: filepath.Join(root, "control", "servercert.pem"), log: log}
	srv := &pop3.Server{
		Auth: newAuthClient(filepath.Join(root, "run", "auth.sock")),
		TLS:  certs.Config,
		Log:  log,
	}
	if me, err := os.ReadFile(filepath.Join(root, "control", "me")); err == nil {
		srv.Hostname = strings.TrimSpace(string(me))
	}
	kinds := strings.Split(os.Getenv("GOQMAIL_FD_KINDS"), ",")
	n := ipc.EnvUID("GOQMAIL_FDS")
	if n <= 0 {
		log.Fatalf("no listening sockets passed (GOQMAIL_FDS)")
	}
	var lns []net.Listener
	for i := 0; i < n; i++ {
		kind := "pop3"
		if i < len(kinds) && kinds[i] != "" {
			kind = kinds[i]
		}
		if kind != "pop3" && kind != "pop3s" {
			log.Fatalf("fd %d: unknown listener kind %q (want pop3 or pop3s)", 3+i, kind)
		}
		ln, err := ipc.InheritedListener(3+i, kind)
		if err != nil {
			log.Fatalf("%v", err)
		}
		lns = append(lns, ln)
		go srv.Serve(ln, kind == "pop3s")
	}
	for sig := range sigs {
		if sig == syscall.SIGHUP {
			continue // the certificate is reread by mtime; nothing else to reload
		}
		for _, ln := range lns {
			ln.Close()
		}
		return
	}
}
