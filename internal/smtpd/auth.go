package smtpd

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net/netip"
	"os"
	"strings"
	"time"

	"goqmail/internal/metrics"
	"goqmail/internal/smtp"
)

// Authenticator verifies a login for SMTP AUTH. In goqmail it is the auth
// service (goqmail-auth over run/auth.sock, which also slows down repeated
// failures); tests use a fake. service is "smtp". A wrong password and an
// unknown user are both a Result with OK false; an error means the answer
// is unknown (service down), and the client is told to try again later.
type Authenticator interface {
	Verify(ctx context.Context, service, login, password, remoteIP string) (AuthResult, error)
}

// AuthResult is the answer for one login. User names the account for the
// log and the Received line; Owns lists the envelope senders it may use.
type AuthResult struct {
	OK   bool
	User string
	Owns []string
}

// RelayGrants tells whether a client IP has a live POP-before-SMTP grant
// (a recent successful mailbox login from it). An error is logged and
// counts as no grant.
type RelayGrants interface {
	Allowed(ip netip.Addr, now time.Time) (bool, error)
}

// authService is the service name smtpd gives the Authenticator.
const authService = "smtp"

// Limits of the AUTH exchange.
const (
	maxAuthFailures = 3     // failed logins per session; the last one ends it
	maxAuthLine     = 12288 // RFC 4954 section 4: at least 12288 octets per line
	maxLoginLen     = 255
	maxPasswordLen  = 1024
	// maxVerifyWait bounds one Verify: the auth service delays failures
	// on purpose, but a client should not wait timeoutsmtpd (20 minutes).
	maxVerifyWait = time.Minute
)

var (
	replyAuthOK        = smtp.Reply{Code: 235, Enh: "2.7.0", Text: "authentication successful"}
	replyAuthBad       = smtp.Reply{Code: 535, Enh: "5.7.8", Text: "authentication credentials invalid"}
	replyAuthTemp      = smtp.Reply{Code: 454, Enh: "4.7.0", Text: "temporary authentication failure; try again later"}
	replyAuthTooMany   = smtp.Reply{Code: 421, Enh: "4.7.0", Text: "too many failed authentication attempts; closing connection"}
	replyAuthNeedsTLS  = smtp.Reply{Code: 538, Enh: "5.7.11", Text: "encryption required for authentication; use STARTTLS first"}
	replyAuthTwice     = smtp.Reply{Code: 503, Enh: "5.5.1", Text: "already authenticated"}
	replyAuthInMail    = smtp.Reply{Code: 503, Enh: "5.5.1", Text: "AUTH is not allowed during a mail transaction"}
	replyAuthEHLO      = smtp.Reply{Code: 503, Enh: "5.5.1", Text: "EHLO first"}
	replyAuthMech      = smtp.Reply{Code: 504, Enh: "5.5.4", Text: "unrecognized authentication mechanism; PLAIN and LOGIN are offered"}
	replyAuthSyntax    = smtp.Reply{Code: 501, Enh: "5.5.4", Text: "syntax: AUTH mechanism [initial-response]"}
	replyAuthCancelled = smtp.Reply{Code: 501, Enh: "5.0.0", Text: "authentication cancelled"}
	replyAuthBase64    = smtp.Reply{Code: 501, Enh: "5.5.2", Text: "cannot decode the base64 response"}
	replyAuthPlainForm = smtp.Reply{Code: 501, Enh: "5.5.2", Text: "malformed PLAIN response"}
	replyAuthLineLong  = smtp.Reply{Code: 500, Enh: "5.5.6", Text: "authentication exchange line too long"}
)

// authOffered: AUTH is advertised and accepted only where a password does
// not cross the network in the clear (RFC 4954 section 4, RFC 8314), unless
// control/authplaintext says the administrator accepts that risk.
func (s *session) authOffered() bool {
	return s.srv.Auth != nil && !s.stdio && (s.tls || s.cfg.AuthPlaintext)
}

// authenticated: the client logged in during this session.
func (s *session) authenticated() bool { return s.authUser != "" }

// auth runs the AUTH command (RFC 4954) with the PLAIN (RFC 4616) and
// LOGIN (draft-murchison-sasl-login) mechanisms.
func (s *session) auth(arg string) {
	switch {
	case s.srv.Auth == nil || s.stdio:
		s.junk++
		s.reply(replyUnimpl)
		return
	case !s.authOffered():
		s.reply(replyAuthNeedsTLS)
		return
	case !s.esmtp:
		s.reply(replyAuthEHLO)
		return
	case s.authenticated():
		s.reply(replyAuthTwice)
		return
	case s.tx != nil:
		s.reply(replyAuthInMail)
		return
	}
	mech, initial, _ := strings.Cut(arg, " ")
	if mech == "" || strings.Contains(initial, " ") {
		s.reply(replyAuthSyntax)
		return
	}
	var login, password string
	var r smtp.Reply
	switch strings.ToUpper(mech) {
	case "PLAIN":
		login, password, r = s.authPlain(initial)
	case "LOGIN":
		login, password, r = s.authLogin(initial)
	default:
		s.reply(replyAuthMech)
		return
	}
	if s.closed {
		return
	}
	if r.Code != 0 {
		s.reply(r)
		return
	}
	s.verify(login, password)
}

// authPlain reads "authzid NUL authcid NUL passwd" (RFC 4616 section 2).
// An authorization identity other than the login itself is refused: nobody
// may act for another user here.
func (s *session) authPlain(initial string) (login, password string, r smtp.Reply) {
	data, r := s.authResponse(initial, "")
	if r.Code != 0 || s.closed {
		return "", "", r
	}
	parts := bytes.Split(data, []byte{0})
	if len(parts) != 3 {
		return "", "", replyAuthPlainForm
	}
	if len(parts[0]) > 0 && string(parts[0]) != string(parts[1]) {
		return "", "", replyAuthBad
	}
	return string(parts[1]), string(parts[2]), smtp.Reply{}
}

// authLogin asks for the user name and the password, each base64 encoded
// ("Username:", "Password:"); the user name may come with the command.
func (s *session) authLogin(initial string) (login, password string, r smtp.Reply) {
	user, r := s.authResponse(initial, "VXNlcm5hbWU6")
	if r.Code != 0 || s.closed {
		return "", "", r
	}
	pass, r := s.authResponse("", "UGFzc3dvcmQ6")
	if r.Code != 0 || s.closed {
		return "", "", r
	}
	return string(user), string(pass), smtp.Reply{}
}

// authChallenge is the server's turn in an AUTH exchange (RFC 4954
// section 4): 334, a space and the base64 challenge, which is empty for
// PLAIN. It is no Reply: Reply leaves out the space before empty text.
func authChallenge(challenge string) string { return "334 " + challenge + "\r\n" }

// authResponse returns the decoded initial response if the client gave one
// ("=" is an empty one, RFC 4954 section 4), else sends the challenge with
// 334 and reads the client's line. "*" cancels the exchange.
func (s *session) authResponse(initial, challenge string) ([]byte, smtp.Reply) {
	line := initial
	if line == "" {
		s.bw.WriteString(authChallenge(challenge))
		if err := s.flush(); err != nil {
			s.end = "write error"
			s.closed = true
			return nil, smtp.Reply{}
		}
		b, err := smtp.ReadLine(s.br, maxAuthLine)
		switch {
		case err == nil:
		case errors.Is(err, smtp.ErrLineTooLong):
			return nil, replyAuthLineLong
		case errors.Is(err, smtp.ErrBadChar):
			return nil, replyAuthBase64
		case errors.Is(err, os.ErrDeadlineExceeded):
			s.end = "timeout during AUTH"
			s.replyClose(replyTimeout)
			return nil, smtp.Reply{}
		default:
			s.end = "client disconnected during AUTH"
			s.closed = true
			return nil, smtp.Reply{}
		}
		line = strings.TrimRight(string(b), " ")
		if line == "" {
			// An empty line is no base64 at all; "=" is the empty response.
			return nil, replyAuthBase64
		}
	}
	if line == "*" {
		return nil, replyAuthCancelled
	}
	if line == "=" {
		return []byte{}, smtp.Reply{}
	}
	data, err := base64.StdEncoding.DecodeString(line)
	if err != nil {
		return nil, replyAuthBase64
	}
	return data, smtp.Reply{}
}

// verify asks the Authenticator and answers. Unknown users and wrong
// passwords get the same 535 (RFC 4954 section 6, and no user
// enumeration); the third failure in a session ends it, and the auth
// service slows each one down besides.
func (s *session) verify(login, password string) {
	if !plausibleLogin(login) || password == "" || len(password) > maxPasswordLen {
		s.authFailed(login, "malformed login or password")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), min(s.cfg.Timeout, maxVerifyWait))
	defer cancel()
	ctx, stop := s.watchHangup(ctx)
	res, err := s.srv.Auth.Verify(ctx, authService, login, password, s.remote.Addr().String())
	stop()
	switch {
	case s.hungUp:
		// Nobody to answer; the session's slot is free at once.
		s.end = "client disconnected during authentication"
		s.closed = true
	case err != nil:
		s.srv.Log.Printf("warning: %s: cannot verify login %s: %v", s.remote, safe(login, 100), err)
		s.srv.Metrics.Inc(metrics.AuthAttempts, "smtp", "error")
		s.reply(replyAuthTemp)
	case !res.OK:
		s.srv.Metrics.Inc(metrics.AuthAttempts, "smtp", "failure")
		s.authFailed(login, "bad credentials")
	default:
		s.srv.Metrics.Inc(metrics.AuthAttempts, "smtp", "success")
		s.authUser, s.authOwns = res.User, res.Owns
		if s.authUser == "" {
			s.authUser = login
		}
		s.srv.Log.Printf("%s: authenticated user %s (login %s)", s.remote, safe(s.authUser, 100), safe(login, 100))
		s.reply(replyAuthOK)
	}
}

func (s *session) authFailed(login, why string) {
	s.authFailures++
	s.srv.Log.Printf("%s: authentication failed for login %s: %s (%d of %d)", s.remote, safe(login, 100), why, s.authFailures, maxAuthFailures)
	if s.authFailures >= maxAuthFailures {
		s.end = "dropped: too many failed logins"
		s.replyClose(replyAuthTooMany)
		return
	}
	s.reply(replyAuthBad)
}

// plausibleLogin: a user name is printable and of sane length; anything
// else is refused here, never passed to the auth service.
func plausibleLogin(login string) bool {
	if login == "" || len(login) > maxLoginLen {
		return false
	}
	for i := 0; i < len(login); i++ {
		if c := login[i]; c < 0x21 || c == 0x7f {
			return false
		}
	}
	return true
}

// checkGrant asks whether the client's IP has a live POP-before-SMTP
// grant, once per connection: a grant that expires during the session
// still covers it, as relay-ctrl's tcpserver environment did.
func (s *session) checkGrant() {
	if s.relayClient || s.srv.Grants == nil {
		return
	}
	ok, err := s.srv.Grants.Allowed(s.remote.Addr(), s.srv.Now())
	if err != nil {
		s.srv.Log.Printf("warning: %s: cannot read relay grants: %v", s.remote, err)
		return
	}
	if ok {
		s.relayGrant = true
		s.srv.Log.Printf("%s: relaying allowed by a POP-before-SMTP grant", s.remote)
	}
}
