package pop3

import (
	"bufio"
	"errors"
	"net"
	"os"
	"time"
)

// relay connects the client to its mailbox session until the session ends.
// Client bytes already read ahead (commands pipelined after PASS) go first.
// When the client half-closes, the session sees EOF on its input but can
// still answer; when the client goes silent for timeout, both sides are
// closed, which the session takes as a dropped connection (nothing
// deleted). The session ending (after QUIT, or refusing with [IN-USE]) ends
// the client connection.
func relay(client net.Conn, br *bufio.Reader, bw *bufio.Writer, sess net.Conn, timeout time.Duration) {
	defer sess.Close()
	client.SetWriteDeadline(time.Now().Add(timeout))
	if bw.Flush() != nil {
		return
	}
	upDone := make(chan struct{})
	go func() {
		defer close(upDone)
		buf := make([]byte, 32<<10)
		for {
			client.SetReadDeadline(time.Now().Add(timeout))
			n, err := br.Read(buf)
			if n > 0 {
				if _, werr := sess.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				if errors.Is(err, os.ErrDeadlineExceeded) {
					sess.Close() // autologout: the session drops, nothing changes
				} else {
					closeWrite(sess)
				}
				return
			}
		}
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := sess.Read(buf)
		if n > 0 {
			client.SetWriteDeadline(time.Now().Add(timeout))
			if _, werr := client.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	closeWrite(client)
	client.Close() // unblocks the reader goroutine
	<-upDone
}

// closeWrite half-closes a connection that supports it (TCP, Unix sockets,
// TLS's close_notify); others are left for the final Close.
func closeWrite(c net.Conn) {
	if hc, ok := c.(interface{ CloseWrite() error }); ok {
		hc.CloseWrite()
	}
}
