package ipc

import (
	"errors"
	"fmt"
	"net"
	"time"

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

// ServeOne accepts connections on ln one at a time, refuses (closes) any
// whose peer is not uid (uid < 0: anyone, single-user mode), and runs
// serve on the others until it returns; it returns nil once ln is closed.
// The spawners (local and remote) serve send this way: one connection, the
// newest, at a time. refused reports a refused peer, for the log.
func ServeOne(ln *net.UnixListener, uid int, serve func(*net.UnixConn), refused func(Cred, error)) error {
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			time.Sleep(100 * time.Millisecond) // EMFILE and the like: let others finish
			continue
		}
		cred, err := PeerCred(c)
		if err != nil || (uid >= 0 && cred.UID != uid) {
			refused(cred, err)
			c.Close()
			continue
		}
		serve(c)
		c.Close()
	}
}
