// Command perfaccount sorts a CPU profile of goqmail's programs into what
// the time paid for: durability, file names, sockets, the Go scheduler,
// and so on. It reads the text of `perf script` for a profile taken with
// call chains and prints, per program, the share of its samples in each
// category as a Markdown table. Multiplied by a program's CPU per message
// (`make bench BENCH_ARGS='... -cpu'`), that is where each 0.1 ms goes
// (docs/bench.md, issue 12 item 4).
//
//	perf record -a -g -o perf.data -- sleep 8     # while the load runs
//	perf script -i perf.data | go run ./scripts/perfaccount
//	perf script -i perf.data | go run ./scripts/perfaccount -ms goqmail-local=0.515,goqmail-smtpd=0.454
//
// The same works for a profile of context switches (perf record -e
// sched:sched_switch -a -g): each switch counts for the call chain of the
// thread that stopped running.
//
// A sample counts for the first rule that matches its call chain, in the
// order of the rules below; a kernel sample is sorted by the system call
// it is in, whatever the kernel did inside it (its I/O, the context switch
// when it blocked, the receiving side of a loopback TCP send). Samples with
// no system call in their chain are interrupts, page faults and preemption
// on the way back to user space.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
)

// category names, in the order of the printed table.
const (
	catSysmon  = "Go's system monitor thread (sysmon): its wake-ups and sleeps"
	catSync    = "fsync, fdatasync: the data and metadata writes they start, the flush, the wait"
	catNames   = "file names: create, open, rename, stat, truncate, close"
	catFile    = "file and pipe data: read, write, splice"
	catSocket  = "sockets: TCP and unix, send, receive, accept, options"
	catWait    = "waiting and waking: futex, epoll, nanosleep, yield"
	catProc    = "processes, signals, memory maps"
	catSysOth  = "other system calls"
	catKernel  = "kernel outside system calls: interrupts, faults, preemption"
	catRuntime = "Go runtime in user space: scheduler, garbage collector, allocation, stacks"
	catGlue    = "system call entry and exit in user space"
	catCode    = "the program's own code and libraries"
)

var categories = []string{catSysmon, catSync, catNames, catFile, catSocket, catWait, catProc, catSysOth, catKernel, catRuntime, catGlue, catCode}

var syscallCategory = map[string]string{
	"fsync": catSync, "fdatasync": catSync, "syncfs": catSync, "sync_file_range": catSync,
	"openat": catNames, "open": catNames, "renameat2": catNames, "renameat": catNames, "rename": catNames,
	"linkat": catNames, "unlinkat": catNames, "newfstatat": catNames, "fstat": catNames, "statx": catNames,
	"statfs": catNames, "fstatfs": catNames, "ftruncate": catNames, "close": catNames, "fallocate": catNames,
	"getdents64": catNames, "mkdirat": catNames, "fchmod": catNames, "fchown": catNames, "utimensat": catNames,
	"read": catFile, "write": catFile, "pread64": catFile, "pwrite64": catFile, "readv": catFile,
	"writev": catFile, "splice": catFile, "pipe2": catFile, "lseek": catFile, "fcntl": catFile,
	"recvmsg": catSocket, "sendmsg": catSocket, "recvfrom": catSocket, "sendto": catSocket,
	"accept4": catSocket, "setsockopt": catSocket, "getsockopt": catSocket, "shutdown": catSocket,
	"connect": catSocket, "socket": catSocket, "getsockname": catSocket, "getpeername": catSocket,
	"futex": catWait, "epoll_pwait": catWait, "epoll_wait": catWait, "epoll_ctl": catWait,
	"nanosleep": catWait, "clock_nanosleep": catWait, "sched_yield": catWait,
	"clone": catProc, "clone3": catProc, "execve": catProc, "wait4": catProc, "waitid": catProc,
	"exit_group": catProc, "rt_sigaction": catProc, "rt_sigprocmask": catProc, "rt_sigreturn": catProc,
	"tgkill": catProc, "kill": catProc, "prctl": catProc, "setsid": catProc, "setpgid": catProc,
	"madvise": catProc, "mmap": catProc, "munmap": catProc, "mprotect": catProc,
}

// runtimeMarks are the Go runtime's functions whose presence in a user
// space chain means the runtime's own work, not the program's.
var runtimeMarks = []string{
	"runtime.schedule", "runtime.findRunnable", "runtime.mallocgc", "runtime.gcBgMarkWorker",
	"runtime.gcDrain", "runtime.bgsweep", "runtime.bgscavenge", "runtime.morestack", "runtime.newstack",
	"runtime.exitsyscall", "runtime.entersyscall", "runtime.reentersyscall", "runtime.park_m",
	"runtime.goexit0", "runtime.stopm", "runtime.startm", "runtime.handoffp", "runtime.wakep",
	"runtime.mcall", "runtime.gcStart", "runtime.gcMarkDone", "runtime.gcMarkTermination",
	"runtime.sweepone", "runtime.scanobject", "runtime.growslice", "runtime.newobject", "runtime.makeslice",
}

// frame is one line of a call chain: its symbol and whether it is the kernel's.
type frame struct {
	sym    string
	kernel bool
}

// classify returns the category of one sample, its chain leaf first.
func classify(chain []frame) string {
	for _, f := range chain {
		if strings.HasPrefix(f.sym, "runtime.sysmon") {
			return catSysmon
		}
	}
	if name, ok := syscallName(chain); ok {
		c, known := syscallCategory[name]
		switch {
		case !known:
			return catSysOth
		case c == catFile && socketChain(chain):
			return catSocket
		}
		return c
	}
	if len(chain) > 0 && chain[0].kernel {
		return catKernel
	}
	for _, f := range chain {
		for _, m := range runtimeMarks {
			if f.sym == m || strings.HasPrefix(f.sym, m+".") {
				return catRuntime
			}
		}
	}
	if len(chain) > 0 && (strings.Contains(chain[0].sym, "syscall.Syscall") || strings.HasPrefix(chain[0].sym, "internal/runtime/syscall")) {
		return catGlue
	}
	return catCode
}

// syscallName finds the system call a kernel sample is in: the handler
// called by do_syscall_64, named __x64_sys_fsync, __do_sys_newfstatat,
// __sys_recvmsg or ksys_write depending on how the kernel was built and
// what it inlined. Work the kernel does on the way back to user space
// (exit_to_user_mode_loop: preemption, signals) belongs to no system call.
func syscallName(chain []frame) (string, bool) {
	for i, f := range chain {
		if !f.kernel {
			return "", false
		}
		if f.sym != "do_syscall_64" || i == 0 {
			continue
		}
		h := chain[i-1].sym
		for _, p := range []string{"__x64_sys_", "__do_sys_", "__se_sys_", "__sys_", "ksys_"} {
			if name, ok := strings.CutPrefix(h, p); ok {
				return name, true
			}
		}
		return "", false
	}
	return "", false
}

// socketChain tells a read or write on a socket from one on a file or pipe.
func socketChain(chain []frame) bool {
	for _, f := range chain {
		if !f.kernel {
			return false
		}
		if strings.HasPrefix(f.sym, "sock_") || strings.HasPrefix(f.sym, "tcp_") || strings.HasPrefix(f.sym, "unix_") || strings.HasPrefix(f.sym, "inet_") {
			return true
		}
	}
	return false
}

// parse reads perf script text: a header line per sample ("comm pid
// [cpu] time: period event:"), then one line per frame ("addr sym+off
// (dso)"), then an empty line. It calls fn for each sample.
func parse(r io.Reader, fn func(comm string, chain []frame)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var comm string
	var chain []frame
	in := false
	flush := func() {
		if in {
			fn(comm, chain)
		}
		in, chain = false, chain[:0]
	}
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		if line[0] != ' ' && line[0] != '\t' {
			flush()
			comm, in = headerComm(line), true
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		sym, _, _ := strings.Cut(f[1], "+0x")
		chain = append(chain, frame{sym: sym, kernel: strings.Contains(line, "[kernel.kallsyms]")})
	}
	flush()
	return sc.Err()
}

// headerComm takes the command name from a sample's header line: the
// words before the pid (a name may hold spaces).
func headerComm(line string) string {
	f := strings.Fields(line)
	for i := 1; i < len(f); i++ {
		if isDigits(f[i]) {
			return strings.Join(f[:i], " ")
		}
	}
	return f[0]
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// account counts samples per program and category.
type account struct {
	byProg map[string]map[string]int
	total  map[string]int
	all    int // every sample in the profile, of any program
}

func newAccount() *account {
	return &account{byProg: map[string]map[string]int{}, total: map[string]int{}}
}

func (a *account) add(prefix, comm string, chain []frame) {
	a.all++
	if !strings.HasPrefix(comm, prefix) {
		return
	}
	if a.byProg[comm] == nil {
		a.byProg[comm] = map[string]int{}
	}
	c := classify(chain)
	a.byProg[comm][c]++
	a.total[comm]++
}

// table prints the share of each program's samples per category, the
// programs with most samples first, then all of them together. Programs
// with less than 1% of the samples go into one "others" column. With ms
// (program -> CPU ms per message) it prints ms per message instead,
// for those programs only: share times the program's own figure.
func (a *account) table(w io.Writer, ms map[string]float64) {
	var progs []string
	n := 0
	for p := range a.byProg {
		if ms == nil || ms[p] > 0 {
			progs = append(progs, p)
			n += a.total[p]
		}
	}
	sort.Slice(progs, func(i, j int) bool {
		if a.total[progs[i]] != a.total[progs[j]] {
			return a.total[progs[i]] > a.total[progs[j]]
		}
		return progs[i] < progs[j]
	})
	// cols are the printed columns: one program each, or the others.
	type col struct {
		name  string
		progs []string
	}
	var cols []col
	var others []string
	for _, p := range progs {
		if ms == nil && a.total[p]*100 < n {
			others = append(others, p)
		} else {
			cols = append(cols, col{p, []string{p}})
		}
	}
	if len(others) > 0 {
		cols = append(cols, col{"others", others})
	}
	// cell is the column's figure for category c ("" for all samples).
	cell := func(cl col, c string) float64 {
		v, of := 0.0, 0
		for _, p := range cl.progs {
			k := a.total[p]
			if c != "" {
				k = a.byProg[p][c]
			}
			if ms != nil {
				v += ms[p] * float64(k) / float64(a.total[p])
			} else {
				v += float64(k)
			}
			of += a.total[p]
		}
		if ms == nil && c != "" {
			if of == 0 {
				return 0
			}
			return 100 * v / float64(of)
		}
		return v
	}
	printed := append(cols, col{"all", progs})
	head := "% of each program's samples"
	format := "%.1f"
	if ms != nil {
		head, format = "CPU ms per message", "%.3f"
	}
	fmt.Fprintf(w, "| %s |", head)
	for _, cl := range cols {
		fmt.Fprintf(w, " %s |", cl.name)
	}
	fmt.Fprint(w, " all |\n|---|", strings.Repeat("---|", len(printed)), "\n")
	row := func(label string, c string) {
		fmt.Fprintf(w, "| %s |", label)
		for _, cl := range printed {
			fmt.Fprintf(w, " "+format+" |", cell(cl, c))
		}
		fmt.Fprintln(w)
	}
	for _, c := range categories {
		row(c, c)
	}
	if ms != nil {
		row("total", "")
	}
	fmt.Fprintf(w, "| samples (share of the whole profile) |")
	for _, cl := range printed {
		k := 0
		for _, p := range cl.progs {
			k += a.total[p]
		}
		fmt.Fprintf(w, " %d (%.1f%%) |", k, 100*float64(k)/float64(max(a.all, 1)))
	}
	fmt.Fprintln(w)
}

// unprofiled lists the programs of -ms that have no samples in the
// profile: a misspelt name would otherwise drop out of the table unseen.
func (a *account) unprofiled(ms map[string]float64) []string {
	var missing []string
	for p := range ms {
		if a.total[p] == 0 {
			missing = append(missing, p)
		}
	}
	sort.Strings(missing)
	return missing
}

// parseMS reads -ms: "goqmail-local=0.515,goqmail-smtpd=0.454".
func parseMS(s string) (map[string]float64, error) {
	if s == "" {
		return nil, nil
	}
	m := map[string]float64{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		f, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil || f <= 0 || k == "" {
			return nil, fmt.Errorf("-ms: %q is not program=milliseconds (for example goqmail-local=0.515)", kv)
		}
		m[k] = f
	}
	return m, nil
}

func main() {
	prefix := flag.String("prefix", "goqmail", "account for the programs whose names start with this")
	msFlag := flag.String("ms", "", "CPU ms per message of each program, from make bench -cpu (goqmail-local=0.515,goqmail-smtpd=0.454,...): print ms per message, not shares")
	flag.Parse()
	ms, err := parseMS(*msFlag)
	if err != nil {
		fmt.Fprintf(os.Stderr, "perfaccount: %v\n", err)
		os.Exit(2)
	}
	a := newAccount()
	if err := parse(os.Stdin, func(comm string, chain []frame) { a.add(*prefix, comm, chain) }); err != nil {
		fmt.Fprintf(os.Stderr, "perfaccount: reading perf script output: %v\n", err)
		os.Exit(1)
	}
	if len(a.total) == 0 {
		fmt.Fprintf(os.Stderr, "perfaccount: no samples of programs named %s* in %d samples; was the profile taken with -a -g while they ran?\n", *prefix, a.all)
		os.Exit(1)
	}
	if missing := a.unprofiled(ms); len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "perfaccount: -ms names %s, with no samples in the profile; use the names in the table without -ms\n", strings.Join(missing, ", "))
		os.Exit(2)
	}
	a.table(os.Stdout, ms)
}
