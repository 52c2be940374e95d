package smtpd

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	"goqmail/internal/smtp"
)

var (
	replyReadyTLS     = smtp.Reply{Code: 220, Enh: "2.0.0", Text: "ready to start TLS"}
	replyTLSAgain     = smtp.Reply{Code: 503, Enh: "5.5.1", Text: "TLS already started"}
	replyTLSInjection = smtp.Reply{Code: 554, Enh: "5.5.1", Text: "protocol error: data sent after STARTTLS before the TLS handshake; closing connection"}
)

// tlsOffered: STARTTLS is advertised when a certificate exists and the
// connection is a network one still in plain text.
func (s *session) tlsOffered() bool {
	return s.cfg.TLS != nil && !s.tls && !s.stdio
}

// injectedAfterSTARTTLS: bytes that came after STARTTLS before our 220
// were sent in plain text, maybe by a man in the middle rather than the
// client (CVE-2011-0411, command injection). They are looked for both in
// our buffer and in the socket's; the session then ends (loop) instead of
// reading them as if they had come over TLS.
func (s *session) injectedAfterSTARTTLS() bool {
	return s.br.Buffered() > 0 || peekNow(s.conn)
}

// startTLS runs STARTTLS (RFC 3207). After the
// handshake everything learnt before it is forgotten (RFC 3207 section
// 4.2): HELO, the transaction, a login. What the client's IP earned
// (tcp.smtp, POP-before-SMTP) and the session's failure counts stay.
func (s *session) startTLS(arg string) {
	switch {
	case s.tls:
		s.reply(replyTLSAgain)
		return
	case !s.tlsOffered():
		s.junk++
		s.reply(replyUnimpl)
		return
	case arg != "":
		s.reply(replyNoArgs)
		return
	}
	s.reply(replyReadyTLS)
	if err := s.flush(); err != nil {
		s.end = "write error"
		s.closed = true
		return
	}
	if err := s.handshake(); err != nil {
		s.srv.Log.Printf("%s: %v", s.remote, err)
		s.end = "TLS handshake failed"
		s.closed = true
		return
	}
	s.helo, s.esmtp, s.tx = "", false, nil
	s.authUser, s.authOwns = "", nil
}

// handshake turns the connection into a TLS server connection and points
// the session's reader and writer at it. The reader is reset, so no byte
// read before the handshake can be taken for one sent after it.
func (s *session) handshake() error {
	tc := tls.Server(s.conn, s.cfg.TLS)
	perRead, _ := s.timeouts()
	deadline := time.Now().Add(perRead)
	tc.SetDeadline(deadline)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("TLS handshake: %w", err)
	}
	tc.SetDeadline(time.Time{})
	s.conn = tc
	s.br.Reset(deadlineConn{s})
	s.bw.Reset(tc)
	s.tls = true
	st := tc.ConnectionState()
	s.srv.Log.Printf("%s: TLS %s %s", s.remote, tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite))
	return nil
}

// implicitTLS starts TLS before the greeting on an smtps listener (RFC
// 8314 section 3.3). Without a certificate there is nothing to say: the
// connection is closed and the administrator told.
func (s *session) implicitTLS() bool {
	if s.cfg.TLS == nil {
		s.srv.Log.Printf("warning: %s: smtps connection but no certificate (control/servercert.pem); closing", s.remote)
		s.end = "no TLS certificate"
		return false
	}
	if err := s.handshake(); err != nil {
		s.srv.Log.Printf("%s: %v", s.remote, err)
		s.end = "TLS handshake failed"
		return false
	}
	return true
}
