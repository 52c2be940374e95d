package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hangQmail is a .qmail program that records its pid and never exits (the
// shell execs sleep, so the pid is the program's).
const hangQmail = "|echo $$ >> hang.pids; exec sleep 100000\n"

// hangPids reads the pids the hanging programs recorded, in start order.
func hangPids(t *testing.T, s *Server) []int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(demoHome(s), "hang.pids"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("hang.pids: %q", b)
		}
		pids = append(pids, pid)
	}
	return pids
}

// waitHangPids waits until n hanging programs have started.
func waitHangPids(t *testing.T, s *Server, n int) []int {
	t.Helper()
	var pids []int
	waitFor(t, deliverTimeout, fmt.Sprintf("%d hanging programs", n), func() bool {
		pids = hangPids(t, s)
		return len(pids) >= n
	})
	return pids
}

// programAlive says whether pid is a live (not zombie) process running as
// the demo user: the hanging program, not a recycled pid of someone else.
func programAlive(t *testing.T, pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	st := string(b)
	if i := strings.LastIndexByte(st, ')'); i < 0 || len(st) < i+3 || st[i+2] == 'Z' {
		return false
	}
	var fi os.FileInfo
	if fi, err = os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
		return false
	}
	return int(fi.Sys().(*syscall.Stat_t).Uid) == demoUID(t)
}

// TestHangingRecipientDoesNotStopOthers: ten messages for a recipient whose
// .qmail program never exits take concurrencylocalrcpt (2) delivery slots,
// not all of concurrencylocal (3 here): another recipient's mail is
// delivered meanwhile (issue 11, item 3: nobody got mail until the
// programs were killed). The stop at the end kills the hanging programs.
func TestHangingRecipientDoesNotStopOthers(t *testing.T) {
	s := NewServer(t, Options{Control: map[string]string{"concurrencylocal": "3\n"}})
	writeUserFile(t, s, demoHome(s), ".qmail-hang", hangQmail)
	for i := 0; i < 10; i++ {
		if r := swaks(t, s, "--to", "demo-hang@example.test", "--header", fmt.Sprintf("Subject: hang %d", i)); r.Code != 0 {
			t.Fatalf("swaks: exit %d\n%s", r.Code, r.Out)
		}
	}
	pids := waitHangPids(t, s, 2)

	sendDemo(t, s, "another recipient") // fails unless it is delivered
	if got := hangPids(t, s); len(got) != 2 {
		t.Errorf("%d programs of the hanging recipient started, want 2 (concurrencylocalrcpt)", len(got))
	}
	s.WaitLog(`send: status: local recipient <demo-hang@example.test> has 2 deliveries running \(concurrencylocalrcpt 2\)`, 1, deliverTimeout)
	if _, err := s.Stop(); err != nil {
		t.Fatalf("goqmaild stop: %v", err)
	}
	for _, pid := range pids {
		if programAlive(t, pid) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Errorf("hanging program %d outlived goqmaild's stop", pid)
		}
	}
}

// TestStopEndsHangingProgramRestartRunsOne: a clean stop with a .qmail
// program that never exits ends within the harness's bound, kills the
// program and records the delivery deferred; after the restart the
// delivery runs again, and exactly one copy of the program runs. It used to
// take 60 s, leave goqmail-local and the program running, and start a
// second copy beside the first after the restart (issue 11, item 3).
func TestStopEndsHangingProgramRestartRunsOne(t *testing.T) {
	s := NewServer(t, Options{})
	writeUserFile(t, s, demoHome(s), ".qmail-hang", hangQmail)
	if r := swaks(t, s, "--to", "demo-hang@example.test"); r.Code != 0 {
		t.Fatalf("swaks: exit %d\n%s", r.Code, r.Out)
	}
	first := waitHangPids(t, s, 1)[0]
	lspawn := s.pidFiles()["lspawn"]
	workers := deliveryProcs(t, lspawn)
	if len(workers) != 1 {
		t.Fatalf("%d delivery processes under the spawner, want 1", len(workers))
	}
	if _, err := s.Stop(); err != nil {
		t.Fatalf("goqmaild stop: %v", err)
	}
	if programAlive(t, first) {
		syscall.Kill(first, syscall.SIGKILL)
		t.Fatalf("the hanging program (pid %d) outlived goqmaild's stop", first)
	}
	if p, err := readProc(workers[0].Pid); err == nil && p.Start == workers[0].Start {
		t.Errorf("goqmail-local (pid %d) outlived goqmaild's stop: %+v", p.Pid, p)
	}
	s.WaitLog(`send: delivery \d+: deferral: Program killed: goqmail is stopping`, 1, time.Second)

	s.Start()
	s.WaitLog(`send: status: 1 messages, `, 1, deliverTimeout) // the restarted send has the queue
	s.Signal(syscall.SIGALRM)                                  // retry now, not at birth + 100 s
	pids := waitHangPids(t, s, 2)
	var alive []int
	for _, pid := range pids {
		if programAlive(t, pid) {
			alive = append(alive, pid)
		}
	}
	if len(pids) != 2 || len(alive) != 1 || alive[0] != pids[1] {
		t.Fatalf("after the restart: programs started %v, running %v; want the second one only", pids, alive)
	}
}
