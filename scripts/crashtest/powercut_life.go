package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"goqmail/test/crashfs"
)

// boundDirs are the directories of ROOT that live on crashfs: the queue and
// the Maildirs. ROOT/run (sockets, pid files) and control/ stay on the real
// disk: a power cut does not touch configuration, and sockets cannot live
// on FUSE.
var boundDirs = []string{"queue", "home"}

// boot mounts img and starts goqmaild on it, with its syncfs calls trapped
// for the model, and waits until it is ready.
func (c *campaign) boot(img *crashfs.Image) error {
	fs := crashfs.New(img)
	fs.FlushDelay = c.o.flush
	if err := fs.Mount(c.fsDir); err != nil {
		return err
	}
	c.fs = fs
	for _, d := range boundDirs {
		if err := unix.Mount(filepath.Join(c.fsDir, d), filepath.Join(c.srv.root, d), "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind %s onto %s: %w", d, filepath.Join(c.srv.root, d), err)
		}
	}
	c.srv.starter = fs.Start
	from := int64(0)
	if st, err := os.Stat(c.srv.logPath); err == nil {
		from = st.Size()
	}
	if err := c.srv.start(); err != nil {
		return err
	}
	return c.waitRecovered(from, 30*time.Second)
}

// waitRecovered waits until the queue says, in the log written after from,
// that its recovery is over ("queue holds N messages"). SMTP answers before
// that, and the queue check of a life must see the queue as recovery left
// it: once it read msg/ while recovery was still moving a reused file's old
// name to bad/, and counted that file as an incomplete message left in the
// queue.
func (c *campaign) waitRecovered(from int64, patience time.Duration) error {
	deadline := time.Now().Add(patience)
	for {
		if f, err := os.Open(c.srv.logPath); err == nil {
			b, _ := io.ReadAll(io.NewSectionReader(f, from, 1<<40))
			f.Close()
			if bytes.Contains(b, []byte("queue: status: queue holds ")) {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the queue did not report its recovery within %v; see %s", patience, c.srv.logPath)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// teardown kills whatever is left of goqmail and unmounts everything; safe
// to call at any point.
func (c *campaign) teardown() {
	if c.srv != nil {
		c.srv.killAll()
	}
	c.unmount()
}

func (c *campaign) unmount() error {
	var errs []error
	if c.srv != nil {
		for _, d := range boundDirs {
			if err := unix.Unmount(filepath.Join(c.srv.root, d), unix.MNT_DETACH); err != nil && err != unix.EINVAL {
				errs = append(errs, fmt.Errorf("unmount %s: %w", d, err))
			}
		}
	}
	if c.fs != nil {
		errs = append(errs, c.fs.Unmount())
		c.fs = nil
	}
	return errors.Join(errs...)
}

// loadAndCut sends this life's mail and cuts the power at a random moment
// of it: after a random number of this life's messages were acknowledged
// (0 to all of them, retries included, so the backlog of unacknowledged
// messages stays bounded), plus 0-40 ms. It returns what the disk
// holds afterwards, with every goqmail process dead and nothing mounted.
func (c *campaign) loadAndCut(ctx context.Context, life int) (*crashfs.Image, error) {
	// Unacknowledged messages of earlier lives are sent again, as a real
	// client would after its connection broke, then new ones.
	var work []int
	for n := range c.next {
		if rec := &c.recs[n]; rec.acked < 0 && len(rec.attempts) < c.o.maxTry && !permFailed(rec) {
			work = append(work, n)
		}
	}
	fresh := c.o.messages/2 + c.r.IntN(c.o.messages+1)
	for range fresh {
		c.recs = append(c.recs, msgRecord{acked: -1})
		work = append(work, c.next)
		c.next++
	}
	target := int64(c.r.IntN(len(work) + 1))
	extra := time.Duration(c.r.IntN(41)) * time.Millisecond
	cutSeed := c.r.Uint64()

	workq := make(chan int, len(work))
	for _, n := range work {
		workq <- n
	}
	close(workq)
	rctx, rcancel := context.WithCancel(ctx)
	defer rcancel()
	var acks atomic.Int64
	var wg sync.WaitGroup
	for i := range c.o.sessions {
		s := &sender{addr: c.srv.addr, seed: c.o.seed, run: c.run, recs: c.recs, work: workq, pace: &pacer{start: time.Now()},
			maxTry: c.o.maxTry, slow: i < c.o.slow, to: c.to, acks: &acks}
		wg.Add(1)
		go func() { defer wg.Done(); s.loop(rctx) }()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	bound := time.NewTimer(2 * time.Minute)
	defer bound.Stop()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
wait:
	for acks.Load() < target {
		select {
		case <-done:
			break wait
		case <-tick.C:
		case <-bound.C:
			c.res.loadStalls++
			break wait
		}
	}
	time.Sleep(extra)

	img, st := c.fs.Cut(mrand.New(mrand.NewPCG(cutSeed, uint64(life))))
	// The clients stop with the power: what is in flight ends when the
	// server's processes die, and nothing new starts.
	rcancel()
	c.srv.marker("power cut %d after %d acknowledgements: %v", life+1, acks.Load(), st)
	err := c.srv.killAll()
	<-done
	c.res.addCut(st)
	c.res.addLife(c.fs.Stats())
	if uerr := c.unmount(); err == nil {
		err = uerr
	}
	return img, err
}

func permFailed(rec *msgRecord) bool {
	return len(rec.attempts) > 0 && rec.attempts[len(rec.attempts)-1].outcome == outcomePerm
}

// killAll SIGKILLs every process running one of our programs (anything
// executing from the work directory's bin/, and nothing else on the
// machine), until none is left, and waits for goqmaild to be reaped.
func (s *server) killAll() error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		pids := s.ours()
		if len(pids) == 0 {
			break
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v survive SIGKILL", pids)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, exited := s.current(); exited != nil {
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			return errors.New("goqmaild was killed but not reaped within 10 s")
		}
	}
	return nil
}

// ours lists the live processes whose executable is one of our programs.
func (s *server) ours() []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink("/proc/" + e.Name() + "/exe")
		if err == nil && filepath.Dir(exe) == s.bin {
			pids = append(pids, pid)
		}
	}
	return pids
}

// drain waits until the queue holds no message but those already found
// stuck, sending SIGALRM to send every 2 s (a delivery the cut killed is
// retried on qmail's schedule, 100 s after birth at the earliest). A queue
// that does not shrink for 20 s, or is not empty within -drain, has its
// messages marked stuck.
func (c *campaign) drain(ctx context.Context, life int) {
	start, progress, best := time.Now(), time.Now(), -1
	for i := 0; ; i++ {
		left, _, err := queueLeft(c.srv.root)
		if err != nil {
			c.res.problems = append(c.res.problems, fmt.Sprintf("life %d: drain: %v", life, err))
			return
		}
		for id := range left {
			if c.res.stuck[id] != "" {
				delete(left, id)
			}
		}
		if len(left) == 0 {
			return
		}
		if best < 0 || len(left) < best {
			best, progress = len(left), time.Now()
		}
		if time.Since(progress) > 20*time.Second || time.Since(start) > c.o.drain {
			for id := range left {
				c.res.stuck[id] = fmt.Sprintf("life %d", life)
			}
			return
		}
		if i%10 == 0 {
			c.srv.signalSend(syscall.SIGALRM)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
