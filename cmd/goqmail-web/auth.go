package main

import (
	"context"
	"path/filepath"

	"goqmail/internal/authclient"
	"goqmail/internal/web"
)

// newAuthenticator returns the front's link to goqmail-auth
// (run/auth.sock): web logins that come back with the mailbox session and,
// for an admin role, the admin session (internal/authd/web.go).
func newAuthenticator(root string) web.Authenticator {
	return authAdapter{authclient.Dial(filepath.Join(root, "run", "auth.sock"))}
}

type authAdapter struct{ c *authclient.Client }

func (a authAdapter) OpenWeb(ctx context.Context, login, password, remoteIP string) (web.Login, error) {
	r, err := a.c.OpenWeb(ctx, login, password, remoteIP)
	if err != nil {
		return web.Login{}, err
	}
	return web.Login{OK: r.OK, Temporary: r.Temporary, Text: r.Text, User: r.User,
		Role: r.Role, Domain: r.Domain, Mailbox: r.Mailbox, Admin: r.Admin}, nil
}

func (a authAdapter) ChangePassword(ctx context.Context, login, old, new, remoteIP string) (bool, bool, string, error) {
	r, err := a.c.ChangePassword(ctx, login, old, new, remoteIP)
	if err != nil {
		return false, false, "", err
	}
	return r.OK, r.Temporary, r.Text, nil
}
