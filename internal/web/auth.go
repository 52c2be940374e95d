package web

import (
	"context"
	"net"
)

// Authenticator is the front's view of goqmail-auth (run/auth.sock). The
// lead's adapter over internal/authclient implements it in
// cmd/goqmail-web; tests use a fake.
//
// An error means the service could not be asked (socket, protocol): the
// front answers "try again later" (503). A wrong password is a Login with
// OK false and no error.
type Authenticator interface {
	// OpenWeb checks login/password for the web and, when they are right,
	// returns the connections to the mailbox session and, for a login
	// with an admin role, the admin session. The front owns the conns
	// from then on and closes them when the web session ends.
	OpenWeb(ctx context.Context, login, password, remoteIP string) (Login, error)
	// ChangePassword sets a new password after checking the old one.
	// ok false with temporary false: the old password is wrong or the new
	// one is refused (text says why); temporary: try again later.
	ChangePassword(ctx context.Context, login, old, new, remoteIP string) (ok, temporary bool, text string, err error)
}

// Login is goqmail-auth's answer to a web login.
type Login struct {
	OK, Temporary bool
	Text          string // why it failed, for the user
	User          string // the canonical login ("bob@example.com" or "bob")
	Role          string // "site", "domain" or "" (no admin session)
	Domain        string // the domain of a "domain" role
	Mailbox       net.Conn
	Admin         net.Conn // nil without an admin role
}
