package local

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"goqmail/internal/ipc"
	"goqmail/internal/logline"
	"goqmail/internal/proto"
)

// running is a Worker serving one end of a packet socket, as goqmail-local
// does; spawner is the other end.
type running struct {
	t       *testing.T
	w       *Worker
	spawner *os.File
	done    chan error
}

func startWorker(t *testing.T) *running {
	t.Helper()
	mine, theirs, err := ipc.SeqpacketPair()
	if err != nil {
		t.Fatal(err)
	}
	r := &running{t: t, w: &Worker{Sock: theirs, Log: logline.NewTo(io.Discard, "local")}, spawner: mine, done: make(chan error, 1)}
	go func() { r.done <- r.w.Run() }()
	t.Cleanup(func() { mine.Close() })
	return r
}

func (r *running) hand(req proto.Local, body string) {
	r.t.Helper()
	pr, pw, _ := os.Pipe()
	go func() { pw.Write([]byte(body)); pw.Close() }()
	req.Size = int64(len(body))
	if err := ipc.SendPacket(int(r.spawner.Fd()), req.Packet(nil), pr); err != nil {
		r.t.Fatal(err)
	}
	pr.Close()
}

func (r *running) report() proto.Report {
	r.t.Helper()
	buf := make([]byte, 8192)
	pkt, _, err := ipc.RecvPacket(int(r.spawner.Fd()), buf, 0)
	if err != nil {
		r.t.Fatal(err)
	}
	_, d, _ := ipc.NewDecoder(pkt)
	rep, err := proto.DecodeReport(d)
	if err != nil {
		r.t.Fatal(err)
	}
	return rep
}

func (r *running) waitExit() {
	r.t.Helper()
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		r.t.Fatal("the worker did not return")
	}
}

// hangingHome is a home whose .qmail program records its pid, then runs
// forever in the background of its own group and in the foreground.
func hangingHome(t *testing.T) (home string, pidOf func() int) {
	home = t.TempDir()
	os.WriteFile(filepath.Join(home, ".qmail"), []byte("|sleep 600 & echo $$ $! > pids.tmp; mv pids.tmp pids; wait\n"), 0o600)
	return home, func() int {
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if b, err := os.ReadFile(filepath.Join(home, "pids")); err == nil {
				f := strings.Fields(string(b))
				bg, _ := strconv.Atoi(f[1])
				return bg
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatal("the program did not start")
		return 0
	}
}

func alive(pid int) bool {
	// A zombie is gone for our purpose: its group was killed and it waits
	// for init or a subreaper to reap it.
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && len(s) > i+2 && s[i+2] != 'Z'
}

func waitDead(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("process %d of the program still runs", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestStopKillsHangingProgram: Stop (the spawner's SIGTERM) gives running
// deliveries their grace, then kills the whole process group of a program
// that does not end, reports the delivery deferred and returns; a delivery
// that arrives while stopping is not started (issue 11, item 3: a stop left
// the program running and a restart ran a second copy beside it).
func TestStopKillsHangingProgram(t *testing.T) {
	r := startWorker(t)
	home, bgPid := hangingHome(t)
	r.hand(proto.Local{Seq: 1, User: "u", Home: home, Local: "u", Domain: "example.test"}, testMsg)
	pid := bgPid()
	r.w.Stop(100 * time.Millisecond)
	rep := r.report()
	if rep.Seq != 1 || rep.Result != proto.ResultDeferral || rep.Text != textInterrupted {
		t.Fatalf("report %+v, want a deferral %q", rep, textInterrupted)
	}
	waitDead(t, pid)
	r.waitExit()
}

// TestSpawnerGoneKillsProgramsAtOnce: when the spawner's socket ends
// without a stop (the spawner crashed), nobody can hear the result and send
// will deliver again: the programs are killed at once.
func TestSpawnerGoneKillsProgramsAtOnce(t *testing.T) {
	r := startWorker(t)
	home, bgPid := hangingHome(t)
	r.hand(proto.Local{Seq: 1, User: "u", Home: home, Local: "u", Domain: "example.test"}, testMsg)
	pid := bgPid()
	r.spawner.Close()
	waitDead(t, pid)
	r.waitExit()
}

// TestDeliveryAfterStopNotStarted: a request already on its way when the
// worker stops is answered without running anything.
func TestDeliveryAfterStopNotStarted(t *testing.T) {
	r := startWorker(t)
	home := t.TempDir()
	os.WriteFile(filepath.Join(home, ".qmail"), []byte("|touch ran\n"), 0o600)
	r.w.init()
	close(r.w.stopping) // stopping, but the socket still reads (the race Stop's shutdown closes)
	r.hand(proto.Local{Seq: 5, User: "u", Home: home, Local: "u", Domain: "example.test"}, testMsg)
	rep := r.report()
	if rep.Seq != 5 || rep.Result != proto.ResultDeferral || rep.Text != textStopping {
		t.Fatalf("report %+v", rep)
	}
	if _, err := os.Stat(filepath.Join(home, "ran")); err == nil {
		t.Fatal("the program ran after the stop")
	}
}
