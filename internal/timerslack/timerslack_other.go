//go:build !linux

package timerslack

import (
	"os/exec"
	"time"
)

func start(cmd *exec.Cmd, _ time.Duration) error { return cmd.Start() }
