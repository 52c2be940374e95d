package main

import (
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"goqmail/internal/accounts"
	"goqmail/internal/authd"
	"goqmail/internal/control"
	"goqmail/internal/ipc"
	"goqmail/internal/logline"
	"goqmail/internal/relaygrant"
	"goqmail/internal/vdir"
)

func main() {
	if len(os.Args) == 2 && os.Args[1] == "-shadow" {
		log := logline.New("auth-shadow")
		authd.ShadowMain(os.Stdin, os.Stdout, "/etc/shadow", time.Now().Unix()/86400, log.Printf)
		return
	}
	log := logline.New("auth")
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	root := logline.RootArg("goqmail-auth")
	syscall.Umask(0o022)
	ctl := filepath.Join(root, "control")
	st, err := loadSettings(ctl)
	if err != nil {
		log.ConfigFatalf(control.ErrorLines(err)...)
	}
	ids := accounts.Current()
	if os.Geteuid() == 0 {
		if ids, err = accounts.Lookup(accounts.Virtual); err != nil {
			log.Fatalf("%v", err)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		log.Fatalf("own path: %v", err)
	}
	clients, err := authd.ParseClients(os.Getenv("GOQMAIL_AUTH_CLIENTS"))
	if err != nil {
		log.Fatalf("%v", err)
	}
	// relay/grants belongs to smtpd's account, its only reader, mode 0400
	// (internal/relaygrant); one left readable by an older version is
	// closed now.
	grants := relaygrant.Open(filepath.Join(root, "relay", "grants"))
	grants.Reader = ipc.EnvUID("GOQMAIL_SMTPD_UID")
	if err := grants.Protect(); err != nil {
		log.Printf("warning: %v", err)
	}
	srv := authd.New(authd.Config{
		Dir:            vdir.OpenFiles(filepath.Join(root, "vdir"), filepath.Join(root, "vmail"), ids.UID, ids.GID),
		VirtualUID:     ids.UID,
		VirtualGID:     ids.GID,
		Shadow:         authd.ExecShadow(exe, "-shadow"),
		Grants:         grants,
		SessionProgram: filepath.Join(filepath.Dir(exe), "goqmail-pop3d"),
		// The web's sessions (docs/web.md): the mailbox session as its
		// owner, the admin session as root (this service's own uid).
		WebSessionProgram: filepath.Join(filepath.Dir(exe), "goqmail-webmbox"),
		AdminProgram:      filepath.Join(filepath.Dir(exe), "goqmail"),
		Root:              root,
		Clients:           clients,
		Log:               log,
	}, st)
	ln, err := ipc.InheritedListener(3, "auth")
	if err != nil {
		log.Fatalf("%v", err)
	}
	ul, ok := ln.(*net.UnixListener)
	if !ok {
		log.Fatalf("fd 3 is not a Unix socket listener")
	}
	go func() {
		if err := srv.Serve(ul); err != nil {
			log.Fatalf("auth.sock: %v", err)
		}
	}()
	for sig := range sigs {
		if sig == syscall.SIGHUP {
			if st, err := loadSettings(ctl); err != nil {
				log.ReloadFailed(control.ErrorLines(err))
			} else {
				srv.SetSettings(st)
				log.Printf("status: configuration reloaded")
			}
			continue
		}
		ul.Close()
		return
	}
}

// loadSettings reads the auth settings from control/ (checkpassword,
// relaygrantlifetime, locals, authconcurrencyperip, authconcurrency,
// webadmins),
// checked by their declarations.
func loadSettings(dir string) (authd.Settings, error) {
	snap, err := control.Load(dir)
	if err != nil {
		return authd.Settings{}, err
	}
	n := snap.Number(control.RelayGrantLifetime)
	return authd.Settings{
		Locals:           snap.List(control.Locals),
		Checkpassword:    snap.Line(control.CheckPassword),
		GrantLifetime:    time.Duration(n) * time.Second,
		NoGrants:         n == 0,
		MaxPerIP:         int(snap.Number(control.AuthConcurrencyPerIP)),
		MaxVerifications: int(snap.Number(control.AuthConcurrency)),
		WebAdmins:        snap.List(control.WebAdmins),
	}, nil
}
