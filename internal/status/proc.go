package status

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// proc is what status reads about a process from /proc.
type proc struct {
	pid, ppid int
	state     byte // R, S, D, Z, T, ...
	uid       int  // real uid
	started   time.Time
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's start time: 100 on
// every Linux architecture (it is part of the kernel's ABI, proc(5)).
const clockTicks = 100

// readProc reads /proc/PID (procRoot in tests); an error means the process
// is gone.
func readProc(procRoot string, pid int) (proc, error) {
	p := proc{pid: pid}
	dir := procRoot + "/" + strconv.Itoa(pid)
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return p, err
	}
	// comm is in parentheses and may hold anything: split at the last ')'.
	s := string(stat)
	rp := strings.LastIndexByte(s, ')')
	if rp < 0 {
		return p, fmt.Errorf("%s/stat: no ')'", dir)
	}
	f := strings.Fields(s[rp+1:]) // state ppid ... (field 3 on)
	if len(f) < 20 || len(f[0]) != 1 {
		return p, fmt.Errorf("%s/stat: too short", dir)
	}
	p.state = f[0][0]
	p.ppid, _ = strconv.Atoi(f[1])
	ticks, _ := strconv.ParseInt(f[19], 10, 64) // field 22, starttime
	boot, err := bootTime(procRoot)
	if err != nil {
		return p, err
	}
	p.started = boot.Add(time.Duration(ticks) * time.Second / clockTicks)
	status, err := os.ReadFile(dir + "/status")
	if err != nil {
		return p, err
	}
	for _, l := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(l, "Uid:"); ok {
			if fs := strings.Fields(v); len(fs) > 0 {
				p.uid, _ = strconv.Atoi(fs[0])
			}
		}
	}
	return p, nil
}

// bootTime is /proc/stat's btime.
func bootTime(procRoot string) (time.Time, error) {
	b, err := os.ReadFile(procRoot + "/stat")
	if err != nil {
		return time.Time{}, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "btime "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return time.Time{}, fmt.Errorf("%s/stat: btime %q", procRoot, v)
			}
			return time.Unix(n, 0), nil
		}
	}
	return time.Time{}, fmt.Errorf("%s/stat: no btime", procRoot)
}

// listeningPorts returns the TCP ports something listens on, from
// /proc/net/tcp and tcp6 (state 0A is LISTEN).
func listeningPorts(procRoot string) (map[int]bool, error) {
	ports := map[int]bool{}
	var firstErr error
	for _, f := range []string{"/net/tcp", "/net/tcp6"} {
		b, err := os.ReadFile(procRoot + f)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		for _, l := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(l)
			if len(fs) < 4 || fs[3] != "0A" {
				continue
			}
			i := strings.LastIndexByte(fs[1], ':')
			if port, err := strconv.ParseUint(fs[1][i+1:], 16, 16); i >= 0 && err == nil {
				ports[int(port)] = true
			}
		}
	}
	if len(ports) == 0 && firstErr != nil {
		return nil, firstErr
	}
	return ports, nil
}
