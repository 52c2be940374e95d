package main

import (
	"context"
	"errors"
	"net"

	"goqmail/internal/authclient"
	"goqmail/internal/pop3"
	"goqmail/internal/proto"
)

// authClient asks goqmail-auth (ROOT/run/auth.sock) to check a login and
// start the mailbox session as the mailbox's owner; it returns the
// session's end of the socketpair the auth service passes back. A wrong
// password or unknown user is pop3.ErrAuthFailed (the same answer for
// both); a failure of the service itself is a temporary error.
type authClient struct {
	c *authclient.Client
}

func newAuthClient(socket string) *authClient { return &authClient{c: authclient.Dial(socket)} }

func (a *authClient) Login(ctx context.Context, user, password, remoteIP string) (net.Conn, error) {
	return a.open(ctx, proto.OpenMailbox{Login: user, Password: password, RemoteIP: remoteIP})
}

func (a *authClient) APOP(ctx context.Context, user, timestamp, digest, remoteIP string) (net.Conn, error) {
	return a.open(ctx, proto.OpenMailbox{Login: user, Timestamp: timestamp, Digest: digest, RemoteIP: remoteIP})
}

func (a *authClient) open(ctx context.Context, m proto.OpenMailbox) (net.Conn, error) {
	conn, res, err := a.c.OpenMailbox(ctx, m)
	switch {
	case err != nil:
		return nil, err
	case res.OK && conn != nil:
		return conn, nil
	case res.Temporary:
		return nil, errors.New("auth service: " + res.Text)
	}
	return nil, pop3.ErrAuthFailed
}
