package main

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// With -cpu, each run samples /proc every 100 ms to tell where the CPU
// time went: per program name (comm), the user+system time of every
// process alive during the run, and the machine's busy share from
// /proc/stat (which also holds what no process is charged for: interrupts,
// softirqs). A process that exits between samples loses at most its last
// 100 ms; Postfix daemons live for 100 uses, goqmail's for the whole run.

// ticksPerSecond is USER_HZ, 100 on every Linux architecture Go supports.
const ticksPerSecond = 100

const cpuSampleEvery = 100 * time.Millisecond

type procKey struct {
	pid   int
	start string // starttime field: tells a reused pid apart
}

type procTicks struct {
	comm        string
	first, last int64 // utime+stime, ticks; first is 0 for processes born during the run
}

// cpuUsage is what one run (or several, summed) cost.
type cpuUsage struct {
	byComm            map[string]int64 // ticks
	machine, busyTick int64            // /proc/stat: all ticks of all CPUs, and those not idle or iowait
}

type cpuSampler struct {
	stop, done chan struct{}
	procs      map[procKey]*procTicks
	stat0      []int64
}

func cpuCount() int { return runtime.NumCPU() }

// startCPU starts sampling; nil (and no cost) without -cpu.
func startCPU() *cpuSampler {
	if !*cpu {
		return nil
	}
	s := &cpuSampler{stop: make(chan struct{}), done: make(chan struct{}), procs: map[procKey]*procTicks{}, stat0: machineStat()}
	s.sample(true)
	go func() {
		defer close(s.done)
		t := time.NewTicker(cpuSampleEvery)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.sample(false)
			}
		}
	}()
	return s
}

func (s *cpuSampler) finish() cpuUsage {
	if s == nil {
		return cpuUsage{}
	}
	close(s.stop)
	<-s.done
	s.sample(false)
	stat1 := machineStat()
	u := cpuUsage{byComm: map[string]int64{}}
	for _, p := range s.procs {
		u.byComm[p.comm] += p.last - p.first
	}
	if len(s.stat0) >= 5 && len(stat1) >= 5 {
		for i := range stat1 {
			d := stat1[i] - s.stat0[i]
			u.machine += d
			if i != 3 && i != 4 { // idle, iowait
				u.busyTick += d
			}
		}
	}
	return u
}

func (s *cpuSampler) sample(initial bool) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // exited meanwhile
		}
		comm, ticks, start, ok := parseStat(b)
		if !ok {
			continue
		}
		k := procKey{pid, start}
		p := s.procs[k]
		if p == nil {
			p = &procTicks{comm: comm}
			if initial {
				p.first = ticks
			}
			s.procs[k] = p
		}
		p.last = ticks
	}
}

// parseStat reads comm, utime+stime and starttime from /proc/PID/stat
// (proc(5)): "pid (comm) state ppid ... utime(14) stime(15) ...
// starttime(22)"; comm may hold spaces and parentheses, so fields are
// counted from the last ')'.
func parseStat(b []byte) (comm string, ticks int64, start string, ok bool) {
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return "", 0, "", false
	}
	f := strings.Fields(string(b[end+1:])) // f[0] is field 3 (state)
	if len(f) < 20 {
		return "", 0, "", false
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return "", 0, "", false
	}
	return string(b[open+1 : end]), ut + st, f[19], true
}

// machineStat returns the aggregate "cpu" line of /proc/stat: user nice
// system idle iowait irq softirq steal (guest time is already in user).
func machineStat() []int64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 9 || f[0] != "cpu" {
		return nil
	}
	var v []int64
	for _, x := range f[1:9] {
		n, _ := strconv.ParseInt(x, 10, 64)
		v = append(v, n)
	}
	return v
}

func sumCPU(rs []result) cpuUsage {
	u := cpuUsage{byComm: map[string]int64{}}
	for _, r := range rs {
		for c, t := range r.cpu.byComm {
			u.byComm[c] += t
		}
		u.machine += r.cpu.machine
		u.busyTick += r.cpu.busyTick
	}
	return u
}

// perMessage formats ms of CPU per message: the machine's busy time, then
// every program with at least 2% of the processes' total, then the rest.
func (u cpuUsage) perMessage(msgs int) string {
	ms := func(t int64) string {
		return strconv.FormatFloat(float64(t)*1000/ticksPerSecond/float64(msgs), 'f', 3, 64)
	}
	var total int64
	type kv struct {
		comm  string
		ticks int64
	}
	var list []kv
	for c, t := range u.byComm {
		total += t
		list = append(list, kv{c, t})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ticks > list[j].ticks })
	busy := 0.0
	if u.machine > 0 {
		busy = 100 * float64(u.busyTick) / float64(u.machine)
	}
	parts := []string{fmt.Sprintf("machine busy %.0f%% (%s), processes %s", busy, ms(u.busyTick), ms(total))}
	var rest int64
	for _, e := range list {
		if e.ticks*50 < total {
			rest += e.ticks
			continue
		}
		parts = append(parts, e.comm+" "+ms(e.ticks))
	}
	parts = append(parts, "other "+ms(rest))
	return strings.Join(parts, "; ")
}

// postfixDaemons are the programs of a Postfix installation (master(8) and
// the daemons of master.cf, postlogd included): what "Postfix's own
// processes" counts. smtp-source, the bench and kernel threads are neither
// server's.
var postfixDaemons = map[string]bool{
	"master": true, "smtpd": true, "cleanup": true, "qmgr": true, "local": true, "trivial-rewrite": true,
	"proxymap": true, "postlogd": true, "tlsmgr": true, "anvil": true, "scache": true, "bounce": true,
	"pickup": true, "showq": true, "verify": true, "smtp": true, "lmtp": true, "virtual": true,
	"pipe": true, "spawn": true, "flush": true, "error": true, "discard": true, "oqmgr": true,
	"tlsproxy": true, "dnsblog": true, "postscreen": true, "postdrop": true, "sendmail": true,
}

// ownTicks is the CPU time of the server's own processes: goqmail's
// programs (their names start with "goqmail"), or Postfix's daemons.
func (u cpuUsage) ownTicks(server string) int64 {
	var t int64
	for c, n := range u.byComm {
		if server == "goqmail" && strings.HasPrefix(c, "goqmail") || server == "postfix" && postfixDaemons[c] {
			t += n
		}
	}
	return t
}

// ownShare compares the servers' own processes, CPU per message: absolute
// figures move with the machine (the same build measured 1.10 and 2.03 ms
// on two machines on one day), their ratio in one run much less.
func ownShare(name string, res map[string][]result, msgs int) string {
	g, p := sumCPU(res["goqmail"]).ownTicks("goqmail"), sumCPU(res["postfix"]).ownTicks("postfix")
	if p == 0 {
		return ""
	}
	ms := func(t int64) float64 { return float64(t) * 1000 / ticksPerSecond / float64(msgs) }
	return fmt.Sprintf("%s: own processes, goqmail %.3f ms/msg, Postfix %.3f ms/msg: goqmail uses %.2f of Postfix's CPU", name, ms(g), ms(p), float64(g)/float64(p))
}
