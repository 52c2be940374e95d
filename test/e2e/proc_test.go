package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// procInfo is what the tests read about a process from /proc.
type procInfo struct {
	Pid, PPid int
	Comm      string
	Start     uint64            // start time in clock ticks: tells a pid from its reuse
	Status    map[string]string // /proc/PID/status: Uid, Gid, Groups, CapEff, ...
	Cmdline   []string
}

// readProc reads /proc/PID; an error means the process is gone.
func readProc(pid int) (procInfo, error) {
	p := procInfo{Pid: pid, Status: map[string]string{}}
	dir := "/proc/" + strconv.Itoa(pid)
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return p, err
	}
	// comm is in parentheses and may hold anything: split at the last ')'.
	s := string(stat)
	lp, rp := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if lp < 0 || rp < lp {
		return p, fmt.Errorf("odd /proc/%d/stat %q", pid, s)
	}
	p.Comm = s[lp+1 : rp]
	fields := strings.Fields(s[rp+1:]) // state ppid pgrp ... (field 3 on)
	if len(fields) < 20 {
		return p, fmt.Errorf("short /proc/%d/stat %q", pid, s)
	}
	p.PPid, _ = strconv.Atoi(fields[1])
	p.Start, _ = strconv.ParseUint(fields[19], 10, 64) // field 22
	status, err := os.ReadFile(dir + "/status")
	if err != nil {
		return p, err
	}
	for _, l := range strings.Split(string(status), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			p.Status[k] = strings.TrimSpace(v)
		}
	}
	cmdline, err := os.ReadFile(dir + "/cmdline")
	if err != nil {
		return p, err
	}
	p.Cmdline = strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	return p, nil
}

// ids returns the real, effective, saved and filesystem ids of a Uid or
// Gid status line.
func (p procInfo) ids(key string) []int {
	var out []int
	for _, f := range strings.Fields(p.Status[key]) {
		n, _ := strconv.Atoi(f)
		out = append(out, n)
	}
	return out
}

// alive tells whether the very same process (pid and start time) still
// exists and is not a zombie waiting to be reaped.
func (p procInfo) alive() bool {
	now, err := readProc(p.Pid)
	if err != nil || now.Start != p.Start {
		return false
	}
	return !strings.HasPrefix(now.Status["State"], "Z")
}

func (p procInfo) String() string {
	return fmt.Sprintf("%d(%s, ppid %d, Uid %s, Gid %s)", p.Pid, p.Comm, p.PPid, p.Status["Uid"], p.Status["Gid"])
}

// allProcs lists every process now.
func allProcs(t *testing.T) []procInfo {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []procInfo
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, err := readProc(pid); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// descendants returns the processes below pid.
func descendants(t *testing.T, pid int) []procInfo {
	t.Helper()
	all := allProcs(t)
	var out []procInfo
	parents := map[int]bool{pid: true}
	for grew := true; grew; {
		grew = false
		for _, p := range all {
			if parents[p.PPid] && !parents[p.Pid] {
				parents[p.Pid] = true
				out = append(out, p)
				grew = true
			}
		}
	}
	return out
}

// ofRoot lists the processes that name root on their command line
// (goqmaild ROOT and the goqmail-* ROOT it starts).
func ofRoot(t *testing.T, root string) []procInfo {
	t.Helper()
	var out []procInfo
	for _, p := range allProcs(t) {
		for _, a := range p.Cmdline {
			if a == root || strings.HasPrefix(a, root+string(filepath.Separator)) {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// fileOwner returns the uid owning path.
func fileOwner(t *testing.T, path string) int {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return int(st.Sys().(*syscall.Stat_t).Uid)
}
