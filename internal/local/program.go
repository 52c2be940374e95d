package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"goqmail/internal/dotqmail"
	"goqmail/internal/timerslack"
)

// DefaultProgramTimeout bounds one delivery program when neither the
// delivery (control/timeoutprogram, through the spawner) nor the Worker
// sets one. qmail-local waits forever; a hung program would then hold the
// delivery slot for good.
const DefaultProgramTimeout = time.Hour

// maxProgramOutput is how much of a program's output goes into the report.
const maxProgramOutput = 1000

// outputDrainDelay is how long to wait, after a program exits, for
// processes it left behind to close its output (exec.Cmd.WaitDelay).
const outputDrainDelay = 5 * time.Second

// programStatus is how a program ended, in qmail-command(8)'s classes.
type programStatus int

const (
	programOK   programStatus = iota // exit 0
	programStop                      // exit 99: success, skip the remaining lines
)

// runProgram runs one "|command" line as qmail-local's mailprogram does:
// "/bin/sh -c command" in the home directory, the message (without
// Return-Path and Delivered-To) on stdin, qmail's environment and nothing
// else. The command comes from the user's own .qmail file (or the site's
// aliases file or the user's .forward), never from the network; the
// network's values reach it only as environment variables.
//
// Differences from qmail, each because goqmail's delivery process outlives
// one delivery: the program gets its own process group, so that a timeout
// (ProgramTimeout) kills everything it started; and its output is captured
// for the report instead of flowing into qmail-local's stdout.
//
// Exit codes (qmail-command(8)): 0 success; 99 success and no further
// lines; 100 and 64, 65, 70, 76, 77, 78, 112 permanent failure; any other
// exit, a signal, or the timeout a temporary failure.
func (d *delivery) runProgram(command string, content *os.File) (programStatus, error) {
	stdin, err := programStdin(content)
	if err != nil {
		return 0, temporary("Unable to rewind message: %v. (#4.3.0)", err)
	}
	defer stdin.Close()

	timeout := time.Duration(d.req.ProgramTimeout) * time.Second
	if timeout <= 0 {
		timeout = d.w.ProgramTimeout
	}
	if timeout <= 0 {
		timeout = DefaultProgramTimeout
	}
	d.w.init()
	if d.w.killed() {
		return 0, temporary("%s", textInterrupted) // a stop came before this line's turn
	}
	ctx, cancel := context.WithTimeout(d.w.kill, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", command)
	cmd.Dir = d.req.Home
	cmd.Env = dotqmail.Env(d.info)
	cmd.Stdin = stdin
	out := &limitedBuffer{limit: maxProgramOutput}
	cmd.Stdout, cmd.Stderr = out, out
	// Its own group, so a timeout or a stop kills everything it started;
	// and the shell dies with this process should it be killed outright.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = outputDrainDelay
	if d.w.drainDelay > 0 {
		cmd.WaitDelay = d.w.drainDelay
	}

	// The user's program gets the kernel's default timer slack, not the
	// one goqmail's programs run with (internal/timerslack).
	err = timerslack.Run(cmd, timerslack.Default)
	printed := cleanOutput(out.bytes())
	if printed != "" {
		d.output = append(d.output, printed)
	}
	if ctx.Err() == context.DeadlineExceeded {
		return 0, temporary("Program timed out after %v. (#4.3.0)", timeout)
	}
	if d.w.killed() && ctx.Err() != nil {
		return 0, temporary("%s", textInterrupted)
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) && !errors.Is(err, exec.ErrWaitDelay) {
		return 0, temporary("Unable to run /bin/sh: %v. (#4.3.0)", cause(err))
	}
	ps := cmd.ProcessState
	if ps == nil {
		return 0, temporary("Unable to run /bin/sh: %v. (#4.3.0)", err)
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 0, temporary("Aack, child crashed. (#4.3.0)")
	}
	switch code := ps.ExitCode(); code {
	case 0:
		return programOK, nil
	case 99:
		return programStop, nil
	case 100, 64, 65, 70, 76, 77, 78, 112:
		return 0, exitFailure(true, printed, fmt.Sprintf("Program refused the message: exit status %d. (#5.0.0)", code))
	default:
		return 0, exitFailure(false, printed, fmt.Sprintf("Program failed temporarily: exit status %d. (#4.0.0)", code))
	}
}

// exitFailure is a program's chosen failure. As in qmail, the program's
// output is the report when it printed something (d.output has it
// already); only a silent program gets our words.
func exitFailure(perm bool, printed, text string) error {
	if printed != "" {
		text = ""
	}
	return &failure{permanent: perm, text: text}
}

// limitedBuffer keeps the first limit bytes written to it and discards the
// rest, so a chatty program is drained instead of blocked.
type limitedBuffer struct {
	mu    sync.Mutex
	limit int
	buf   []byte
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.limit - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (b *limitedBuffer) bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf
}
