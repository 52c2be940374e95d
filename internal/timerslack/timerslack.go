// Package timerslack starts a child process with a given Linux timer slack
// (prctl(2) PR_SET_TIMERSLACK): how late the kernel may wake a thread from
// a timed sleep so that it can fold several wake-ups into one.
//
// Why goqmail's programs get a large one: every Go process has a system
// monitor thread (sysmon, runtime/proc.go) that sleeps 20 µs between
// looks at the scheduler for as long as the process has work, and the
// kernel adds the timer slack (50 µs by default) to each of those sleeps.
// Under load each of goqmail's five programs on a message's way kept its
// monitor waking every 70 µs: 45% of all of goqmail's context switches and
// 0.17 ms of CPU per message in the profile of docs/bench.md ("Where
// goqmail's CPU goes"). The interval has no setting in the runtime
// (golang/go#18236); the slack does, and it is the whole cost. With 1 ms
// the monitor wakes at most about a thousand times a second per process.
//
// What it costs: a timed sleep or deadline in the program may fire up to
// the slack late (no timer on a message's path is that short), and the
// monitor takes a processor back from a thread blocked in a system call
// (fsync) up to that much later, which is why goqmail-local gets more than
// one processor (docs/processes.md, "Go runtime settings").
//
// The slack is a property of each thread, copied to every thread and child
// it creates and kept across execve(2); a process cannot set it for its
// threads that exist already (the monitor is started before main), so the
// parent sets it on the thread that forks.
package timerslack

import (
	"os/exec"
	"time"
)

const (
	// Server is the slack goqmail's own programs run with.
	Server = time.Millisecond
	// Default is the kernel's default slack (init's, 50 µs): programs that
	// are not goqmail's (.qmail commands, QMAILQUEUE filters, qmail-spp
	// plugins, checkpassword, acmehook) get it back, so nothing of
	// goqmail's tuning reaches them.
	Default = 50 * time.Microsecond
)

// Start starts cmd as cmd.Start does, the child with the given timer slack.
// A thread whose slack cannot be set (not Linux) starts it unchanged.
func Start(cmd *exec.Cmd, slack time.Duration) error {
	return start(cmd, slack)
}

// Run is Start, then cmd.Wait.
func Run(cmd *exec.Cmd, slack time.Duration) error {
	if err := Start(cmd, slack); err != nil {
		return err
	}
	return cmd.Wait()
}
