// Command bench measures goqmail against Postfix on this machine, in one
// run, alternating between the two (docs/bench.md). It needs root (Postfix
// runs as root, goqmail runs under its accounts) and the Debian packages
// postfix (for postfix, smtp-source and smtp-sink). Run it with `make bench`.
//
// Local scenarios: both servers accept SMTP on loopback and deliver to one
// local user's ~/Maildir/ on the same disk, with the same local concurrency
// (10) and every fsync left on. Postfix's smtp-source drives them; we time
// until smtp-source has had every message accepted, and until every
// message is a file in the Maildir.
//
// Relay scenarios (relay.go): the same load, addressed to relay.example,
// which both servers relay to their own Postfix smtp-sink on loopback with
// remote concurrency 20; we time until the sink has seen every recipient.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

var (
	work     = flag.String("work", "/var/tmp/goqmail-bench", "scratch directory (deleted and recreated)")
	bin      = flag.String("bin", os.Getenv("GOQMAIL_BIN"), "directory with the goqmail programs")
	rounds   = flag.Int("rounds", 3, "alternating rounds per scenario")
	msgs     = flag.Int("msgs", 5000, "messages per run (4 KB scenarios); the 1-session and 100 KB scenarios send a fifth of it")
	only     = flag.String("only", "", "run only these scenarios or groups, comma-separated: a scenario's name, local, latency, neighbour, relay; or webmail alone (webmail.go), or floor alone (floor.go)")
	rcpts    = flag.Int("rcpts", 10, "recipients per message in the many-recipient relay scenario")
	cpu      = flag.Bool("cpu", false, "sample /proc during each run and print CPU time per message by program")
	timeout  = flag.Duration("timeout", 10*time.Minute, "give up on one run after this long")
	syncmode = flag.String("syncmode", "", "control/syncmode for goqmail (default: goqmail's own default)")
	probes   = flag.Int("probes", 100, "single-message latency: messages to each server, one at a time, alternating")
	warmup   = flag.Int("warmup", 16000, "messages of 4 KB to each server before anything is measured (0: none); the default fills goqmail's queue journal once")
	// The neighbour scenario (neighbour.go).
	neighbourMB = flag.Int("neighbourmb", 4096, "neighbour scenario: MiB the neighbour's dd writes without fsync (at most 16384)")
	nbProbes    = flag.Int("nbprobes", 20, "neighbour scenario: latency probes per server and round, quiet and with the neighbour")
)

// dev is the block device under -work, whose counters each run reads
// (disk.go).
var dev disk

const (
	user      = "goqmailbench"
	rcpt      = user + "@example.test"
	gqPort    = "2625"
	pfPort    = "2626"
	localConc = 10
)

// Scenario groups: where the messages go.
const (
	groupLocal = "local" // to a local Maildir
	groupRelay = "relay" // to smtp-sink, over SMTP
	// Single messages, one at a time, timed by our own client (latency.go).
	groupLatency = "latency"
	// The 20-session load and single messages, quiet and while a neighbour
	// writes gigabytes on the same file system (neighbour.go).
	groupNeighbour = "neighbour"
)

type scenario struct {
	name     string
	group    string
	sessions int
	size     int
	count    int
	rcpts    int  // recipients per message
	reuse    bool // smtp-source -d: every session sends its messages over one connection
}

// selected: -only is empty, or a comma-separated list of scenario names
// and groups.
func (sc scenario) selected() bool {
	if *only == "" {
		return true
	}
	// Scenario names hold commas themselves ("20 sessions, 4 KB"), so the
	// list is not split: a name or group is selected when it stands in the
	// list between commas (or the ends), spaces after commas ignored.
	// One whole scenario name selects that scenario alone: "20 sessions,
	// 4 KB, reused connections" also holds "20 sessions, 4 KB".
	want := squeezeCommas(*only)
	for _, name := range scenarioNames {
		if want == squeezeCommas(name) {
			return want == squeezeCommas(sc.name)
		}
	}
	list := "," + want + ","
	return strings.Contains(list, ","+squeezeCommas(sc.name)+",") || strings.Contains(list, ","+sc.group+",")
}

// scenarioNames are the names of every scenario, for selected.
var scenarioNames []string

// squeezeCommas drops the spaces around every comma and at the ends.
func squeezeCommas(s string) string {
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return strings.Join(parts, ",")
}

type server struct {
	name    string
	port    string
	maildir string
	sink    *sink      // relay scenarios deliver here
	queued  func() int // messages still in the queue
}

type result struct {
	accept, deliver time.Duration
	disk            diskCount // the device's counters from the start until every message was delivered
	cpu             cpuUsage
	left            int64 // relay: messages not yet at the sink when smtp-source ended
}

func main() {
	flag.Parse()
	if *only == "webmail" {
		runWebmail() // in process: needs neither root nor Postfix
		return
	}
	if *only == "floor" {
		runFloor() // in process: the Maildir step alone
		return
	}
	if os.Geteuid() != 0 {
		die("bench needs root: Postfix runs as root and goqmail under its own accounts")
	}
	lock := lockWork() // before anything that may call die, which stops Postfix
	defer lock.Close()
	if *bin == "" {
		die("set -bin or GOQMAIL_BIN to the directory holding the goqmail programs (make bench does)")
	}
	for _, p := range []string{"smtp-source", "postfix", sinkPath} {
		if _, err := exec.LookPath(p); err != nil {
			die("%s not found: apt-get install postfix", p)
		}
	}
	if *neighbourMB < 1 || *neighbourMB > neighbourMaxMB {
		die("-neighbourmb %d: want 1 to %d", *neighbourMB, neighbourMaxMB)
	}
	if *probes < 1 || *nbProbes < 1 {
		die("-probes and -nbprobes must be at least 1")
	}
	if *rcpts < 1 || *rcpts > 100 {
		die("-rcpts %d: want 1 to 100 (goqmail's default maxrcpt is 100)", *rcpts)
	}
	scenarios := []scenario{
		{"20 sessions, 4 KB", groupLocal, 20, 4096, *msgs, 1, false},
		{"20 sessions, 4 KB, reused connections", groupLocal, 20, 4096, *msgs, 1, true},
		{"1 session, 4 KB", groupLocal, 1, 4096, *msgs / 5, 1, false},
		{"20 sessions, 100 KB", groupLocal, 20, 100 << 10, *msgs / 5, 1, false},
		{"relay: 20 sessions, 4 KB, 1 rcpt", groupRelay, 20, 4096, *msgs, 1, false},
		{fmt.Sprintf("relay: 20 sessions, 4 KB, %d rcpts", *rcpts), groupRelay, 20, 4096, *msgs, *rcpts, false},
		{"single message, 4 KB", groupLatency, 1, 4096, *probes, 1, false},
		{"neighbour: 20 sessions, 4 KB", groupNeighbour, 20, 4096, *msgs, 1, false},
	}
	for _, sc := range scenarios {
		scenarioNames = append(scenarioNames, sc.name)
	}
	byGroup := map[string][]scenario{}
	for _, sc := range scenarios {
		if sc.selected() {
			byGroup[sc.group] = append(byGroup[sc.group], sc)
		}
	}
	if len(byGroup) == 0 {
		die("-only %q names no scenario", *only)
	}

	clearWork()
	must(os.MkdirAll(*work, 0o755))
	dev = diskOf(*work)
	interrupted := make(chan os.Signal, 1)
	signal.Notify(interrupted, os.Interrupt, syscall.SIGTERM)
	go func() { die("%v: stopping (Postfix stopped, the neighbour's file removed)", <-interrupted) }()
	gq := setupGoqmail()
	setupPostfix()
	defer stopPostfix()
	defer gq.stop()
	servers := []server{
		{"goqmail", gqPort, filepath.Join(*work, "gq-home", "Maildir"), nil, goqmailQueued},
		{"postfix", pfPort, filepath.Join(*work, "pf-home", "Maildir"), nil, postfixQueued},
	}
	if len(byGroup[groupRelay]) > 0 {
		servers[0].sink = startSink(gqSinkPort)
		servers[1].sink = startSink(pfSinkPort)
		defer servers[0].sink.stop()
		defer servers[1].sink.stop()
	}

	fmt.Printf("goqmail vs Postfix %s, %d rounds, %s\n", postfixVersion(), *rounds, time.Now().UTC().Format(time.RFC3339))
	fmt.Printf("disk counters: %s (%s), the whole device: every process's writes count\n", dev.name, dev.stat)
	fmt.Printf("load average at the start: %s\n", loadavg())
	defer func() { fmt.Printf("\nload average at the end: %s\n", loadavg()) }()
	warmUp(servers)
	var summary, cpuLines []string
	for _, g := range []string{groupLocal, groupLatency, groupNeighbour, groupRelay} {
		if len(byGroup[g]) == 0 {
			continue
		}
		switch g {
		case groupLatency:
			summary = append(summary, runLatency(servers))
			continue
		case groupNeighbour:
			summary = append(summary, runNeighbour(byGroup[g][0], servers)...)
			continue
		}
		done := "delivered"
		if g == groupRelay {
			done = "at sink"
		}
		fmt.Printf("\n| scenario | server | accepted msg/s | %s msg/s | write req/msg | flushes/msg | KB written/msg |\n|---|---|---|---|---|---|---|\n", done)
		for _, sc := range byGroup[g] {
			s, c := runScenario(sc, servers)
			summary = append(summary, s)
			cpuLines = append(cpuLines, c...)
		}
	}
	fmt.Println()
	for _, s := range summary {
		fmt.Println(s)
	}
	if *cpu {
		fmt.Printf("\nCPU time per message, ms (all rounds; machine: %d CPUs, busy = not idle, not iowait):\n", cpuCount())
		for _, l := range cpuLines {
			fmt.Println(l)
		}
	}
	if len(byGroup[groupRelay]) > 0 {
		reportLogProblems()
	}
	if *only == "" {
		fmt.Println()
		runFloor()
		runWebmail()
	}
}

// runScenario runs sc -rounds times on every server, alternating, prints
// its table rows and returns its summary line and CPU lines.
func runScenario(sc scenario, servers []server) (string, []string) {
	res := map[string][]result{}
	for r := 0; r < *rounds; r++ {
		for _, sv := range servers {
			var rs result
			if sc.group == groupRelay {
				rs = runRelay(sv, sc)
			} else {
				rs = runOnce(sv, sc)
			}
			res[sv.name] = append(res[sv.name], rs)
		}
	}
	rate := map[string][2]float64{}
	var cpuLines []string
	for _, sv := range servers {
		a, d := median(res[sv.name], sc.count)
		rate[sv.name] = [2]float64{a, d}
		fmt.Printf("| %s | %s | %.0f | %.0f | %s |\n", sc.name, sv.name, a, d, medianDisk(diskOfRuns(res[sv.name], sc.count)).cells())
		if *cpu {
			u, n := sumCPU(res[sv.name]), sc.count*len(res[sv.name])
			cpuLines = append(cpuLines, fmt.Sprintf("%s / %s: %s%s", sc.name, sv.name, u.perMessage(n), backlog(res[sv.name])),
				fmt.Sprintf("%s / %s, own processes: %s", sc.name, sv.name, u.ownDetail(sv.name, n)))
		}
	}
	if *cpu {
		if l := ownShare(sc.name, res, sc.count**rounds); l != "" {
			cpuLines = append(cpuLines, l)
		}
	}
	var perRound []string
	for r := range res["goqmail"] {
		g, p := res["goqmail"][r], res["postfix"][r]
		perRound = append(perRound, fmt.Sprintf("%.2fx", p.deliver.Seconds()/g.deliver.Seconds()))
	}
	done := "delivered"
	if sc.group == groupRelay {
		done = "at sink"
	}
	return fmt.Sprintf("%s: goqmail/postfix = %.2fx accepted, %.2fx %s (medians; %s ratio per round: %s)",
		sc.name, rate["goqmail"][0]/rate["postfix"][0], rate["goqmail"][1]/rate["postfix"][1], done, done, strings.Join(perRound, " ")), cpuLines
}

// runOnce sends sc.count messages with smtp-source and times acceptance and
// delivery.
func runOnce(sv server, sc scenario) result {
	newDir := filepath.Join(sv.maildir, "new")
	setAside(newDir)
	cs := startCPU()
	d0 := dev.read()
	start := time.Now()
	args := []string{"-s", strconv.Itoa(sc.sessions), "-l", strconv.Itoa(sc.size),
		"-m", strconv.Itoa(sc.count), "-f", "bench@example.org", "-t", rcpt}
	if sc.reuse {
		args = append(args, "-d")
	}
	cmd := exec.Command("smtp-source", append(args, "127.0.0.1:"+sv.port)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		die("smtp-source against %s: %v\n%s", sv.name, err, out)
	}
	accepted := time.Since(start)
	deadline := start.Add(*timeout)
	for {
		n := countDir(newDir)
		if n >= sc.count {
			break
		}
		if time.Now().After(deadline) {
			die("%s: only %d of %d messages delivered after %v", sv.name, n, sc.count, *timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return result{accept: accepted, deliver: time.Since(start), disk: dev.read().minus(d0), cpu: cs.finish()}
}

// clearWork removes the previous run's work directory (left in place at the
// end, docs/bench.md) and, when that deleted many files, waits until the
// deletions no longer cost anything. On ext4 without a journal the inode
// allocator skips every inode deleted in the last minute (six minutes while
// its inode table block is not yet written), reading each one it skips
// (fs/ext4/ialloc.c, recently_deleted): a run begun right after deleting
// the previous run's messages spent 35% of goqmail-local's samples there,
// 20-25% of Postfix's local's and cleanup's (perf, docs/bench.md).
func clearWork() {
	files := 0
	filepath.WalkDir(*work, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files++
		}
		return nil
	})
	os.RemoveAll(*work)
	if files < recentlyDeletedMany {
		return
	}
	syscall.Sync() // write the inode tables out: the one-minute window, not six
	fmt.Printf("removed the previous run's %d files; waiting %v before measuring (docs/bench.md, Hygiene)\n", files, recentlyDeletedWait)
	time.Sleep(recentlyDeletedWait)
}

// A deletion of recentlyDeletedMany files or more is waited out for
// recentlyDeletedWait (ext4's window is 60 s once the inode table is
// written).
const (
	recentlyDeletedMany = 1000
	recentlyDeletedWait = 65 * time.Second
)

// warmUp sends -warmup messages to each server, unmeasured, so that every
// scenario measures servers that have been running rather than new ones.
// goqmail's queue journal is allocated (fallocate) when made, and until
// mail has gone once round its ring (64 MB, about 15,000 messages of 4 KB)
// each commit's fdatasync also writes the segment's inode to mark its blocks
// written (docs/queue.md, The journal): measured on 2026-12-07, a new
// instance's first 15,000 messages went 10% slower than the next ones,
// and the very first round slower again. Postfix gets the same mail. Its
// queue files are deleted as it delivers, so the warm-up ends, as
// clearWork does, by writing the deletions out and waiting until ext4 no
// longer skips their inodes.
func warmUp(servers []server) {
	if *warmup <= 0 {
		return
	}
	fmt.Printf("warm-up: %d messages of 4 KB to each server, 20 sessions, not measured; then %v for ext4 (docs/bench.md, Hygiene)\n", *warmup, recentlyDeletedWait)
	sc := scenario{"warm-up", groupLocal, 20, 4096, *warmup, 1, false}
	for _, sv := range servers {
		runOnce(sv, sc)
	}
	syscall.Sync()
	time.Sleep(recentlyDeletedWait)
}

// lockWork makes a second bench fail at once instead of deleting the
// first one's directory and stopping its Postfix (same ports, same -work).
func lockWork() *os.File {
	f, err := os.OpenFile(filepath.Clean(*work)+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	must(err)
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		// Not die: it would stop the other bench's Postfix.
		fmt.Fprintf(os.Stderr, "bench: another bench holds %s: %v\n", f.Name(), err)
		os.Exit(1)
	}
	return f
}

// diskOfRuns is each run's device counts per message.
func diskOfRuns(rs []result, count int) []diskPerMsg {
	var ps []diskPerMsg
	for _, r := range rs {
		ps = append(ps, r.disk.perMessage(dev, count))
	}
	return ps
}

// medianOf is the median as median takes it: the middle of an odd count,
// the upper middle of an even one.
func medianOf(v []float64) float64 {
	v = append([]float64(nil), v...)
	sort.Float64s(v)
	return v[len(v)/2]
}

func median(rs []result, count int) (accept, deliver float64) {
	a := make([]float64, len(rs))
	d := make([]float64, len(rs))
	for i, r := range rs {
		a[i] = float64(count) / r.accept.Seconds()
		d[i] = float64(count) / r.deliver.Seconds()
	}
	sort.Float64s(a)
	sort.Float64s(d)
	return a[len(a)/2], d[len(d)/2]
}

// setAside moves the delivered messages out of new/ without deleting them:
// on ext4 without a journal (this machine) the inode allocator skips every
// inode deleted in the last minutes, so deleting thousands of files between
// runs would slow the next run of either server for reasons that are not its
// own. Everything is deleted at the end.
func setAside(dir string) {
	st, err := os.Stat(dir)
	if err != nil {
		return
	}
	aside := filepath.Join(*work, "aside", strconv.FormatInt(time.Now().UnixNano(), 10))
	must(os.MkdirAll(filepath.Dir(aside), 0o755))
	must(os.Rename(dir, aside))
	must(os.Mkdir(dir, 0o700))
	sys := st.Sys().(*syscall.Stat_t)
	must(os.Chown(dir, int(sys.Uid), int(sys.Gid)))
}

// loadavg is /proc/loadavg's first three fields: the machine is shared,
// and a run says how busy it was.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

func countDir(dir string) int {
	f, err := os.Open(dir)
	if err != nil {
		return 0
	}
	defer f.Close()
	names, _ := f.Readdirnames(-1)
	return len(names)
}

func sh(name string, args ...string) string {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		die("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func must(err error) {
	if err != nil {
		die("%v", err)
	}
}

func die(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	cleanupNeighbour()
	stopPostfix()
	os.Exit(1)
}
