package timerslack

import (
	"os/exec"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

func start(cmd *exec.Cmd, slack time.Duration) error {
	// The fork happens on the calling goroutine's thread (os.StartProcess
	// clones the current thread), so that thread carries the slack for the
	// moment of the fork and gets its own back after.
	runtime.LockOSThread()
	old, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil || unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(slack.Nanoseconds()), 0, 0, 0) != nil {
		runtime.UnlockOSThread()
		return cmd.Start()
	}
	err = cmd.Start()
	if unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(old), 0, 0, 0) == nil {
		runtime.UnlockOSThread()
	}
	// else the goroutine stays locked to the thread, and the runtime ends
	// the thread with the goroutine instead of handing other goroutines a
	// thread whose slack is not its own.
	return err
}
