// Command crashtest is goqmail's crash test of the queue (docs/crash.md):
// it sends thousands of messages over concurrent SMTP sessions while
// SIGKILLing the queue, send and delivery processes at random moments,
// dozens of times, then lets the queue drain and checks the Maildir byte
// for byte against what was sent. It reports lost, corrupt, duplicate and
// stuck messages and exits 0 only when nothing acknowledged was lost,
// nothing is corrupt or stuck, and every duplicate follows a kill that fell
// between a delivery and its record.
//
// Run it with `make crash` (which builds and sets GOQMAIL_BIN), or
// `make crash CRASH_ARGS='-messages 10000 -kills 100'`.
//
// `crashtest powercut` is the power-loss campaign instead (powercut.go):
// `make powercut`, or `make powercut POWERCUT_ARGS='-cuts 50 -syncmode fsync'`.
package main

import (
	"context"
	"flag"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"goqmail/test/crashfs"
)

type options struct {
	messages, kills, sessions int
	slow                      int
	targets                   string
	seed                      uint64
	timeout, drain            time.Duration
	keep                      bool
	work, bin                 string
	maxTry                    int
}

func main() {
	crashfs.RunWrapper() // when powercut starts goqmaild through crashfs
	if len(os.Args) > 1 && os.Args[1] == "powercut" {
		os.Exit(powercutMain(os.Args[2:]))
	}
	var o options
	flag.IntVar(&o.messages, "messages", 3000, "messages to send")
	flag.IntVar(&o.kills, "kills", 40, "SIGKILLs to deliver while the load runs")
	flag.IntVar(&o.sessions, "sessions", 10, "concurrent SMTP sessions")
	flag.StringVar(&o.targets, "targets", strings.Join(targets, ","), "what the killer aims at, comma-separated")
	flag.IntVar(&o.slow, "slow", 2, "of those sessions, how many trickle their DATA (8 KB every 10 ms)")
	flag.Uint64Var(&o.seed, "seed", 0, "seed for messages, kill times and targets (0: random; printed for reruns)")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Minute, "bound on the whole run")
	flag.DurationVar(&o.drain, "drain", 120*time.Second, "bound on the drain after the load (messages still queued then are stuck)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory (it is always kept when the test fails)")
	flag.StringVar(&o.work, "work", "", "work directory (default: a new directory under /var/tmp)")
	flag.StringVar(&o.bin, "bin", os.Getenv("GOQMAIL_BIN"), "directory with the goqmail programs (default $GOQMAIL_BIN)")
	flag.IntVar(&o.maxTry, "attempts", 20, "attempts per message before the client gives up")
	flag.Parse()
	if flag.NArg() != 0 || o.messages < 1 || o.sessions < 1 || o.slow < 0 || o.slow > o.sessions || o.kills < 0 || o.maxTry < 1 {
		flag.Usage()
		os.Exit(2)
	}
	var aim []string
	for _, t := range strings.Split(o.targets, ",") {
		if !slices.Contains(targets, t) {
			fatal("-targets: %q is none of %s", t, strings.Join(targets, ","))
		}
		aim = append(aim, t)
	}
	if o.bin == "" {
		fatal("set -bin or GOQMAIL_BIN to the directory holding the goqmail programs (make crash does)")
	}
	if o.seed == 0 {
		o.seed = mrand.Uint64()
	}
	pass, err := run(o, aim)
	if err != nil {
		fatal("%v", err)
	}
	if !pass {
		os.Exit(1)
	}
}

func fatal(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "crashtest: "+format+"\n", args...)
	os.Exit(1)
}

// makeWork creates the work directory. As root every program runs under its
// own account, so the directory must be traversable by them (0755).
func makeWork(dir string) (string, error) {
	if dir == "" {
		d, err := os.MkdirTemp("/var/tmp", "goqmail-crash-")
		if err != nil {
			return "", err
		}
		dir = d
	} else {
		if _, err := os.Stat(filepath.Join(dir, "root")); err == nil {
			return "", fmt.Errorf("%s already holds a run (root/); remove it or choose another -work", dir)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", err
		}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return abs, os.Chmod(abs, 0o755)
}

func run(o options, aim []string) (pass bool, err error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		select {
		case s := <-sigs:
			fmt.Fprintf(os.Stderr, "crashtest: %v: stopping\n", s)
			cancel()
		case <-ctx.Done():
		}
	}()

	work, err := makeWork(o.work)
	if err != nil {
		return false, fmt.Errorf("work directory: %w", err)
	}
	keep := o.keep
	defer func() {
		if keep || !pass {
			fmt.Printf("work directory kept: %s (log: %s)\n", work, filepath.Join(work, "goqmaild.log"))
		} else {
			os.RemoveAll(work)
		}
	}()
	srv, err := setupServer(o.bin, work)
	if err != nil {
		return false, err
	}
	defer srv.stop()
	// The run tag in every X-Crash-Id: messages are a function of the seed
	// alone, and a copy from any other run cannot pass for one of ours.
	runTag := fmt.Sprintf("%x", o.seed)
	fmt.Printf("crashtest: %d messages, %d sessions, %d kills, seed %d, run %s, SMTP %s, work %s\n",
		o.messages, o.sessions, o.kills, o.seed, runTag, srv.addr, work)

	// The load: first attempts paced to last about as long as the kills.
	recs := make([]msgRecord, o.messages)
	workq := make(chan int, o.messages)
	for n := range recs {
		recs[n].acked = -1
		workq <- n
	}
	close(workq)
	loadStart := time.Now()
	pace := &pacer{start: loadStart, interval: time.Duration(o.kills) * 350 * time.Millisecond / time.Duration(o.messages)}
	var senders sync.WaitGroup
	for i := range o.sessions {
		s := &sender{addr: srv.addr, seed: o.seed, run: runTag, recs: recs, work: workq, pace: pace, maxTry: o.maxTry, slow: i < o.slow}
		senders.Add(1)
		go func() { defer senders.Done(); s.loop(ctx) }()
	}
	k := &killer{srv: srv, r: mrand.New(mrand.NewPCG(o.seed, 0x6b696c6c)), want: o.kills, targets: aim}
	killed := make(chan struct{})
	go func() { defer close(killed); k.run(ctx) }()
	senders.Wait()
	loadEnd := time.Now()
	<-killed
	killEnd := time.Now()
	fmt.Printf("crashtest: load done in %v, kills done in %v; draining\n", round(loadEnd.Sub(loadStart)), round(killEnd.Sub(loadStart)))

	// The drain: a killed delivery is a deferral, retried on qmail's
	// schedule (first retry 100 s after birth); SIGALRM makes send retry
	// everything now. Repeat it, since a send restarted by a late kill
	// starts again from the recorded retry times.
	drainStart := time.Now()
	drainCtx, drainCancel := context.WithTimeout(ctx, o.drain)
	defer drainCancel()
	best, progress, stalled := -1, time.Now(), false
	for i := 0; ; i++ {
		left, _, err := queueLeft(srv.root)
		if err != nil {
			return false, err
		}
		if len(left) == 0 || drainCtx.Err() != nil {
			break
		}
		if best < 0 || len(left) < best {
			best, progress = len(left), time.Now()
		}
		// A queue that has not shrunk for this long despite SIGALRM
		// is not going to: no need to wait out the whole bound.
		if time.Since(progress) > stallAfter {
			stalled = true
			break
		}
		if i%10 == 0 { // every 2 s
			srv.signalSend(syscall.SIGALRM)
		}
		select {
		case <-drainCtx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
	drainEnd := time.Now()
	if k.err != nil {
		return false, fmt.Errorf("restart after killing goqmaild: %w", k.err)
	}
	_, exited := srv.current()
	select {
	case <-exited:
		return false, fmt.Errorf("goqmaild exited on its own during the run; see %s", srv.logPath)
	default:
	}
	stopErr := srv.stop()
	left, bad, err := queueLeft(srv.root)
	if err != nil {
		return false, err
	}

	li, err := scanLog(srv.logPath)
	if err != nil {
		return false, fmt.Errorf("read log: %w", err)
	}
	mb, err := scanMailbox(filepath.Join(srv.root, "home", "demo", "Maildir"), o.seed, runTag, recs)
	if err != nil {
		return false, err
	}
	r := evaluate(recs, mb, li, k.events, left, bad)
	r.timedOut = ctx.Err() != nil
	r.stalled = stalled
	r.stopErr = stopErr
	r.kills, r.doubles = k.counts(), k.double
	r.total, r.load, r.killPhase, r.drain = time.Since(start), loadEnd.Sub(loadStart), killEnd.Sub(loadStart), drainEnd.Sub(drainStart)
	r.deliveryTime = drainEnd.Sub(loadStart)
	r.wantKills = o.kills
	pass = r.print(os.Stdout, o, false)
	// Everything, detail lines included, beside the log for a later look.
	if f, err := os.Create(filepath.Join(work, "report.txt")); err == nil {
		r.print(f, o, true)
		f.Close()
	}
	return pass, nil
}

// stallAfter ends the drain early when the queue stops shrinking.
const stallAfter = 30 * time.Second

func round(d time.Duration) time.Duration { return d.Round(100 * time.Millisecond) }
