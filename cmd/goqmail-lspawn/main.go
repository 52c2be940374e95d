// Command goqmail-lspawn is the local spawner. It runs as root when goqmail
// was started as root (the only other root program besides goqmaild) and
// starts goqmail-local as each recipient; it gets its socket on fd 3. See
// internal/lspawn for what it trusts.
package main

import (
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"goqmail/internal/accounts"
	"goqmail/internal/assign"
	"goqmail/internal/control"
	"goqmail/internal/ipc"
	"goqmail/internal/logline"
	"goqmail/internal/lspawn"
	"goqmail/internal/queue"
)

func main() {
	log := logline.New("lspawn")
	// Signals are caught from the start: a SIGHUP that arrives while the
	// program is still starting must not kill it.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	root := logline.RootArg("goqmail-lspawn")
	// Nothing inherited beyond the socket on fd 3 may reach a delivery
	// process (goqmail-local gets fd 3 = its own socket, 0-2).
	if err := ipc.CloseOnExecFrom(3); err != nil {
		log.Fatalf("%v", err)
	}
	exe, err := os.Executable()
	if err != nil {
		log.Fatalf("%v", err)
	}
	asRoot := os.Geteuid() == 0
	snap, err := control.Load(filepath.Join(root, "control"))
	if err != nil {
		log.ConfigFatalf(control.ErrorLines(err)...)
	}
	single := -1
	if !asRoot {
		single = os.Getuid()
	}
	s := &lspawn.Spawner{
		Resolver: &lspawn.Resolver{
			Assign:      &assign.File{Path: filepath.Join(root, "users", "assign")},
			System:      assign.OSSystem{},
			SingleUID:   single,
			VirtualUser: accounts.Virtual.Name,
			VirtualHome: filepath.Join(root, "vmail"),
		},
		Queue:         queue.Layout{Root: filepath.Join(root, "queue")},
		QueueUID:      ipc.EnvUID("GOQMAIL_QUEUE_UID"),
		SendUID:       ipc.EnvUID("GOQMAIL_SEND_UID"),
		LocalBinary:   filepath.Join(filepath.Dir(exe), "goqmail-local"),
		Root:          asRoot,
		SyncMode:      snap.Line(control.SyncMode),
		Log:           log,
		SubmitSocket:  filepath.Join(root, "run", "submit.sock"),
		DirectoryRoot: filepath.Join(root, "vdir"),
	}
	s.Settings.Store(settingsFrom(snap))
	ln, err := ipc.InheritedListener(3, "lspawn")
	if err != nil {
		log.Fatalf("%v", err)
	}
	go func() {
		for sig := range sigs {
			if sig == syscall.SIGHUP { // users/assign is reread when it changes
				if snap, err := control.Load(filepath.Join(root, "control")); err != nil {
					log.ReloadFailed(control.ErrorLines(err))
				} else {
					s.Settings.Store(settingsFrom(snap))
					log.Printf("status: configuration reloaded")
				}
			} else {
				ln.Close()
				s.Shutdown(30 * time.Second)
				os.Exit(0)
			}
		}
	}()
	s.Serve(ln.(*net.UnixListener))
	// The listener closes only for a stop: Serve returns as soon as send's
	// connection ends, which is while Shutdown may still be waiting for the
	// delivery processes. Returning from main would exit before they are
	// gone (they outlived goqmaild's stop); the signal goroutine exits.
	select {}
}

func settingsFrom(snap *control.Snapshot) *lspawn.Settings {
	return &lspawn.Settings{
		AliasUser:       snap.Line(control.AliasUser),
		DefaultDelivery: strings.Join(snap.List(control.DefaultDelivery), "\n"),
		Aliases:         snap.Line(control.Aliases),
		DotForward:      snap.Number(control.DotForward) == 1,
		ProgramTimeout:  time.Duration(snap.Number(control.TimeoutProgram)) * time.Second,
	}
}
