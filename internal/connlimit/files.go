package connlimit

import (
	"fmt"
	"syscall"
)

// filesReserve is room for a server's own descriptors besides its
// sessions: listeners, the log, queue and auth connections.
const filesReserve = 64

// CheckFiles says whether this process may hold descriptors for every
// session its budgets allow (perSession each): past the open-file limit
// accept fails with EMFILE and every client waits, which the budgets are
// there to prevent. Go raises the soft limit to the hard one at start, so
// it is the hard limit that counts. The error says what to change.
func CheckFiles(sessions, perSession int) error {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return nil // nothing to compare with
	}
	need := uint64(sessions)*uint64(perSession) + filesReserve
	if rl.Cur >= need {
		return nil
	}
	return fmt.Errorf("the open-file limit is %d, below the %d descriptors that %d sessions need: raise it (LimitNOFILE= in goqmaild's systemd unit, ulimit -n before starting goqmaild) or lower the session budgets (docs/limits.md)",
		rl.Cur, need, sessions)
}
