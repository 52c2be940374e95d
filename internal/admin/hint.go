package admin

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// The hints that follow an error say what to do, and only what is true:
// "is goqmail running?" after a permission error sends the admin looking
// for a problem that is not there (issue 10, item 7).

// dialHint follows a failure to connect to one of the server's sockets in
// ROOT/run.
func dialHint(err error, root string) string {
	switch {
	case errors.Is(err, fs.ErrPermission):
		return fmt.Sprintf(" (permission denied: run this as root, or as the user who runs the server of %s)", root)
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ECONNREFUSED):
		if pid, ok := runningServer(root); ok {
			return fmt.Sprintf(" (the server is running (pid %d) but goqmail-send is not answering: it may be restarting; try again in a few seconds, and see the server's log)", pid)
		}
		return fmt.Sprintf(" (goqmail is not running: start it with goqmaild %s)", root)
	}
	return ""
}

// fileHint follows a failure to read a file or directory of the
// installation at root (dir names the part that failed).
func fileHint(err error, root, dir string) string {
	switch {
	case errors.Is(err, fs.ErrPermission):
		return fmt.Sprintf(" (permission denied: run this as root, or as the user who owns %s)", dir)
	case errors.Is(err, fs.ErrNotExist):
		if _, serr := os.Stat(filepath.Join(root, "control")); serr != nil {
			return fmt.Sprintf(" (%s is not a goqmail installation: give -root ROOT or set GOQMAIL_ROOT; make one with goqmail install or goqmail init)", root)
		}
		return fmt.Sprintf(" (%s is missing: goqmail check %s says what else is; goqmail install or goqmail init repairs it)", dir, root)
	}
	return ""
}

// runningServer reports whether the server of root is running: a live
// process named in ROOT/run/goqmaild.pid (the supervisor's) or
// ROOT/run/send.pid (goqmail-send's, which the supervisor writes). A pid
// file can outlive its process and the number be reused, so the process
// must also have the program's name (/proc/PID/comm) where that can be
// read.
func runningServer(root string) (int, bool) {
	for _, p := range []struct{ file, comm string }{{"goqmaild.pid", "goqmaild"}, {"send.pid", "goqmail-send"}} {
		b, err := os.ReadFile(filepath.Join(root, "run", p.file))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 1 {
			continue
		}
		if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
			continue
		}
		if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil && strings.TrimSpace(string(comm)) != p.comm {
			continue
		}
		return pid, true
	}
	return 0, false
}
