package e2e

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// checkIDs fails unless all four uids (real, effective, saved, filesystem)
// of p are uid and, with gid >= 0, all four gids are gid and gid is its
// only supplementary group.
func checkIDs(t *testing.T, p procInfo, uid, gid int) {
	t.Helper()
	for _, u := range p.ids("Uid") {
		if u != uid {
			t.Errorf("%v: want uid %d in all four places", p, uid)
			break
		}
	}
	if gid < 0 {
		return
	}
	for _, g := range p.ids("Gid") {
		if g != gid {
			t.Errorf("%v: want gid %d in all four places", p, gid)
			break
		}
	}
	if groups := strings.Fields(p.Status["Groups"]); len(groups) != 1 || groups[0] != strconv.Itoa(gid) {
		t.Errorf("%v: Groups %q, want only its own gid %d", p, p.Status["Groups"], gid)
	}
}

// checkNoCaps fails unless p holds no capability it could use or pass on.
func checkNoCaps(t *testing.T, p procInfo) {
	t.Helper()
	for _, k := range []string{"CapInh", "CapPrm", "CapEff", "CapAmb"} {
		if v := p.Status[k]; v != "0000000000000000" {
			t.Errorf("%v: %s = %q, want all zero", p, k, v)
		}
	}
}

// deliveryProcs returns the goqmail-local processes below lspawn.
func deliveryProcs(t *testing.T, lspawn int) []procInfo {
	t.Helper()
	var out []procInfo
	for _, p := range allProcs(t) {
		if p.PPid == lspawn && p.Comm == "goqmail-local" {
			out = append(out, p)
		}
	}
	return out
}

// TestProcessSplitAndPrivileges: started as root, each program runs under
// its own account with one group and no capabilities; only the supervisor
// and the spawner keep root; deliveries run as the mailbox owner.
func TestProcessSplitAndPrivileges(t *testing.T) {
	needRoot(t, "the process split into accounts only happens when goqmaild starts as root (CI runs as root)")
	t.Parallel()
	requireTool(t, "swaks")
	// Logging to files: goqmail-log runs too, as its own account.
	s := NewServer(t, Options{Control: map[string]string{"logdest": "files\n"}})
	files := sendDemo(t, s, "privileges")
	demoUID, demoGID := lookupIDs(t, "goqmaildemo")
	if got := fileOwner(t, files[0]); got != demoUID {
		t.Errorf("delivered file owned by uid %d, want goqmaildemo (%d)", got, demoUID)
	}

	sup, err := readProc(s.Pid())
	if err != nil {
		t.Fatal(err)
	}
	checkIDs(t, sup, 0, -1)

	pids := s.pidFiles()
	want := map[string]string{"smtpd": "goqmaild", "queue": "goqmailq", "send": "goqmails", "lspawn": "", "remote": "goqmailr", "auth": "", "log": "goqmaill", "dkimsign": "goqmailk"}
	// The kernel keeps 15 bytes of a command name: goqmail-dkimsign is
	// goqmail-dkimsig in /proc/PID/comm.
	comm := map[string]string{"smtpd": "goqmail-smtpd", "queue": "goqmail-queue", "send": "goqmail-send", "lspawn": "goqmail-lspawn", "remote": "goqmail-remote", "auth": "goqmail-auth", "log": "goqmail-log", "dkimsign": "goqmail-dkimsig"}
	if len(pids) != len(want) {
		t.Errorf("run/*.pid = %v, want exactly %d services", pids, len(want))
	}
	for svc, account := range want {
		pid, ok := pids[svc]
		if !ok {
			t.Errorf("no run/%s.pid", svc)
			continue
		}
		p, err := readProc(pid)
		if err != nil {
			t.Errorf("%s: pid %d from run/%s.pid: %v", svc, pid, svc, err)
			continue
		}
		if p.Comm != comm[svc] || p.PPid != s.Pid() {
			t.Errorf("run/%s.pid names %v, want %s started by goqmaild %d", svc, p, comm[svc], s.Pid())
		}
		if account == "" {
			checkIDs(t, p, 0, -1) // the spawner stays root to start deliveries
			continue
		}
		uid, gid := lookupIDs(t, account)
		checkIDs(t, p, uid, gid)
		checkNoCaps(t, p)
	}

	// lspawn keeps the delivery process a while after its last delivery.
	locals := deliveryProcs(t, pids["lspawn"])
	if len(locals) == 0 {
		t.Fatalf("no goqmail-local below lspawn %d right after a delivery", pids["lspawn"])
	}
	for _, p := range locals {
		checkIDs(t, p, demoUID, demoGID)
		checkNoCaps(t, p)
	}
}

// TestSingleUserModeAsRoot: root starts goqmail as an ordinary account
// (init and goqmaild both under that account's credentials): every process,
// deliveries included, runs as that one uid and mail is delivered.
func TestSingleUserModeAsRoot(t *testing.T) {
	needRoot(t, "it starts goqmail under another account; as an ordinary user every other test already runs in single-user mode")
	t.Parallel()
	requireTool(t, "swaks")
	uid, gid := lookupIDs(t, "goqmaildemo")
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{uint32(gid)}}
	s := NewServer(t, Options{Cred: cred})
	if got := fileOwner(t, s.Root); got != uid {
		t.Fatalf("goqmail init as goqmaildemo made %s owned by uid %d", s.Root, got)
	}
	files := sendDemo(t, s, "single user")
	if got := fileOwner(t, files[0]); got != uid {
		t.Errorf("delivered file owned by uid %d, want %d", got, uid)
	}
	s.WaitLog(regexp.QuoteMeta(fmt.Sprintf("(as %d)", uid)), 1, deliverTimeout)

	sup, err := readProc(s.Pid())
	if err != nil {
		t.Fatal(err)
	}
	procs := append([]procInfo{sup}, descendants(t, s.Pid())...)
	var comms []string
	for _, p := range procs {
		comms = append(comms, p.Comm)
		checkIDs(t, p, uid, gid)
		checkNoCaps(t, p)
	}
	for _, want := range []string{"goqmail-queue", "goqmail-send", "goqmail-lspawn", "goqmail-smtpd", "goqmail-local"} {
		if !slices.Contains(comms, want) {
			t.Errorf("no %s among goqmaild's processes %v", want, procs)
		}
	}
}
