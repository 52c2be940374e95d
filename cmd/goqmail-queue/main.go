// Command goqmail-queue is the queue process: the only writer of queue/.
// The supervisor starts it as the goqmailq account with the submit socket on
// fd 3 and send's control socket on fd 4. See internal/queue and
// docs/queue.md.
package main

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"goqmail/internal/control"
	"goqmail/internal/durable"
	"goqmail/internal/ipc"
	"goqmail/internal/logline"
	"goqmail/internal/metrics"
	"goqmail/internal/queue"
)

func main() {
	log := logline.New("queue")
	// Signals are caught from the start: a SIGHUP that arrives while the
	// program is still starting must not kill it.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	root := logline.RootArg("goqmail-queue")
	syscall.Umask(0o027) // queue/ is readable by the goqmail group (goqmail-remote)
	snap, err := control.Load(filepath.Join(root, "control"))
	if err != nil {
		log.ConfigFatalf(control.ErrorLines(err)...)
	}
	mode, err := durable.ParseMode(snap.Line(control.SyncMode))
	if err != nil {
		log.ConfigFatalf("control/syncmode: " + err.Error())
	}
	s := &queue.Server{
		Layout:   queue.Layout{Root: filepath.Join(root, "queue")},
		Log:      log,
		SendUID:  ipc.EnvUID("GOQMAIL_SEND_UID"),
		SMTPDUID: ipc.EnvUID("GOQMAIL_SMTPD_UID"),
		Durable:  durable.Syncer{Mode: mode},
		Metrics:  metrics.FromEnv(metrics.FromQueue, root),
	}
	// For the power-loss campaign: segments small enough that a few dozen
	// messages go round the journal's ring (internal/queue/journal.go).
	if v := os.Getenv("GOQMAIL_QUEUEJOURNAL_SEGMENT"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 16<<10 || n > 1<<30 {
			log.ConfigFatalf(fmt.Sprintf("GOQMAIL_QUEUEJOURNAL_SEGMENT=%q: want a size in bytes from 16384 to 1073741824", v))
		}
		s.JournalSegSize = n
	}
	b := &bouncer{}
	b.load(snap)
	s.Bouncer = b
	// DKIM signing (docs/outbound.md): the queue sends goqmail-dkimsign
	// what it may sign while some domain has a key.
	signer := &queue.SocketSigner{Path: filepath.Join(root, "run", "dkimsign.sock")}
	signer.SetEnabled(len(snap.List(control.DKIMKeys)) > 0)
	s.Signer = signer
	if err := s.Start(); err != nil {
		log.Fatalf("%v", err)
	}
	submit, err := ipc.InheritedListener(3, "submit")
	if err != nil {
		log.Fatalf("%v", err)
	}
	ctl, err := ipc.InheritedListener(4, "queuectl")
	if err != nil {
		log.Fatalf("%v", err)
	}
	go s.ServeSubmit(submit.(*net.UnixListener))
	go s.ServeCtl(ctl.(*net.UnixListener))
	for sig := range sigs {
		if sig == syscall.SIGHUP {
			// Only the bounce settings and whether to sign can change;
			// syncmode needs a restart.
			if snap, err := control.Load(filepath.Join(root, "control")); err != nil {
				log.ReloadFailed(control.ErrorLines(err))
			} else {
				b.load(snap)
				signer.SetEnabled(len(snap.List(control.DKIMKeys)) > 0)
				log.Printf("status: configuration reloaded")
			}
			continue
		}
		submit.Close()
		ctl.Close()
		s.Wait(30 * time.Second)
		return
	}
}
