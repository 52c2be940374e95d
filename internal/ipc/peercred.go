package ipc

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// Cred is the identity the kernel vouches for on a Unix socket connection.
type Cred struct{ UID, GID, PID int }

// PeerCred returns the credentials of the process at the other end of c
// (SO_PEERCRED, taken when the peer connected). Servers use it to decide
// what a client may do and to record who submitted a message.
func PeerCred(c *net.UnixConn) (Cred, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return Cred{}, fmt.Errorf("peer credentials: %w", err)
	}
	var uc *unix.Ucred
	var serr error
	if err := raw.Control(func(fd uintptr) {
		uc, serr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return Cred{}, fmt.Errorf("peer credentials: %w", err)
	}
	if serr != nil {
		return Cred{}, fmt.Errorf("peer credentials: %w", serr)
	}
	return Cred{UID: int(uc.Uid), GID: int(uc.Gid), PID: int(uc.Pid)}, nil
}
