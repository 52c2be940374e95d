// Command goqmail-local is the delivery process. The local spawner starts it
// as the recipient (never root) with a packet socket on fd 3 and hands it
// deliveries with their message files; environment: GOQMAIL_SYNCMODE,
// GOQMAIL_SUBMIT (the queue's submit socket, for forwards). Delivery
// programs get none of this environment (see internal/dotqmail.Env).
// SIGTERM stops it: running deliveries get local.StopGrace, then their
// programs' process groups are killed and the deliveries defer; when the
// spawner's socket closes, the programs are killed at once.
// See internal/local.
package main

import (
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"goqmail/internal/durable"
	"goqmail/internal/ipc"
	"goqmail/internal/local"
	"goqmail/internal/logline"
	"goqmail/internal/vdir"
)

func main() {
	log := logline.New("local")
	// Non-dumpable before anything else: this process runs as the
	// recipient, and so do the recipient's .qmail programs. A dumpable
	// process of the same uid can be ptraced and its /proc/PID/mem and
	// environ read, so a program could watch the other deliveries this
	// process makes. PR_SET_DUMPABLE 0 makes /proc/PID root's and refuses
	// ptrace to anyone without CAP_SYS_PTRACE; exec resets it, so the
	// programs themselves stay ordinary processes.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		log.Fatalf("prctl(PR_SET_DUMPABLE, 0): %v", err)
	}
	syscall.Umask(0o077)
	if os.Geteuid() == 0 {
		// qmail-local refuses root too (QLX_ROOT): a bug in the spawner
		// must not turn into a root delivery.
		log.Fatalf("refusing to deliver as root")
	}
	// A .qmail program gets descriptors 0, 1 and 2 and nothing else: not
	// the spawner's socket (fd 3), not anything this process inherited.
	// (Received message descriptors are close-on-exec already.)
	if err := ipc.CloseOnExecFrom(3); err != nil {
		log.Fatalf("%v", err)
	}
	mode, err := durable.ParseMode(os.Getenv("GOQMAIL_SYNCMODE"))
	if err != nil {
		log.Fatalf("%v", err)
	}
	// GOQMAIL_SUBMIT is the queue's submit socket, set by the spawner:
	// forwards leave through it, as qmail-local's ran qmail-queue.
	w := &local.Worker{Sock: os.NewFile(3, "lspawn"), Log: log, Mode: mode, SubmitSocket: os.Getenv("GOQMAIL_SUBMIT")}
	// GOQMAIL_VDIR is the virtual-user directory (ROOT/vdir): virtual
	// deliveries resolve their address in it. The mailbox root comes with
	// each delivery (its home).
	if v := os.Getenv("GOQMAIL_VDIR"); v != "" {
		w.Directory = vdir.OpenFiles(v, filepath.Join(filepath.Dir(v), "vmail"), -1, -1)
	}
	// SIGTERM is the spawner's stop: running deliveries get
	// local.StopGrace, then their programs are killed and they defer.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sigs
		w.Stop(local.StopGrace)
	}()
	if err := w.Run(); err != nil {
		log.Printf("warning: %v", err)
		os.Exit(111)
	}
}
