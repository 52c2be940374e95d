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
// For the servers' own programs it also counts context switches, summed
// over their threads (switchesEvery), and keeps user and system time
// apart: ownDetail prints them.

// ticksPerSecond is USER_HZ, 100 on every Linux architecture Go supports.
const ticksPerSecond = 100

const cpuSampleEvery = 100 * time.Millisecond

type procKey struct {
	pid   int
	start string // starttime field: tells a reused pid apart
}

type procTicks struct {
	comm        string
	first, last procCost // first is zero for processes born during the run
}

// procCost is what one process used: user and system time in ticks
// (/proc/PID/stat) and, for the servers' own processes, context switches
// summed over its threads (/proc/PID/task/*/status): voluntary ones are
// waits (I/O, a socket, a lock, a sleep), involuntary ones preemptions.
type procCost struct {
	user, sys, vol, invol int64
}

func (c procCost) ticks() int64 { return c.user + c.sys }

func (c procCost) plus(d procCost) procCost {
	return procCost{c.user + d.user, c.sys + d.sys, c.vol + d.vol, c.invol + d.invol}
}

func (c procCost) minus(d procCost) procCost {
	return procCost{c.user - d.user, c.sys - d.sys, c.vol - d.vol, c.invol - d.invol}
}

// cpuUsage is what one run (or several, summed) cost.
type cpuUsage struct {
	byComm            map[string]int64    // ticks
	own               map[string]procCost // the servers' own programs (isOwn), in detail
	machine, busyTick int64               // /proc/stat: all ticks of all CPUs, and those not idle or iowait
}

type cpuSampler struct {
	stop, done chan struct{}
	procs      map[procKey]*procTicks
	stat0      []int64
	n          int // samples taken
}

// sampleKind tells the first and the last sample from those in between.
type sampleKind int

const (
	sampleFirst sampleKind = iota
	sampleBetween
	sampleLast
)

// switchesEvery is how often a goqmail program's context switches are
// read between the first and the last sample: reading every thread's
// status file costs about 40 us per thread, and goqmail's programs have
// ten threads each and live for the whole run, so every tenth sample is
// enough. Postfix's daemons are single-threaded and exit after 100 uses:
// theirs are read at every sample.
const switchesEvery = 10

func cpuCount() int { return runtime.NumCPU() }

// startCPU starts sampling; nil (and no cost) without -cpu.
func startCPU() *cpuSampler {
	if !*cpu {
		return nil
	}
	s := &cpuSampler{stop: make(chan struct{}), done: make(chan struct{}), procs: map[procKey]*procTicks{}, stat0: machineStat()}
	s.sample(sampleFirst)
	go func() {
		defer close(s.done)
		t := time.NewTicker(cpuSampleEvery)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.sample(sampleBetween)
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
	s.sample(sampleLast)
	stat1 := machineStat()
	u := cpuUsage{byComm: map[string]int64{}, own: map[string]procCost{}}
	for _, p := range s.procs {
		d := p.last.minus(p.first)
		u.byComm[p.comm] += d.ticks()
		if isOwn(p.comm) {
			u.own[p.comm] = u.own[p.comm].plus(d)
		}
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

func (s *cpuSampler) sample(kind sampleKind) {
	s.n++
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
		comm, user, sys, start, ok := parseStat(b)
		if !ok {
			continue
		}
		k := procKey{pid, start}
		p := s.procs[k]
		c := procCost{user: user, sys: sys}
		if p != nil {
			c.vol, c.invol = p.last.vol, p.last.invol
		}
		if isOwn(comm) && (kind != sampleBetween || s.n%switchesEvery == 0 || !owns("goqmail", comm)) {
			// The sum over threads shrinks when a thread exits (or the
			// process, between the two reads): keep the larger figure,
			// so that a run never counts fewer than zero.
			v, n := taskSwitches(e.Name())
			c.vol, c.invol = max(c.vol, v), max(c.invol, n)
		}
		if p == nil {
			p = &procTicks{comm: comm}
			if kind == sampleFirst {
				p.first = c
			}
			s.procs[k] = p
		}
		p.last = c
	}
}

// parseStat reads comm, utime, stime and starttime from /proc/PID/stat
// (proc(5)): "pid (comm) state ppid ... utime(14) stime(15) ...
// starttime(22)"; comm may hold spaces and parentheses, so fields are
// counted from the last ')'.
func parseStat(b []byte) (comm string, user, sys int64, start string, ok bool) {
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return "", 0, 0, "", false
	}
	f := strings.Fields(string(b[end+1:])) // f[0] is field 3 (state)
	if len(f) < 20 {
		return "", 0, 0, "", false
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return "", 0, 0, "", false
	}
	return string(b[open+1 : end]), ut, st, f[19], true
}

// taskSwitches sums the context switches of every thread of process pid:
// /proc/PID/status counts the main thread's only, and a Go program's
// waits happen on all of its threads. A thread that exits takes its
// counts with it; a process that is gone gives 0, 0.
func taskSwitches(pid string) (vol, invol int64) {
	tasks, err := os.ReadDir("/proc/" + pid + "/task")
	if err != nil {
		return 0, 0
	}
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/" + pid + "/task/" + t.Name() + "/status")
		if err != nil {
			continue
		}
		v, n := parseSwitches(b)
		vol += v
		invol += n
	}
	return vol, invol
}

// parseSwitches reads voluntary_ctxt_switches and
// nonvoluntary_ctxt_switches from a /proc status file.
func parseSwitches(b []byte) (vol, invol int64) {
	for _, line := range strings.Split(string(b), "\n") {
		name, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(val), 10, 64)
		if err != nil {
			continue
		}
		switch name {
		case "voluntary_ctxt_switches":
			vol = n
		case "nonvoluntary_ctxt_switches":
			invol = n
		}
	}
	return vol, invol
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
	u := cpuUsage{byComm: map[string]int64{}, own: map[string]procCost{}}
	for _, r := range rs {
		for c, t := range r.cpu.byComm {
			u.byComm[c] += t
		}
		for c, t := range r.cpu.own {
			u.own[c] = u.own[c].plus(t)
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

// isOwn tells the servers' own programs: goqmail's (their names start
// with "goqmail") and Postfix's daemons.
func isOwn(comm string) bool { return owns("goqmail", comm) || owns("postfix", comm) }

// owns tells whether program comm is one of server's own.
func owns(server, comm string) bool {
	return server == "goqmail" && strings.HasPrefix(comm, "goqmail") || server == "postfix" && postfixDaemons[comm]
}

// ownTicks is the CPU time of the server's own processes: goqmail's
// programs, or Postfix's daemons.
func (u cpuUsage) ownTicks(server string) int64 {
	var t int64
	for c, n := range u.byComm {
		if owns(server, c) {
			t += n
		}
	}
	return t
}

// ownDetail lists the server's own programs, most CPU first: CPU ms per
// message split into user and system time, and context switches per
// message, voluntary+involuntary, summed over each program's threads.
// Switches are counted, not sampled, so they move much less from run to
// run than times do on a shared machine.
func (u cpuUsage) ownDetail(server string, msgs int) string {
	type kv struct {
		comm string
		c    procCost
	}
	var list []kv
	var all procCost
	for c, v := range u.own {
		if owns(server, c) {
			list = append(list, kv{c, v})
			all = all.plus(v)
		}
	}
	sort.Slice(list, func(i, j int) bool {
		if a, b := list[i].c.ticks(), list[j].c.ticks(); a != b {
			return a > b
		}
		return list[i].comm < list[j].comm
	})
	n := float64(msgs)
	ms := func(t int64) float64 { return float64(t) * 1000 / ticksPerSecond / n }
	one := func(name string, c procCost) string {
		return fmt.Sprintf("%s %.3f (user %.3f, sys %.3f; switches %.1f+%.1f)", name, ms(c.ticks()), ms(c.user), ms(c.sys), float64(c.vol)/n, float64(c.invol)/n)
	}
	parts := []string{one("all", all)}
	for _, e := range list {
		if e.c.ticks() == 0 && e.c.vol+e.c.invol == 0 {
			continue
		}
		parts = append(parts, one(e.comm, e.c))
	}
	return strings.Join(parts, "; ")
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
