package authclient

import (
	"context"
	"errors"
	"fmt"
	"net"

	"goqmail/internal/proto"
)

// WebLogin is the answer to a web login. On success Mailbox is the
// mailbox session (goqmail-webmbox, as the mailbox owner) and, when Role
// is set, Admin the admin session (`goqmail admin-session`); both speak
// internal/webrpc and the caller closes them. Role is proto.RoleSite,
// proto.RoleDomain (then Domain names the domain) or "".
type WebLogin struct {
	Result
	Role, Domain string
	Mailbox      net.Conn
	Admin        net.Conn
}

// OpenWeb logs in for the web front. The error is for failures to ask;
// a wrong password is WebLogin{Result: {OK: false}} with no connection.
func (c *Client) OpenWeb(ctx context.Context, login, password, remoteIP string) (WebLogin, error) {
	typ, d, files, err := c.exchange(ctx, proto.OpenWeb{Login: login, Password: password, RemoteIP: remoteIP}.Packet(nil), 2)
	if err != nil {
		return WebLogin{}, err
	}
	defer closeAll(files) // FileConn duplicates what it keeps
	if typ != proto.TWebVerified {
		return WebLogin{}, fmt.Errorf("auth: unexpected frame type %#x", typ)
	}
	v, err := proto.DecodeWebVerified(d)
	if err != nil {
		return WebLogin{}, fmt.Errorf("auth: %w", err)
	}
	if len(files) != v.Descriptors() {
		return WebLogin{}, fmt.Errorf("auth: %d descriptors with a web answer that needs %d", len(files), v.Descriptors())
	}
	w := WebLogin{Result: v.Verified, Role: v.Role, Domain: v.Domain}
	if !v.OK {
		return w, nil
	}
	if w.Mailbox, err = net.FileConn(files[0]); err != nil {
		return WebLogin{}, fmt.Errorf("auth: mailbox session descriptor: %w", err)
	}
	if len(files) == 2 {
		if w.Admin, err = net.FileConn(files[1]); err != nil {
			w.Mailbox.Close()
			return WebLogin{}, fmt.Errorf("auth: admin session descriptor: %w", err)
		}
	}
	return w, nil
}

// ChangePassword replaces a virtual user's password after checking the
// old one (slowed like a login). A system user's answer is a refusal that
// says to use passwd on the server; an unacceptable new password is a
// refusal whose Text says why.
func (c *Client) ChangePassword(ctx context.Context, login, old, new, remoteIP string) (Result, error) {
	r, f, err := c.roundTrip(ctx, proto.ChangePassword{Login: login, Old: old, New: new, RemoteIP: remoteIP}.Packet(nil))
	if f != nil {
		f.Close()
		return Result{}, errors.New("auth: unexpected descriptor in a ChangePassword answer")
	}
	return r, err
}
