// Command goqmail-send is the scheduler. The supervisor starts it as the
// goqmails account; it connects to the queue's control socket and the local
// spawner's socket under ROOT/run. SIGHUP rereads control/, SIGALRM retries
// every waiting message now, SIGTERM stops after running deliveries report.
// See internal/send.
package main

import (
	"path/filepath"

	"goqmail/internal/logline"
	"goqmail/internal/send"
)

func main() {
	log := logline.New("send")
	root := logline.RootArg("goqmail-send")
	p := &send.Process{
		ControlDir: filepath.Join(root, "control"),
		CtlSocket:  filepath.Join(root, "run", "queuectl.sock"),
		LspawnSock: filepath.Join(root, "run", "lspawn.sock"),
		Log:        log,
	}
	if err := p.Run(); err != nil {
		log.Fatalf("%v", err)
	}
}
