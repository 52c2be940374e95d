package proto

import (
	"fmt"

	"goqmail/internal/ipc"
)

// Web logins on run/auth.sock (issue 15): goqmail-web asks goqmail-auth,
// as pop3d does, and never sees a password file or a mailbox.
//
//	auth    (run/auth.sock)     web -> auth: OpenWeb | ChangePassword; auth -> web: WebVerified (+ mailbox fd [+ admin fd]) | Verified
const (
	TOpenWeb        byte = 0x54
	TChangePassword byte = 0x55
	TWebVerified    byte = 0x56
)

// ServiceWeb names web logins in throttling and logs. They share the
// per-address and per-account slowing of SMTP AUTH and POP3 and grant no
// POP-before-SMTP relaying.
const ServiceWeb = "web"

// Web roles, decided by goqmail-auth at login (internal/webadmin/ops.go).
const (
	RoleNone   = ""
	RoleSite   = "site"   // the login is listed in control/webadmins
	RoleDomain = "domain" // the login is postmaster@Domain of a virtual domain
)

// OpenWeb is a web login: when it succeeds the service starts the mailbox
// session (and for a role the admin session) and passes their ends back.
type OpenWeb struct {
	Login    string
	Password string // never logged
	RemoteIP string
}

func (m OpenWeb) Packet(buf []byte) []byte {
	return ipc.New(TOpenWeb, buf).String(m.Login).String(m.Password).String(m.RemoteIP).Body()
}

func DecodeOpenWeb(d *ipc.Decoder) (OpenWeb, error) {
	m := OpenWeb{Login: d.String(MaxLogin), Password: d.String(MaxPassword), RemoteIP: d.String(MaxAuthIP)}
	if err := d.End(); err != nil {
		return m, err
	}
	return m, checkCreds(m.Login, m.Password, m.RemoteIP)
}

// ChangePassword replaces a virtual user's password after checking the
// old one (with the same slowing as a login). The answer is Verified.
type ChangePassword struct {
	Login    string
	Old, New string // never logged
	RemoteIP string
}

func (m ChangePassword) Packet(buf []byte) []byte {
	return ipc.New(TChangePassword, buf).String(m.Login).String(m.Old).String(m.New).String(m.RemoteIP).Body()
}

func DecodeChangePassword(d *ipc.Decoder) (ChangePassword, error) {
	m := ChangePassword{Login: d.String(MaxLogin), Old: d.String(MaxPassword), New: d.String(MaxPassword), RemoteIP: d.String(MaxAuthIP)}
	if err := d.End(); err != nil {
		return m, err
	}
	if err := checkCreds(m.Login, m.Old, m.RemoteIP); err != nil {
		return m, err
	}
	if m.New == "" {
		return m, fmt.Errorf("%w: empty new password", ErrBadField)
	}
	return m, checkCreds(m.Login, m.New, m.RemoteIP)
}

// WebVerified answers OpenWeb: Verified, and for a successful login with
// an admin role the role and, for RoleDomain, the domain. A successful
// answer carries the mailbox session's descriptor, and a second one (the
// admin session) exactly when Role is set.
type WebVerified struct {
	Verified
	Role   string
	Domain string
}

func (m WebVerified) Packet(buf []byte) []byte {
	v := m.Verified
	e := ipc.New(TWebVerified, buf).Bool(v.OK).Bool(v.Temporary).String(v.User).String(v.Kind).Uint(uint64(len(v.Owns)))
	for _, a := range v.Owns {
		e.String(a)
	}
	return e.String(authText(v.Text)).String(m.Role).String(m.Domain).Body()
}

func DecodeWebVerified(d *ipc.Decoder) (WebVerified, error) {
	var m WebVerified
	v := Verified{OK: d.Bool(), Temporary: d.Bool(), User: d.String(MaxLogin), Kind: d.String(16)}
	n := d.UintMax(MaxOwns)
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		v.Owns = append(v.Owns, d.String(MaxAddr))
	}
	v.Text = authText(d.String(MaxText))
	m.Role, m.Domain = d.String(16), d.String(MaxAddr)
	if err := d.End(); err != nil {
		return m, err
	}
	// Re-check the Verified part with its own rules.
	again := v.Packet(nil)
	_, d2, err := ipc.NewDecoder(again)
	if err != nil {
		return m, err
	}
	if m.Verified, err = DecodeVerified(d2); err != nil {
		return m, err
	}
	switch {
	case m.Role != RoleNone && m.Role != RoleSite && m.Role != RoleDomain:
		return m, fmt.Errorf("%w: web role %q", ErrBadField, m.Role)
	case m.Role != RoleNone && !m.OK:
		return m, fmt.Errorf("%w: a role in a failed answer", ErrBadField)
	case (m.Role == RoleDomain) != (m.Domain != ""):
		return m, fmt.Errorf("%w: domain %q with role %q", ErrBadField, m.Domain, m.Role)
	}
	return m, CheckAddr(m.Domain)
}

// Descriptors is how many descriptors travel with a WebVerified answer.
func (m WebVerified) Descriptors() int {
	switch {
	case !m.OK:
		return 0
	case m.Role != RoleNone:
		return 2
	}
	return 1
}
