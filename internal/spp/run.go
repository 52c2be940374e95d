package spp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"syscall"
	"time"

	"goqmail/internal/timerslack"
)

// Bounds on what one plugin may print: qmail-spp's answers are a few
// lines; more is a broken plugin, and is not read.
const (
	maxOutput    = 64 << 10
	maxStderr    = 8 << 10
	cannotExec   = 120 // qmail-spp's exit code for "can't execute"
	shell        = "/bin/sh"
	killedReason = "did not finish within %v; its process group was killed"
)

// errPlugin says why a plugin gave no usable answer (for the log).
type errPlugin struct{ why string }

func (e *errPlugin) Error() string { return e.why }

// run starts one plugin as the current user (smtpd's account) with env,
// in dir, standard input /dev/null, and returns its standard output and
// standard error. It kills the plugin's process group when it takes longer
// than timeout. An exit code other than 0 is no failure (qmail-spp looked
// only at 120 and crashes).
func run(p Plugin, dir string, env map[string]string, timeout time.Duration) (stdout, stderr []byte, err error) {
	var cmd *exec.Cmd
	if p.Shell != "" {
		cmd = exec.Command(shell, "-c", p.Shell)
	} else {
		cmd = exec.Command(p.Path)
	}
	cmd.Dir = dir
	cmd.Env = Environ(env)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A pipe of our own, so reading it can have a deadline: a child that
	// left the process group (setsid) and kept standard output or error
	// open must not hold the session past the timeout.
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	defer outR.Close()
	cmd.Stdout = outW
	var errBuf limitedBuffer
	errBuf.max = maxStderr
	cmd.Stderr = &errBuf
	cmd.WaitDelay = time.Second
	start := time.Now()
	err = timerslack.Start(cmd, timerslack.Default) // the administrator's program, not goqmail's tuning
	outW.Close()
	if err != nil {
		return nil, nil, &errPlugin{fmt.Sprintf("cannot execute: %v", err)}
	}
	timer := time.AfterFunc(timeout, func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	outR.SetReadDeadline(start.Add(timeout + time.Second))
	stdout, rerr := io.ReadAll(io.LimitReader(outR, maxOutput))
	if rerr == nil {
		_, rerr = io.Copy(io.Discard, outR)
	}
	if rerr != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	werr := cmd.Wait()
	expired := !timer.Stop() || errors.Is(rerr, os.ErrDeadlineExceeded)
	// Whatever the plugin left running in its group goes too.
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	var ee *exec.ExitError
	switch {
	case expired:
		return nil, errBuf.Bytes(), &errPlugin{fmt.Sprintf(killedReason, timeout)}
	case errors.As(werr, &ee) && !ee.Exited():
		return nil, errBuf.Bytes(), &errPlugin{"crashed: " + ee.String()}
	case errors.As(werr, &ee) && ee.ExitCode() == cannotExec:
		return nil, errBuf.Bytes(), &errPlugin{"cannot execute (exit 120)"}
	case werr != nil && !errors.As(werr, &ee):
		return nil, errBuf.Bytes(), &errPlugin{werr.Error()}
	}
	return stdout, errBuf.Bytes(), nil
}

// Environ turns the session's variables into an environment, sorted so
// the same session always gives the same one.
func Environ(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// lines splits output into lines without their ends; a last line without
// a line end counts (qmail-spp's getln quietly dropped its last byte).
func lines(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 4096), maxOutput)
	for sc.Scan() {
		out = append(out, strings.TrimSuffix(sc.Text(), "\r"))
	}
	return out
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}
