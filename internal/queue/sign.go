package queue

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"goqmail/internal/ipc"
	"goqmail/internal/proto"
)

// DKIM signing happens here, as a message is queued, because the queue is
// the one place every submission meets: smtpd's, goqmail-sendmail's,
// goqmail-local's forwards and the queue's own bounces. The queue parses
// nothing for it: it copies the content it writes to goqmail-dkimsign
// (run/dkimsign.sock) and puts the field it gets back on top of the
// message, in the prefix (files.go). Which submissions are signed is
// decided from facts the queue already has (handleSubmit): everything not
// from the network (sendmail, forwards, bounces), and network mail only
// when smtpd marks it (an authenticated or relay client; proto.Begin.Sign,
// believed only from smtpd's uid). The signer picks the key by the From:
// domain, or signs nothing (docs/outbound.md).

// Signer reaches the DKIM signer.
type Signer interface {
	// Enabled says whether any domain has a key (control/dkimkeys): when
	// none does, no message is sent to the signer.
	Enabled() bool
	// Start opens a signing request for message id.
	Start(id string) (SignStream, error)
}

// SignStream is one message on its way to the signer.
type SignStream interface {
	Write(p []byte) error
	// Finish ends the message and returns the DKIM-Signature field (LF
	// line ends), or nil when the signer signs nothing for it.
	Finish(timeout time.Duration) ([]byte, error)
	Close()
}

// ErrSigner marks a failure to reach or use the signer: the message is
// refused for now (fail closed) rather than sent unsigned.
var ErrSigner = errors.New("DKIM signer")

// signTimeout bounds the signer's answer after the message's end.
const signTimeout = 30 * time.Second

// SocketSigner is the Signer on run/dkimsign.sock.
type SocketSigner struct {
	Path    string
	enabled atomic.Bool
}

// SetEnabled records whether control/dkimkeys lists a domain.
func (s *SocketSigner) SetEnabled(on bool) { s.enabled.Store(on) }

func (s *SocketSigner) Enabled() bool { return s.enabled.Load() }

func (s *SocketSigner) Start(id string) (SignStream, error) {
	c, err := net.DialTimeout("unix", s.Path, 10*time.Second)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSigner, err)
	}
	st := &socketStream{c: c, w: bufio.NewWriterSize(c, proto.MaxChunk+64)}
	c.SetWriteDeadline(time.Now().Add(time.Minute))
	if _, err := st.w.Write(proto.SignBegin{ID: id}.Encode(nil)); err != nil {
		c.Close()
		return nil, fmt.Errorf("%w: %w", ErrSigner, err)
	}
	return st, nil
}

type socketStream struct {
	c   net.Conn
	w   *bufio.Writer
	buf []byte
}

func (s *socketStream) Write(p []byte) error {
	s.c.SetWriteDeadline(time.Now().Add(time.Minute))
	for len(p) > 0 {
		n := min(len(p), proto.MaxChunk)
		s.buf = proto.EncodeData(s.buf, p[:n])
		if _, err := s.w.Write(s.buf); err != nil {
			return fmt.Errorf("%w: %w", ErrSigner, err)
		}
		p = p[n:]
	}
	return nil
}

func (s *socketStream) Finish(timeout time.Duration) ([]byte, error) {
	s.c.SetWriteDeadline(time.Now().Add(time.Minute))
	s.w.Write(proto.EncodeSignEnd(nil))
	if err := s.w.Flush(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSigner, err)
	}
	s.c.SetReadDeadline(time.Now().Add(timeout))
	typ, d, err := ipc.NewReader(s.c, proto.MaxSignature+4*proto.MaxAddr+proto.MaxText+64).Next()
	if err == nil && typ != proto.TSigned {
		err = fmt.Errorf("unexpected frame type %#x", typ)
	}
	var res proto.Signed
	if err == nil {
		res, err = proto.DecodeSigned(d)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: no answer: %w", ErrSigner, err)
	}
	if res.Field == "" {
		return nil, nil
	}
	return []byte(res.Field), nil
}

func (s *socketStream) Close() { s.c.Close() }
