package ipc

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// CloseOnExecFrom marks every open descriptor from first up close-on-exec,
// so that none of them reaches a program this process starts unless it is
// passed on purpose (exec.Cmd's Stdin, Stdout, Stderr, ExtraFiles). Go
// opens its own descriptors close-on-exec, but what a process inherited
// stays open across exec: goqmaild started from a shell or an init script
// passed such descriptors to every program, and through the spawner and
// the delivery process to users' .qmail programs (issue 11, item 6). The
// descriptors stay usable by this process.
//
// close_range(2) with CLOSE_RANGE_CLOEXEC does it in one call (Linux 5.11);
// older kernels get each descriptor in /proc/self/fd marked by fcntl.
func CloseOnExecFrom(first int) error {
	err := unix.CloseRange(uint(first), ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	if err == nil {
		return nil
	}
	ents, rerr := os.ReadDir("/proc/self/fd")
	if rerr != nil {
		return fmt.Errorf("mark descriptors close-on-exec: close_range: %v; %w", err, rerr)
	}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd < first {
			continue
		}
		// The descriptor ReadDir used is closed by now: EBADF is fine.
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC); err != nil && err != unix.EBADF {
			return fmt.Errorf("mark descriptor %d close-on-exec: %w", fd, err)
		}
	}
	return nil
}
