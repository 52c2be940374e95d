package send

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"goqmail/internal/logline"
	"goqmail/internal/proto"
	"goqmail/internal/queue"
	"goqmail/internal/rewrite"
	"goqmail/internal/submit"
)

// queueOutput sends the core's frames to a real queue, as run.go does.
type queueOutput struct {
	recorder
	w *bufio.Writer
}

func (o *queueOutput) Update(u proto.Update) {
	o.recorder.Update(u)
	o.w.Write(u.Encode(nil))
	o.w.Flush()
}
func (o *queueOutput) Done(id string) {
	o.recorder.Done(id)
	o.w.Write(proto.EncodeDone(nil, id))
	o.w.Flush()
}

// startRealQueue runs a queue server on dir and returns its sockets and a
// stop function.
func startRealQueue(t *testing.T, dir string) (submitPath, ctlPath string, stop func()) {
	t.Helper()
	s := &queue.Server{Layout: queue.Layout{Root: dir}, Log: logline.NewTo(&bytes.Buffer{}, "queue"), SendUID: -1, SMTPDUID: -1}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	sock := t.TempDir()
	submitPath, ctlPath = filepath.Join(sock, "submit"), filepath.Join(sock, "ctl")
	sl, err := net.ListenUnix("unix", &net.UnixAddr{Name: submitPath, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := net.ListenUnix("unix", &net.UnixAddr{Name: ctlPath, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	go s.ServeSubmit(sl)
	go s.ServeCtl(cl)
	return submitPath, ctlPath, func() { sl.Close(); cl.Close(); s.Wait(time.Second); s.Close() }
}

// connectCore connects a core with a fake clock to the queue and feeds it
// the snapshot.
func connectCore(t *testing.T, ctlPath string, clk *clock) (*Core, *queueOutput, chan queueEvent, net.Conn) {
	t.Helper()
	c, err := net.Dial("unix", ctlPath)
	if err != nil {
		t.Fatal(err)
	}
	out := &queueOutput{w: bufio.NewWriter(c)}
	core := NewCore(clk.now, out, Config{ConcurrencyLocal: 10, Lifetime: 7 * 24 * time.Hour,
		Rules: rewrite.Build("example.org", []string{"example.org"}, nil, nil)})
	core.SetSpawner(true)
	out.w.Write(proto.EncodeHello(nil))
	out.w.Flush()
	ev := make(chan queueEvent, 16)
	go readQueue(c, ev)
	for {
		e := <-ev
		if e.err != nil {
			t.Fatal(e.err)
		}
		if e.snapEnd {
			return core, out, ev, c
		}
		core.AddMsg(e.msg, e.rcpts, false)
	}
}

// A deferral's retry time, recorded through the queue, survives a restart
// of both queue and send: the restarted scheduler tries again exactly on
// qmail's schedule, not at once and not never (fake clock, no sleeps).
func TestRetryTimeSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	submitPath, ctlPath, stop := startRealQueue(t, dir)
	clk := &clock{t: time.Now().Truncate(time.Second)}
	core, out, ev, conn := connectCore(t, ctlPath, clk)
	res, err := submit.Message(submitPath, "s@x.test", []string{"a@example.org", "b@example.org"}, bytes.NewReader([]byte("Subject: x\n\nhi\n")), 5*time.Second)
	if err != nil || !res.OK {
		t.Fatalf("submit: %+v %v", res, err)
	}
	e := <-ev
	core.AddMsg(e.msg, e.rcpts, true)
	birth := time.Unix(e.msg.Birth, 0)
	clk.t = birth
	core.Tick()
	if len(out.delivers) != 2 {
		t.Fatalf("started %d deliveries", len(out.delivers))
	}
	for _, d := range out.delivers {
		result := proto.ResultSuccess
		if d.Rcpt == "b@example.org" {
			result = proto.ResultDeferral
		}
		core.Report(proto.Report{Seq: d.Seq, Result: result, Text: "busy"})
	}
	// The queue applies the records asynchronously: wait for them.
	l := queue.Layout{Root: dir}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		b, _ := os.ReadFile(l.State(res.ID))
		if recs, _ := queue.ParseState(b); len(recs) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("state records not written")
		}
	}
	conn.Close()
	stop()

	// Restart both. The snapshot says: a@ done, b@ pending until birth+100s.
	_, ctlPath, stop = startRealQueue(t, dir)
	defer stop()
	clk.t = birth.Add(99 * time.Second)
	core, out, _, conn = connectCore(t, ctlPath, clk)
	defer conn.Close()
	if next := core.Tick(); !next.Equal(birth.Add(100*time.Second)) || len(out.delivers) != 0 {
		t.Fatalf("after restart: next wake %v (want birth+100s), %d deliveries started early", next.Sub(birth), len(out.delivers))
	}
	clk.t = birth.Add(100 * time.Second)
	core.Tick()
	if len(out.delivers) != 1 || out.delivers[0].Rcpt != "b@example.org" {
		t.Fatalf("after restart: deliveries %+v, want only b@example.org", out.delivers)
	}
}
