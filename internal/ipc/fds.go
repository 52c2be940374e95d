package ipc

import (
	"fmt"
	"net"
	"os"
	"strconv"
)

// InheritedListener turns descriptor fd, handed over by the supervisor, into
// a listener.
func InheritedListener(fd int, name string) (net.Listener, error) {
	f := os.NewFile(uintptr(fd), name)
	if f == nil {
		return nil, fmt.Errorf("descriptor %d (%s) is not open", fd, name)
	}
	defer f.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("descriptor %d (%s): %w", fd, name, err)
	}
	return ln, nil
}

// EnvUID reads a number the supervisor passed in the environment (a uid to
// check peers against, or GOQMAIL_FDS); -1 when unset: no check, as when
// everything runs as one user.
func EnvUID(name string) int {
	v, err := strconv.Atoi(os.Getenv(name))
	if err != nil {
		return -1
	}
	return v
}
