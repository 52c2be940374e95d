package lspawn

import (
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"goqmail/internal/ipc"
	"goqmail/internal/proto"
	"goqmail/internal/timerslack"
)

// worker is one running delivery process for one (uid, gid). It stays up
// while it has work and for a while after, so a burst of mail for one user
// costs one process start, not one per message, and its Maildir fsyncs are
// shared; it only ever receives deliveries for its own uid.
type worker struct {
	key     workerKey
	cmd     *exec.Cmd
	sock    *os.File
	fd      int // sock's descriptor, taken once
	mu      sync.Mutex
	pending map[uint64]uint64 // worker seq -> send seq
	last    time.Time
	dead    bool
	gone    bool // the process has exited and been waited for
}

// hangUp tells the delivery process there is no more work: shutdown(2)
// rather than close, because close would not wake readWorker blocked in
// recvmsg on the same socket, and the process would never see the end.
// readWorker then closes the socket and waits for the process.
func (w *worker) hangUp() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.dead {
		unix.Shutdown(w.fd, unix.SHUT_RDWR)
	}
}

func (w *worker) exited() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.gone
}

type workerKey struct{ uid, gid int }

// startWorker starts goqmail-local as uid/gid with a packet socket on fd 3.
func (s *Spawner) startWorker(key workerKey) (*worker, error) {
	mine, theirs, err := ipc.SeqpacketPair()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(s.LocalBinary)
	cmd.ExtraFiles = []*os.File{theirs}
	cmd.Stderr = os.Stderr
	cmd.Dir = "/"
	// The delivery process lives in blocking system calls; the supervisor
	// says how many processors it gets (supervise.Service.ChildProcs),
	// and otherwise it inherits the spawner's GOMAXPROCS.
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "GOQMAIL_SYNCMODE=" + s.SyncMode, "GOQMAIL_SUBMIT=" + s.SubmitSocket, "GOQMAIL_VDIR=" + s.DirectoryRoot}
	if v, ok := os.LookupEnv("GOQMAIL_LOCAL_GOMAXPROCS"); ok {
		cmd.Env = append(cmd.Env, "GOMAXPROCS="+v)
	} else if v, ok := os.LookupEnv("GOMAXPROCS"); ok {
		cmd.Env = append(cmd.Env, "GOMAXPROCS="+v)
	}
	if s.Root {
		if key.uid == 0 {
			return nil, ErrRoot
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Credential: &syscall.Credential{Uid: uint32(key.uid), Gid: uint32(key.gid), Groups: []uint32{uint32(key.gid)}},
			Setsid:     true,
		}
	}
	if err := timerslack.Start(cmd, timerslack.Server); err != nil {
		mine.Close()
		theirs.Close()
		return nil, fmt.Errorf("start delivery process: %w", err)
	}
	theirs.Close()
	w := &worker{key: key, cmd: cmd, sock: mine, fd: int(mine.Fd()), pending: map[uint64]uint64{}, last: time.Now()}
	go s.readWorker(w)
	return w, nil
}

// readWorker relays the worker's reports to send until it exits; whatever
// it had not reported is deferred ("qmail-local crashed").
func (s *Spawner) readWorker(w *worker) {
	buf := make([]byte, 64<<10)
	for {
		body, files, err := ipc.RecvPacket(w.fd, buf, 0)
		for _, f := range files {
			f.Close()
		}
		var rep proto.Report
		if err == nil {
			var typ byte
			var d *ipc.Decoder
			typ, d, err = ipc.NewDecoder(body)
			if err == nil && typ != proto.TReport {
				err = fmt.Errorf("unexpected frame type %#x", typ)
			}
			if err == nil {
				rep, err = proto.DecodeReport(d)
			}
		}
		if err != nil {
			break
		}
		w.mu.Lock()
		sendSeq, ok := w.pending[rep.Seq]
		delete(w.pending, rep.Seq)
		w.last = time.Now()
		w.mu.Unlock()
		if !ok {
			s.Log.Printf("warning: delivery process uid %d reported unknown delivery %d", w.key.uid, rep.Seq)
			continue
		}
		rep.Seq = sendSeq
		s.report(rep)
	}
	// Mark it dead before closing: hand and hangUp use the descriptor only
	// under w.mu while it is alive, so a closed (and perhaps reused)
	// descriptor number is never written to.
	w.mu.Lock()
	w.dead = true
	lost := w.pending
	w.pending = nil
	w.mu.Unlock()
	w.sock.Close()
	w.cmd.Wait()
	s.dropWorker(w)
	w.mu.Lock()
	w.gone = true
	w.mu.Unlock()
	for _, sendSeq := range lost {
		s.report(proto.Report{Seq: sendSeq, Result: proto.ResultDeferral, Text: "Delivery process crashed. (#4.3.0)"})
	}
}

// hand gives the worker one delivery; false if the worker is dead.
func (w *worker) hand(seq, sendSeq uint64, l proto.Local, msg *os.File) error {
	w.mu.Lock()
	if w.dead {
		w.mu.Unlock()
		return fmt.Errorf("delivery process exited")
	}
	defer w.mu.Unlock()
	l.Seq = seq
	if err := ipc.SendPacket(w.fd, l.Packet(nil), msg); err != nil {
		return err
	}
	w.pending[seq] = sendSeq
	w.last = time.Now()
	return nil
}

// idle reports whether the worker has had nothing to do since before t.
func (w *worker) idle(t time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pending) == 0 && w.last.Before(t)
}
