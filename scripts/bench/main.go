// Command bench measures goqmail against Postfix on this machine, in one
// run, alternating between the two (docs/bench.md). It needs root (Postfix
// runs as root, goqmail runs under its accounts) and the Debian packages
// postfix (for postfix and smtp-source). Run it with `make bench`.
//
// Both servers accept SMTP on loopback and deliver to one local user's
// ~/Maildir/ on the same disk, with the same local concurrency (10) and
// every fsync left on. Postfix's smtp-source drives them; we time until
// smtp-source has had every message accepted, and until every message is a
// file in the Maildir.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
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
	msgs     = flag.Int("msgs", 5000, "messages per run (4 KB scenarios); the 100 KB scenario sends a fifth of it")
	only     = flag.String("only", "", "run only the scenario with this name")
	timeout  = flag.Duration("timeout", 10*time.Minute, "give up on one run after this long")
	syncmode = flag.String("syncmode", "", "control/syncmode for goqmail (default: goqmail's own default)")
)

const (
	user      = "goqmailbench"
	rcpt      = user + "@example.test"
	gqPort    = "2625"
	pfPort    = "2626"
	localConc = 10
)

type scenario struct {
	name     string
	sessions int
	size     int
	count    int
}

type server struct {
	name    string
	port    string
	maildir string
}

type result struct{ accept, deliver time.Duration }

func main() {
	flag.Parse()
	if os.Geteuid() != 0 {
		die("bench needs root: Postfix runs as root and goqmail under its own accounts")
	}
	if *bin == "" {
		die("set -bin or GOQMAIL_BIN to the directory holding the goqmail programs (make bench does)")
	}
	for _, p := range []string{"smtp-source", "postfix"} {
		if _, err := exec.LookPath(p); err != nil {
			die("%s not found: apt-get install postfix", p)
		}
	}
	os.RemoveAll(*work)
	must(os.MkdirAll(*work, 0o755))
	gq := setupGoqmail()
	setupPostfix()
	defer stopPostfix()
	defer gq.stop()

	scenarios := []scenario{
		{"20 sessions, 4 KB", 20, 4096, *msgs},
		{"1 session, 4 KB", 1, 4096, *msgs / 5},
		{"20 sessions, 100 KB", 20, 100 << 10, *msgs / 5},
	}
	servers := []server{
		{"goqmail", gqPort, filepath.Join(*work, "gq-home", "Maildir")},
		{"postfix", pfPort, filepath.Join(*work, "pf-home", "Maildir")},
	}
	fmt.Printf("goqmail vs Postfix %s, %d rounds, %s\n\n", postfixVersion(), *rounds, time.Now().UTC().Format(time.RFC3339))
	fmt.Printf("| scenario | server | accepted msg/s | delivered msg/s |\n|---|---|---|---|\n")
	var summary []string
	for _, sc := range scenarios {
		if *only != "" && sc.name != *only {
			continue
		}
		res := map[string][]result{}
		for r := 0; r < *rounds; r++ {
			for _, sv := range servers {
				res[sv.name] = append(res[sv.name], runOnce(sv, sc))
			}
		}
		rate := map[string][2]float64{}
		for _, sv := range servers {
			a, d := median(res[sv.name], sc.count)
			rate[sv.name] = [2]float64{a, d}
			fmt.Printf("| %s | %s | %.0f | %.0f |\n", sc.name, sv.name, a, d)
		}
		var perRound []string
		for r := range res["goqmail"] {
			g, p := res["goqmail"][r], res["postfix"][r]
			perRound = append(perRound, fmt.Sprintf("%.2fx", p.deliver.Seconds()/g.deliver.Seconds()))
		}
		summary = append(summary, fmt.Sprintf("%s: goqmail/postfix = %.2fx accepted, %.2fx delivered (medians; delivered ratio per round: %s)",
			sc.name, rate["goqmail"][0]/rate["postfix"][0], rate["goqmail"][1]/rate["postfix"][1], strings.Join(perRound, " ")))
	}
	fmt.Println()
	for _, s := range summary {
		fmt.Println(s)
	}
}

// runOnce sends sc.count messages with smtp-source and times acceptance and
// delivery.
func runOnce(sv server, sc scenario) result {
	newDir := filepath.Join(sv.maildir, "new")
	setAside(newDir)
	start := time.Now()
	cmd := exec.Command("smtp-source", "-s", strconv.Itoa(sc.sessions), "-l", strconv.Itoa(sc.size),
		"-m", strconv.Itoa(sc.count), "-f", "bench@example.org", "-t", rcpt, "127.0.0.1:"+sv.port)
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
	return result{accept: accepted, deliver: time.Since(start)}
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
	stopPostfix()
	os.Exit(1)
}
