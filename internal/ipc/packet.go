package ipc

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Packet sockets (SOCK_SEQPACKET) keep message boundaries and carry file
// descriptors with the message they belong to. The local spawner uses them to
// hand a delivery process an open message file, as qmail-lspawn hands
// qmail-local the message on its standard input.

// SeqpacketPair returns a connected pair of SOCK_SEQPACKET Unix sockets,
// close-on-exec.
func SeqpacketPair() (*os.File, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "seqpacket-a"), os.NewFile(uintptr(fds[1]), "seqpacket-b"), nil
}

// SendPacket sends one frame body, with the given descriptors attached.
func SendPacket(fd int, body []byte, files ...*os.File) error {
	var oob []byte
	if len(files) > 0 {
		fds := make([]int, len(files))
		for i, f := range files {
			fds[i] = int(f.Fd())
		}
		oob = unix.UnixRights(fds...)
	}
	for {
		err := unix.Sendmsg(fd, body, oob, nil, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("sendmsg: %w", err)
		}
		return nil
	}
}

// RecvPacket receives one frame body into buf and returns it with any
// descriptors that came with it (close-on-exec, as files). A zero-length
// read means the peer closed the socket: it returns io.EOF-like ErrClosed.
func RecvPacket(fd int, buf []byte, maxFiles int) ([]byte, []*os.File, error) {
	oob := make([]byte, unix.CmsgSpace(4*maxFiles))
	for {
		n, oobn, flags, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("recvmsg: %w", err)
		}
		var files []*os.File
		if oobn > 0 {
			msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
			if err != nil {
				return nil, nil, fmt.Errorf("control message: %w", err)
			}
			for _, m := range msgs {
				fds, err := unix.ParseUnixRights(&m)
				if err != nil {
					continue
				}
				for _, f := range fds {
					files = append(files, os.NewFile(uintptr(f), "passed"))
				}
			}
		}
		if flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 {
			for _, f := range files {
				f.Close()
			}
			return nil, nil, fmt.Errorf("%w: packet or its descriptors truncated", ErrTooLong)
		}
		if n == 0 && len(files) == 0 {
			return nil, nil, ErrClosed
		}
		if len(files) > maxFiles {
			for _, f := range files {
				f.Close()
			}
			return nil, nil, fmt.Errorf("ipc: %d descriptors, at most %d expected", len(files), maxFiles)
		}
		return buf[:n], files, nil
	}
}

// ErrClosed reports that the peer closed a packet socket.
var ErrClosed = fmt.Errorf("ipc: peer closed the socket")
