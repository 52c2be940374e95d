// Package authclient is how goqmail-smtpd and goqmail-pop3d ask the auth
// service (goqmail-auth, internal/authd) about a login: one connection to
// run/auth.sock (SOCK_SEQPACKET) per request, one request packet, one
// answer packet, plus a descriptor for a successful OpenMailbox.
package authclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"goqmail/internal/ipc"
	"goqmail/internal/proto"
)

// Result is the service's answer: OK, or a failure (Temporary = the service
// could not decide; say "try again later", not "wrong password").
type Result = proto.Verified

// DefaultTimeout bounds a request whose context has no deadline. The
// service sleeps up to 10 s before answering a failure, so it is generous.
const DefaultTimeout = 30 * time.Second

// Client talks to the auth service at one socket path. It is safe for
// concurrent use: it holds no connection between requests.
type Client struct{ path string }

// Dial returns a client for the socket at path; nothing is connected yet.
func Dial(path string) *Client { return &Client{path: path} }

// Verify checks login/password for service (proto.ServiceSMTP or
// proto.ServicePOP3) on behalf of the client at remoteIP. The error is for
// failures to ask (socket, protocol); a wrong password is Result{OK: false}.
func (c *Client) Verify(ctx context.Context, service, login, password, remoteIP string) (Result, error) {
	r, f, err := c.roundTrip(ctx, proto.Verify{Service: service, Login: login, Password: password, RemoteIP: remoteIP}.Packet(nil))
	if f != nil {
		f.Close()
		return Result{}, errors.New("auth: unexpected descriptor in a Verify answer")
	}
	return r, err
}

// APOP checks an APOP digest (RFC 1939 section 7).
func (c *Client) APOP(ctx context.Context, login, timestamp, digest, remoteIP string) (Result, error) {
	r, f, err := c.roundTrip(ctx, proto.APOP{Login: login, Timestamp: timestamp, Digest: digest, RemoteIP: remoteIP}.Packet(nil))
	if f != nil {
		f.Close()
		return Result{}, errors.New("auth: unexpected descriptor in an APOP answer")
	}
	return r, err
}

// OpenMailbox logs in for POP3 (password, or APOP when m.Timestamp is set)
// and, on success, returns a connection to the mailbox session the service
// started as the mailbox owner. The caller closes it.
func (c *Client) OpenMailbox(ctx context.Context, m proto.OpenMailbox) (net.Conn, Result, error) {
	r, f, err := c.roundTrip(ctx, m.Packet(nil))
	if err != nil {
		return nil, r, err
	}
	if !r.OK {
		if f != nil {
			f.Close()
		}
		return nil, r, nil
	}
	if f == nil {
		return nil, r, errors.New("auth: mailbox opened but no session descriptor came with the answer")
	}
	defer f.Close()
	conn, err := net.FileConn(f)
	if err != nil {
		return nil, r, fmt.Errorf("auth: session descriptor: %w", err)
	}
	return conn, r, nil
}

// errClosed: the service hung up without answering (it refused our uid,
// or could not decode the request).
var errClosed = errors.New("auth: the service closed the connection without answering")

func (c *Client) roundTrip(ctx context.Context, req []byte) (Result, *os.File, error) {
	typ, d, files, err := c.exchange(ctx, req, 1)
	if err != nil {
		return Result{}, nil, err
	}
	var f *os.File
	if len(files) == 1 {
		f = files[0]
	}
	fail := func(err error) (Result, *os.File, error) {
		if f != nil {
			f.Close()
		}
		return Result{}, nil, err
	}
	if typ != proto.TVerified {
		return fail(fmt.Errorf("auth: unexpected frame type %#x", typ))
	}
	r, err := proto.DecodeVerified(d)
	if err != nil {
		return fail(fmt.Errorf("auth: %w", err))
	}
	return r, f, nil
}

// exchange sends one request packet and reads one answer packet with at
// most maxFiles descriptors (any more, and the answer, are refused).
func (c *Client) exchange(ctx context.Context, req []byte, maxFiles int) (byte, *ipc.Decoder, []*os.File, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	var dialer net.Dialer
	nc, err := dialer.DialContext(ctx, "unixpacket", c.path)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("auth: %w", err)
	}
	conn := nc.(*net.UnixConn)
	defer conn.Close()
	dl, _ := ctx.Deadline()
	conn.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, _, err := conn.WriteMsgUnix(req, nil, nil); err != nil {
		return 0, nil, nil, fmt.Errorf("auth: send: %w", err)
	}
	buf := make([]byte, proto.MaxAuthPkt)
	// Room for one descriptor more than allowed, so that too many is seen
	// (MSG_CTRUNC would otherwise close the extras silently).
	oob := make([]byte, unix.CmsgSpace(4*(maxFiles+1)))
	n, oobn, flags, _, err := conn.ReadMsgUnix(buf, oob)
	if errors.Is(err, io.EOF) {
		return 0, nil, nil, errClosed
	}
	if err != nil {
		return 0, nil, nil, fmt.Errorf("auth: receive: %w", err)
	}
	var files []*os.File
	if oobn > 0 {
		files, err = takeFiles(oob[:oobn], maxFiles)
		if err != nil {
			return 0, nil, nil, err
		}
	}
	fail := func(err error) (byte, *ipc.Decoder, []*os.File, error) {
		closeAll(files)
		return 0, nil, nil, err
	}
	if flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 {
		return fail(fmt.Errorf("auth: %w: answer truncated", ipc.ErrTooLong))
	}
	if n == 0 {
		return fail(errClosed)
	}
	typ, d, err := ipc.NewDecoder(buf[:n])
	if err != nil {
		return fail(fmt.Errorf("auth: %w", err))
	}
	return typ, d, files, nil
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// takeFiles takes the descriptors of a control message, at most max of
// them; with more, all are closed and the answer refused.
func takeFiles(oob []byte, max int) ([]*os.File, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("auth: control message: %w", err)
	}
	var fds []int
	for i := range msgs {
		got, err := unix.ParseUnixRights(&msgs[i])
		if err == nil {
			fds = append(fds, got...)
		}
	}
	if len(fds) == 0 || len(fds) > max {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("auth: %d descriptors in an answer, want at most %d", len(fds), max)
	}
	files := make([]*os.File, len(fds))
	for i, fd := range fds {
		unix.CloseOnExec(fd)
		files[i] = os.NewFile(uintptr(fd), "session")
	}
	return files, nil
}
