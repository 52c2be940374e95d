// Command goqmail-send is the scheduler. The supervisor starts it as the
// goqmails account; it connects to the queue's control socket and the local
// spawner's socket under ROOT/run. SIGHUP rereads control/, SIGALRM retries
// every waiting message now, SIGTERM stops after running deliveries report.
// See internal/send.
package main

import (
	"errors"
	"net"
	"path/filepath"

	"goqmail/internal/control"
	"goqmail/internal/ipc"
	"goqmail/internal/logline"
	"goqmail/internal/metrics"
	"goqmail/internal/send"
)

func main() {
	log := logline.New("send")
	root := logline.RootArg("goqmail-send")
	var admin *net.UnixListener
	if ln, err := ipc.InheritedListener(3, "sendctl"); err == nil {
		admin = ln.(*net.UnixListener)
	} else {
		log.Printf("warning: no admin socket (%v): `goqmail queue` commands that change the queue will not work", err)
	}
	p := &send.Process{
		Admin:      admin,
		ControlDir: filepath.Join(root, "control"),
		CtlSocket:  filepath.Join(root, "run", "queuectl.sock"),
		LspawnSock: filepath.Join(root, "run", "lspawn.sock"),
		RemoteSock: filepath.Join(root, "run", "remote.sock"),
		Log:        log,
		Metrics:    metrics.FromEnv(metrics.FromSend, root),
	}
	if err := p.Run(); err != nil {
		if errors.Is(err, control.ErrInvalid) {
			log.ConfigFatalf(control.ErrorLines(err)...)
		}
		log.Fatalf("%v", err)
	}
}
