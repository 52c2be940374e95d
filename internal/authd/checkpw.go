package authd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"

	"goqmail/internal/timerslack"
)

// checkpasswordTimeout bounds one run of the admin's checkpassword program.
const checkpasswordTimeout = 10 * time.Second

// checkpasswordEnv is the whole environment the program gets: nothing from
// the auth service's own environment leaks into it.
var checkpasswordEnv = []string{"PATH=/usr/local/bin:/usr/bin:/bin"}

// runCheckpassword runs program with qmail's checkpassword interface
// (cr.yp.to/checkpwd/interface.html; qmail.md 6.4): fd 3 carries
// "login\0password\0timestamp\0", argv is the program then "true" (the
// program it would exec on success), and the exit status answers:
// 0 = right, 1 = wrong, anything else (2 misuse, 111 temporary, a signal)
// is a temporary failure. For APOP, password is the digest and timestamp
// the greeting's, as qmail-popup passes them.
func runCheckpassword(ctx context.Context, program, login, password, timestamp string) (outcome, error) {
	ctx, cancel := context.WithTimeout(ctx, checkpasswordTimeout)
	defer cancel()
	r, w, err := os.Pipe()
	if err != nil {
		return outTemp, fmt.Errorf("checkpassword: %w", err)
	}
	defer r.Close()
	// The request is far below the pipe's capacity (64 KiB on Linux):
	// write it whole, then close, so the program sees EOF after it.
	data := login + "\x00" + password + "\x00" + timestamp + "\x00"
	_, werr := w.WriteString(data)
	w.Close()
	if werr != nil {
		return outTemp, fmt.Errorf("checkpassword: %w", werr)
	}
	cmd := exec.CommandContext(ctx, program, "true")
	cmd.Env = checkpasswordEnv
	cmd.Dir = "/"
	cmd.ExtraFiles = []*os.File{r}
	cmd.Stderr = os.Stderr
	err = timerslack.Run(cmd, timerslack.Default) // the administrator's program, not goqmail's tuning
	var ee *exec.ExitError
	switch {
	case err == nil:
		return outOK, nil
	case errors.As(err, &ee) && ee.ExitCode() == 1:
		return outBad, nil
	case errors.As(err, &ee):
		return outTemp, fmt.Errorf("checkpassword %s: %v", program, ee.ProcessState)
	default:
		return outTemp, fmt.Errorf("checkpassword %s: %w", program, err)
	}
}
