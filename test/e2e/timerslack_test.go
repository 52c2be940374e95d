package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// procFile reads /proc/PID/NAME; ok is false when this test may not read
// it (a delivery process makes itself undumpable, so without root its
// timer slack and environment are closed to the test) or the process is
// gone.
func procFile(pid int, name string) (string, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/" + name)
	return string(b), err == nil
}

// TestTimerSlack: every program goqmaild starts, and the delivery
// processes lspawn starts, run with a timer slack of 1 ms
// (internal/timerslack: it keeps Go's system monitor from waking every
// 70 µs); the delivery processes get GOMAXPROCS=4; a .qmail program, which
// is the user's and not goqmail's, gets the kernel's default back.
func TestTimerSlack(t *testing.T) {
	t.Parallel()
	requireTool(t, "swaks")
	s := NewServer(t, Options{})
	home := demoHome(s)
	writeUserFile(t, s, home, ".qmail-slack", "|cat /proc/self/timerslack_ns > slack.tmp && mv slack.tmp slack\n")
	sendDemo(t, s, "timer slack")
	r := swaks(t, s, "--to", "demo-slack@example.test")
	if r.Code != 0 || !acceptedAfterData.MatchString(r.Out) {
		t.Fatalf("swaks to demo-slack exited %d:\n%s", r.Code, r.Out)
	}
	if got := strings.TrimSpace(string(waitFile(t, filepath.Join(home, "slack")))); got != "50000" {
		t.Errorf("a .qmail program runs with timer slack %q ns, want the kernel's default 50000", got)
	}

	procs := descendants(t, s.Pid())
	var seen []string
	for _, p := range procs {
		seen = append(seen, p.Comm)
		if !strings.HasPrefix(p.Comm, "goqmail") {
			continue
		}
		slack, ok := procFile(p.Pid, "timerslack_ns")
		if !ok {
			if p.Comm == "goqmail-local" && os.Geteuid() != 0 {
				t.Logf("%v: undumpable, its /proc files are root's: not checked without root", p)
				continue
			}
			if _, err := readProc(p.Pid); err != nil {
				continue // it ended meanwhile
			}
			t.Errorf("%v: cannot read its timer slack", p)
			continue
		}
		if strings.TrimSpace(slack) != "1000000" {
			t.Errorf("%v runs with timer slack %q ns, want 1000000", p, strings.TrimSpace(slack))
		}
		if p.Comm == "goqmail-local" {
			env, _ := procFile(p.Pid, "environ")
			if !slices.Contains(strings.Split(env, "\x00"), "GOMAXPROCS=4") {
				t.Errorf("%v: environment %q has no GOMAXPROCS=4", p, env)
			}
		}
	}
	for _, want := range []string{"goqmail-queue", "goqmail-send", "goqmail-lspawn", "goqmail-smtpd", "goqmail-local"} {
		if !slices.Contains(seen, want) {
			t.Errorf("no %s among goqmaild's processes %v", want, procs)
		}
	}
}
