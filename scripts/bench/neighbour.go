package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The neighbour scenario: the 20-session 4 KB load and the single-message
// probes while another program on the same file system writes gigabytes
// without fsync (dd if=/dev/zero of=FILE bs=1M count=N), against the same
// load on a quiet file system in the same round. A server whose commit
// flushes more than its own files (syncfs) waits for the neighbour's
// data; one that fsyncs its own files still shares the disk's queue and
// its cache flushes with the kernel's writeback of that data.
//
// The neighbour is bounded: at most -neighbourmb MiB, and only when the
// file system keeps twice that much free besides; it is killed when its
// run ends (or at -timeout) and its file is removed then, and also by die
// and on SIGINT/SIGTERM. The file lives in -work, which the next bench
// deletes in any case.

const neighbourMaxMB = 16384

// neighbourFile is the one file the neighbour writes; removed by
// cleanupNeighbour, which die calls too.
func neighbourFile() string { return filepath.Join(*work, "neighbour.dd") }

type neighbour struct {
	cmd  *exec.Cmd
	done chan struct{}
}

var (
	nbMu      sync.Mutex
	nbRunning *neighbour
)

// startNeighbour starts dd and returns once it has written half its size,
// so that the run meets writeback under way (the kernel starts writing
// back at vm.dirty_background_ratio of the memory, about 2 GiB here) and
// dd still writing; both servers get the same head start.
func startNeighbour() *neighbour {
	var fs syscall.Statfs_t
	must(syscall.Statfs(*work, &fs))
	free := int64(fs.Bavail) * fs.Bsize >> 20
	if free < 2*int64(*neighbourMB) {
		die("neighbour: %d MiB free on the file system of %s; -neighbourmb %d needs twice that free (lower -neighbourmb)", free, *work, *neighbourMB)
	}
	n := &neighbour{done: make(chan struct{})}
	n.cmd = exec.Command("dd", "if=/dev/zero", "of="+neighbourFile(), "bs=1M", "count="+strconv.Itoa(*neighbourMB), "status=none")
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	n.cmd.Stderr = os.Stderr
	if err := n.cmd.Start(); err != nil {
		die("neighbour: %v", err)
	}
	nbMu.Lock()
	nbRunning = n
	nbMu.Unlock()
	go func() { n.cmd.Wait(); close(n.done) }()
	half := int64(*neighbourMB) << 19
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		select {
		case <-n.done:
			return n
		default:
		}
		if st, err := os.Stat(neighbourFile()); err == nil && st.Size() >= half {
			return n
		}
		time.Sleep(10 * time.Millisecond)
	}
	return n
}

// stop kills dd if it still writes, removes its file and returns how
// many MiB it had written.
func (n *neighbour) stop() int64 {
	nbMu.Lock()
	defer nbMu.Unlock()
	n.cmd.Process.Kill()
	<-n.done
	var mb int64
	if st, err := os.Stat(neighbourFile()); err == nil {
		mb = st.Size() >> 20
	}
	os.Remove(neighbourFile())
	nbRunning = nil
	return mb
}

// cleanupNeighbour is for die: kill dd and remove its file.
func cleanupNeighbour() {
	nbMu.Lock()
	n := nbRunning
	nbMu.Unlock()
	if n != nil {
		n.stop()
	}
	os.Remove(neighbourFile())
}

// settle waits (at most 30 s) until nothing is under writeback and the
// dirty data is well under the point where the kernel starts writing back
// (vm.dirty_background_ratio, about 2.2 GB here), so that a run does not
// pay for the previous run's neighbour. Removing the neighbour's file
// drops its dirty pages at once; what stays is in flight, or other
// programs' data (on this shared machine often a few hundred MB, written
// back when it is 30 s old whatever we do). If it does not settle, the
// run goes ahead and says so.
func settle() {
	deadline := time.Now().Add(30 * time.Second)
	for {
		dirty, wb := meminfo("Dirty:"), meminfo("Writeback:")
		if dirty < 1<<20 && wb < 16<<10 {
			return
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "bench: the page cache did not settle in 30 s (Dirty %d MiB, Writeback %d MiB); going on\n", dirty>>10, wb>>10)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// meminfo returns a /proc/meminfo field in KiB.
func meminfo(field string) int64 {
	f, err := os.Open("/proc/meminfo")
	must(err)
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), field); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// nbRun is one server's quiet and neighbour figures of one round.
type nbRun struct {
	quiet, busy           result
	quietProbe, busyProbe []probeResult
	ddMB                  [2]int64 // what dd had written when the throughput and the probe runs ended
}

// runNeighbour runs, per round and server (goqmail first in even rounds),
// the throughput run and nbProbes probes quiet, then each again with a dd
// of its own, and prints both tables and how much each server fell.
func runNeighbour(sc scenario, servers []server) []string {
	runs := make([][]nbRun, len(servers))
	for _, sv := range servers { // warm up, not counted: the first run after a start is slow
		warm := sc
		warm.count = max(sc.count/10, 100)
		runOnce(sv, warm)
	}
	for r := 0; r < *rounds; r++ {
		for k := range servers {
			i := k
			if r%2 == 1 {
				i = len(servers) - 1 - k
			}
			sv := servers[i]
			var nr nbRun
			settle()
			nr.quiet = runOnce(sv, sc)
			settle()
			nr.quietProbe = probeSet(sv)
			settle()
			nb := startNeighbour()
			nr.busy = runOnce(sv, sc)
			nr.ddMB[0] = nb.stop()
			settle()
			nb = startNeighbour()
			nr.busyProbe = probeSet(sv)
			nr.ddMB[1] = nb.stop()
			runs[i] = append(runs[i], nr)
		}
	}
	base := strings.TrimPrefix(sc.name, "neighbour: ")
	quietName := base + ", quiet"
	busyName := fmt.Sprintf("%s, neighbour dd %d MiB", base, *neighbourMB)
	fmt.Printf("\n| scenario | server | accepted msg/s | delivered msg/s | write req/msg | flushes/msg | KB written/msg |\n|---|---|---|---|---|---|---|\n")
	type figures struct{ qa, qd, ba, bd float64 }
	fig := make([]figures, len(servers))
	for i, sv := range servers {
		var q, b []result
		for _, nr := range runs[i] {
			q, b = append(q, nr.quiet), append(b, nr.busy)
		}
		fig[i].qa, fig[i].qd = median(q, sc.count)
		fig[i].ba, fig[i].bd = median(b, sc.count)
		fmt.Printf("| %s | %s | %.0f | %.0f | %s |\n", quietName, sv.name, fig[i].qa, fig[i].qd, medianDisk(diskOfRuns(q, sc.count)).cells())
		fmt.Printf("| %s | %s | %.0f | %.0f | %s |\n", busyName, sv.name, fig[i].ba, fig[i].bd, medianDisk(diskOfRuns(b, sc.count)).cells())
	}
	fmt.Printf("\n%s\n", latencyHeader)
	lat := make([][2]latencyStats, len(servers))
	for i, sv := range servers {
		var q, b []probeResult
		for _, nr := range runs[i] {
			q, b = append(q, nr.quietProbe...), append(b, nr.busyProbe...)
		}
		lat[i] = [2]latencyStats{statsOf(q), statsOf(b)}
		fmt.Println(lat[i][0].row("single message, 4 KB, quiet", sv.name))
		fmt.Println(lat[i][1].row(fmt.Sprintf("single message, 4 KB, neighbour dd %d MiB", *neighbourMB), sv.name))
	}
	var out []string
	for i, sv := range servers {
		var dd []string
		for _, nr := range runs[i] {
			dd = append(dd, fmt.Sprintf("%d/%d", nr.ddMB[0], nr.ddMB[1]))
		}
		out = append(out, fmt.Sprintf("neighbour, %s: delivered %.0f -> %.0f msg/s (%s), accepted %.0f -> %.0f (%s); latency p50 %.1f -> %.1f ms (%s), p95 %.1f -> %.1f ms (%s); dd had written %s MiB (throughput/probe runs, per round)",
			sv.name, fig[i].qd, fig[i].bd, change(fig[i].qd, fig[i].bd), fig[i].qa, fig[i].ba, change(fig[i].qa, fig[i].ba),
			lat[i][0].acc50, lat[i][1].acc50, change(lat[i][0].acc50, lat[i][1].acc50),
			lat[i][0].acc95, lat[i][1].acc95, change(lat[i][0].acc95, lat[i][1].acc95), strings.Join(dd, " ")))
	}
	var perRound []string
	for r := range runs[0] {
		g, p := runs[0][r], runs[1][r]
		perRound = append(perRound, fmt.Sprintf("%.2fx", p.busy.deliver.Seconds()/g.busy.deliver.Seconds()))
	}
	out = append(out, fmt.Sprintf("%s: goqmail/postfix = %.2fx delivered with the neighbour (%.2fx quiet; neighbour ratio per round: %s); latency p50 goqmail/postfix %.2fx with the neighbour (%.2fx quiet)",
		base, fig[0].bd/fig[1].bd, fig[0].qd/fig[1].qd, strings.Join(perRound, " "), lat[0][1].acc50/lat[1][1].acc50, lat[0][0].acc50/lat[1][0].acc50))
	return out
}

// probeSet sends nbProbes single messages to one server (after warm-up).
func probeSet(sv server) []probeResult {
	p := newProber(sv)
	defer p.close()
	rs := make([]probeResult, *nbProbes)
	for i := range rs {
		rs[i] = p.probe()
	}
	return rs
}

func change(from, to float64) string {
	return fmt.Sprintf("%+.0f%%", (to-from)/from*100)
}
