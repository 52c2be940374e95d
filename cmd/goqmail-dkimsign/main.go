// Command goqmail-dkimsign is the DKIM signer: the only program that reads
// the DKIM private keys (ROOT/dkim, 0600, its own account goqmailk). The
// supervisor starts it with run/dkimsign.sock on fd 3; the queue sends it
// each message it should sign and puts the answer on top of the message
// (docs/outbound.md). It loads the keys named in control/dkimkeys when it
// starts (a key that cannot be read stops the start, exit 78) and again on
// SIGHUP (a bad one keeps the old keys). See internal/dkimsign.
//
// SECURITY: it trusts only the queue's uid (SO_PEERCRED), parses only the
// header block of each message, and holds no other file or socket.
package main

import (
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"goqmail/internal/control"
	"goqmail/internal/dkimsign"
	"goqmail/internal/ipc"
	"goqmail/internal/logline"
)

func main() {
	log := logline.New("dkimsign")
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	root := logline.RootArg("goqmail-dkimsign")
	syscall.Umask(0o077)
	load := func() (*dkimsign.Keys, error) {
		snap, err := control.Load(filepath.Join(root, "control"))
		if err != nil {
			return nil, err
		}
		return dkimsign.LoadKeys(root, snap.List(control.DKIMKeys))
	}
	keys, err := load()
	if err != nil {
		log.ConfigFatalf(control.ErrorLines(err)...)
	}
	s := &dkimsign.Server{Log: log, QueueUID: ipc.EnvUID("GOQMAIL_QUEUE_UID")}
	s.SetKeys(keys)
	log.Printf("status: signing for %d domains", keys.Len())
	ln, err := ipc.InheritedListener(3, "dkimsign")
	if err != nil {
		log.Fatalf("%v", err)
	}
	go s.Serve(ln.(*net.UnixListener))
	for sig := range sigs {
		if sig == syscall.SIGHUP {
			keys, err := load()
			if err != nil {
				log.ReloadFailed(control.ErrorLines(err))
				continue
			}
			s.SetKeys(keys)
			log.Printf("status: configuration reloaded; signing for %d domains", keys.Len())
			continue
		}
		// The supervisor stops the queue, our only client, before us:
		// no request is in progress by now.
		ln.Close()
		return
	}
}
