//go:build linux

package timerslack

import (
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// childSlack runs a shell that prints its own timer slack and its child's
// (cat's): the slack must reach the program and what it starts.
func childSlack(t *testing.T, slack time.Duration) string {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", "read -r s < /proc/self/timerslack_ns; echo $s; cat /proc/self/timerslack_ns")
	var out strings.Builder
	cmd.Stdout = &out
	if err := Run(cmd, slack); err != nil {
		t.Fatalf("run: %v", err)
	}
	return strings.Join(strings.Fields(out.String()), " ")
}

func TestChildGetsTheSlack(t *testing.T) {
	for _, c := range []struct {
		slack time.Duration
		want  string
	}{
		{Server, "1000000 1000000"},
		{Default, "50000 50000"},
		{3 * time.Millisecond, "3000000 3000000"},
	} {
		if got := childSlack(t, c.slack); got != c.want {
			t.Errorf("slack %v: the shell and its child report %q, want %q", c.slack, got, c.want)
		}
	}
}

func TestCallerKeepsItsSlack(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := Run(exec.Command("/bin/true"), 7*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	after, _ := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if after != before {
		t.Errorf("the calling thread's slack went from %d to %d ns", before, after)
	}
	if before == 7000000 {
		t.Fatalf("the test thread already had the child's slack; the test proves nothing")
	}
}

func TestStartErrorIsCmdStartError(t *testing.T) {
	err := Start(exec.Command("/nonexistent/program"), Server)
	if err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("Start of a missing program: %v, want exec's error", err)
	}
}
