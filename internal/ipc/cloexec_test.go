package ipc

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestCloseOnExecFrom: a descriptor inherited without close-on-exec (made
// here with a raw open(2)) reaches a child until CloseOnExecFrom marks it;
// afterwards the child no longer has it, and this process still does.
func TestCloseOnExecFrom(t *testing.T) {
	fd, err := syscall.Open("/dev/null", syscall.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	childHas := func() bool {
		t.Helper()
		out, err := exec.Command("/bin/sh", "-c", "test -e /proc/self/fd/"+strconv.Itoa(fd)+" && echo open || echo closed").Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out)) == "open"
	}
	if !childHas() {
		t.Fatalf("descriptor %d did not reach the child before the call: the test proves nothing", fd)
	}
	if err := CloseOnExecFrom(3); err != nil {
		t.Fatal(err)
	}
	if flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil || flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("descriptor %d: flags %#x, %v; want FD_CLOEXEC", fd, flags, err)
	}
	if childHas() {
		t.Errorf("descriptor %d still reaches a child", fd)
	}
	if _, err := os.Stat("/proc/self/fd/" + strconv.Itoa(fd)); err != nil {
		t.Errorf("descriptor %d is no longer open here: %v", fd, err)
	}
}
