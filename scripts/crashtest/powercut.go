package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"goqmail/internal/maildir"
	"goqmail/test/crashfs"
)

// The power-loss campaign, `crashtest powercut` (docs/crash.md, "Power
// loss"): goqmail's queue and Maildirs on crashfs, a file system that
// forgets whatever was not made durable when the power is cut. Each life
// boots goqmaild on what the last cut left, lets it recover and drain,
// checks every Maildir and the queue, sends more mail, and cuts the power
// at a random moment of that load.

type pcOptions struct {
	cuts, messages, sessions, slow, users, maxTry int
	journalSeg                                    int
	syncmode                                      string
	seed                                          uint64
	timeout, drain, flush                         time.Duration
	keep                                          bool
	work, bin                                     string
}

func powercutMain(args []string) int {
	var o pcOptions
	fs := flag.NewFlagSet("crashtest powercut", flag.ContinueOnError)
	fs.IntVar(&o.cuts, "cuts", 500, "power cuts to make")
	fs.IntVar(&o.messages, "messages", 30, "new messages per life, on average (each life sends between half and one and a half times this)")
	fs.IntVar(&o.sessions, "sessions", 6, "concurrent SMTP sessions")
	fs.IntVar(&o.slow, "slow", 1, "of those sessions, how many trickle their DATA (8 KB every 10 ms)")
	fs.IntVar(&o.users, "users", 4, "local users the messages go to (1-3 recipients each)")
	fs.StringVar(&o.syncmode, "syncmode", "", "control/syncmode for goqmail: journal, fsync, syncfs or auto (empty: goqmail's default)")
	fs.IntVar(&o.journalSeg, "journalseg", 0, "size in bytes of the queue journal's segments (GOQMAIL_QUEUEJOURNAL_SEGMENT; 0: goqmail's default); 16384 makes each life go round the ring")
	fs.Uint64Var(&o.seed, "seed", 0, "seed for messages, recipients, cut moments and what each cut keeps (0: random; printed for reruns)")
	fs.DurationVar(&o.timeout, "timeout", 60*time.Minute, "bound on the whole run (the report covers the cuts made by then)")
	fs.DurationVar(&o.drain, "drain", 60*time.Second, "bound on each drain after a boot")
	fs.DurationVar(&o.flush, "flush", time.Millisecond, "how long each fsync or syncfs takes on crashfs, as a disk's cache flush")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (it is always kept when the test fails)")
	fs.StringVar(&o.work, "work", "", "work directory (default: a new directory under /var/tmp)")
	fs.StringVar(&o.bin, "bin", os.Getenv("GOQMAIL_BIN"), "directory with the goqmail programs (default $GOQMAIL_BIN)")
	fs.IntVar(&o.maxTry, "attempts", 20, "attempts per message before the client gives up")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 || o.cuts < 0 || o.messages < 1 || o.sessions < 1 || o.slow < 0 || o.slow > o.sessions || o.users < 1 || o.maxTry < 1 {
		fs.Usage()
		return 2
	}
	if o.bin == "" {
		fmt.Fprintln(os.Stderr, "crashtest powercut: set -bin or GOQMAIL_BIN to the directory holding the goqmail programs (make powercut does)")
		return 2
	}
	if err := crashfs.Available(); err != nil {
		fmt.Fprintf(os.Stderr, "crashtest powercut: %v\n", err)
		return 1
	}
	if o.seed == 0 {
		o.seed = mrand.Uint64()
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		select {
		case s := <-sigs:
			fmt.Fprintf(os.Stderr, "crashtest powercut: %v: stopping after this life\n", s)
			cancel()
		case <-ctx.Done():
		}
	}()
	r, err := runPowercut(ctx, o, os.Stdout)
	if err != nil {
		fmt.Fprintf(os.Stderr, "crashtest powercut: %v\n", err)
		return 1
	}
	if !r.passed() {
		return 1
	}
	return 0
}

// campaign is one run: the server, the file system of the current life,
// and everything learned so far.
type campaign struct {
	o     pcOptions
	run   string // the run tag in every X-Crash-Id
	srv   *server
	work  string
	fsDir string      // where crashfs is mounted; queue/ and home/ are bound from it
	fs    *crashfs.FS // the current life's
	users []string    // local addresses
	boxes []string    // their Maildirs
	recs  []msgRecord
	next  int         // next new message
	r     *mrand.Rand // the campaign's own choices
	res   *pcResult
}

// runPowercut makes the campaign and returns its result; err is for a
// harness that could not run at all. Everything it mounted is unmounted and
// every process it started is gone when it returns.
func runPowercut(ctx context.Context, o pcOptions, out io.Writer) (res *pcResult, err error) {
	start := time.Now()
	// goqmaild passes it on to goqmail-queue (docs/queue.md).
	if o.journalSeg != 0 {
		os.Setenv("GOQMAIL_QUEUEJOURNAL_SEGMENT", strconv.Itoa(o.journalSeg))
	} else {
		os.Unsetenv("GOQMAIL_QUEUEJOURNAL_SEGMENT")
	}
	work, err := makeWork(o.work)
	if err != nil {
		return nil, fmt.Errorf("work directory: %w", err)
	}
	c := &campaign{o: o, run: fmt.Sprintf("%x", o.seed), work: work, fsDir: filepath.Join(work, "fs"),
		r: mrand.New(mrand.NewPCG(o.seed, 0x706f776572)), res: newPCResult()}
	defer func() {
		c.teardown()
		if res != nil && (o.keep || !res.passed()) || err != nil {
			fmt.Fprintf(out, "work directory kept: %s (log: %s)\n", work, filepath.Join(work, "goqmaild.log"))
		} else {
			os.RemoveAll(work)
		}
	}()
	img, err := c.setup()
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "crashtest powercut: %d cuts, about %d messages per life to %d users, %d sessions, syncmode %q, flush %v, seed %d, SMTP %s, work %s\n",
		o.cuts, o.messages, o.users, o.sessions, o.syncmode, o.flush, o.seed, c.srv.addr, work)
	for life := 0; ; life++ {
		if err := c.boot(img); err != nil {
			c.res.bootErr = fmt.Errorf("life %d: %w", life, err)
			break
		}
		c.checkQueue(life)
		c.drain(ctx, life)
		if err := c.verify(life); err != nil {
			return nil, err
		}
		if life == o.cuts || ctx.Err() != nil {
			c.res.stopErr = c.srv.stop()
			c.res.addLife(c.fs.Stats())
			break
		}
		if img, err = c.loadAndCut(ctx, life); err != nil {
			return nil, err
		}
		if (life+1)%50 == 0 {
			fmt.Fprintf(out, "crashtest powercut: %d cuts, %d messages acknowledged, %v\n", life+1, c.res.acked(c.recs), time.Since(start).Round(time.Second))
		}
	}
	c.res.timedOut = ctx.Err() != nil && c.res.cuts < o.cuts
	c.res.evaluate(c)
	c.res.total = time.Since(start)
	c.res.print(out, c, false)
	if f, err := os.Create(filepath.Join(work, "report.txt")); err == nil {
		c.res.print(f, c, true)
		f.Close()
	}
	return c.res, nil
}

// setup runs goqmail init, adds the users, and returns the first image:
// queue/ and home/ as init made them.
func (c *campaign) setup() (*crashfs.Image, error) {
	srv, err := initServer(c.o.bin, c.work)
	if err != nil {
		return nil, err
	}
	c.srv = srv
	if c.o.syncmode != "" {
		if err := os.WriteFile(filepath.Join(srv.root, "control", "syncmode"), []byte(c.o.syncmode+"\n"), 0o644); err != nil {
			return nil, err
		}
	}
	if err := c.addUsers(); err != nil {
		return nil, fmt.Errorf("add users: %w", err)
	}
	img := crashfs.NewImage()
	for _, d := range []string{"queue", "home"} {
		if err := img.AddDir(d, filepath.Join(srv.root, d)); err != nil {
			return nil, err
		}
	}
	return img, os.MkdirAll(c.fsDir, 0o755)
}

// addUsers gives u1, u2, ... the demo user's account and a Maildir each
// (users/assign lines like demo's), so messages have several recipients.
func (c *campaign) addUsers() error {
	root := c.srv.root
	path := filepath.Join(root, "users", "assign")
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var demo []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "=demo:") {
			demo = strings.Split(line, ":")
		}
	}
	if len(demo) < 5 {
		return fmt.Errorf("%s has no =demo: line", path)
	}
	uid, err1 := strconv.Atoi(demo[2])
	gid, err2 := strconv.Atoi(demo[3])
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("%s: demo line: %w", path, err)
	}
	c.users = []string{rcptAddr}
	c.boxes = []string{filepath.Join(root, "home", "demo", "Maildir")}
	var lines string
	for i := 1; i < c.o.users; i++ {
		name := "u" + strconv.Itoa(i)
		home := filepath.Join(root, "home", name)
		if err := os.MkdirAll(home, 0o755); err != nil {
			return err
		}
		box := filepath.Join(home, "Maildir")
		if err := maildir.Make(box, 0o700); err != nil {
			return err
		}
		for _, p := range []string{home, box, filepath.Join(box, "tmp"), filepath.Join(box, "new"), filepath.Join(box, "cur")} {
			if err := os.Chown(p, uid, gid); err != nil {
				return err
			}
		}
		lines += fmt.Sprintf("=%s:%s:%d:%d:%s:::\n", name, demo[1], uid, gid, home)
		c.users = append(c.users, name+"@example.test")
		c.boxes = append(c.boxes, box)
	}
	text := strings.Replace(string(b), "\n.\n", "\n"+lines+".\n", 1)
	if !strings.HasSuffix(text, lines+".\n") {
		return fmt.Errorf("%s does not end with a line \".\"", path)
	}
	return os.WriteFile(path, []byte(text), 0o644)
}

// to returns the recipients of message n: one to three of the users, a
// function of the seed and n alone.
func (c *campaign) to(n int) []string {
	r := mrand.New(mrand.NewPCG(c.o.seed^0x72637074, uint64(n)))
	k := 1 + r.IntN(min(3, len(c.users)))
	idx := r.Perm(len(c.users))[:k]
	sort.Ints(idx)
	out := make([]string, k)
	for i, u := range idx {
		out[i] = c.users[u]
	}
	return out
}
