package proto

import (
	"fmt"
	"strings"

	"goqmail/internal/ipc"
)

// Auth frames travel over run/auth.sock, a SOCK_SEQPACKET socket: one
// request packet from smtpd or pop3d, one answer packet from goqmail-auth
// (with a descriptor attached to a successful OpenMailbox answer). Packets
// carry frame bodies (ipc.Encoder.Body), so no length prefix.
//
//	auth    (run/auth.sock)     smtpd, pop3d -> auth: Verify | APOP | OpenMailbox; auth -> client: Verified (+ session fd)
//	                            web -> auth: OpenWeb | ChangePassword (web.go)
const (
	TVerify      byte = 0x50
	TAPOP        byte = 0x51
	TOpenMailbox byte = 0x52
	TVerified    byte = 0x53
)

// Limits on auth fields.
const (
	MaxLogin    = 320  // local@domain
	MaxPassword = 4096 // pwhash.MaxPasswordLen
	MaxAuthIP   = 64
	MaxOwns     = 10000
	MaxAuthPkt  = 64 << 10 // a Verified answer with many owned addresses fits
)

// Auth services and user kinds.
const (
	ServiceSMTP = "smtp"
	ServicePOP3 = "pop3"

	KindVirtual       = "virtual"
	KindSystem        = "system"
	KindCheckpassword = "checkpassword"
)

// Verify asks whether Login/Password is right (SMTP AUTH, POP3 USER/PASS).
type Verify struct {
	Service  string // ServiceSMTP or ServicePOP3
	Login    string
	Password string // never logged
	RemoteIP string // the client, for throttling and the relay grant
}

func (m Verify) Packet(buf []byte) []byte {
	return ipc.New(TVerify, buf).String(m.Service).String(m.Login).String(m.Password).String(m.RemoteIP).Body()
}

func DecodeVerify(d *ipc.Decoder) (Verify, error) {
	m := Verify{Service: d.String(8), Login: d.String(MaxLogin), Password: d.String(MaxPassword), RemoteIP: d.String(MaxAuthIP)}
	if err := d.End(); err != nil {
		return m, err
	}
	if m.Service != ServiceSMTP && m.Service != ServicePOP3 {
		return m, fmt.Errorf("%w: auth service %q", ErrBadField, m.Service)
	}
	return m, checkCreds(m.Login, m.Password, m.RemoteIP)
}

// APOP asks whether Digest = MD5(Timestamp + secret) for Login (RFC 1939
// section 7). Timestamp is the "<...>" the POP3 greeting showed.
type APOP struct {
	Login     string
	Timestamp string
	Digest    string // 32 lower-case hex digits
	RemoteIP  string
}

func (m APOP) Packet(buf []byte) []byte {
	return ipc.New(TAPOP, buf).String(m.Login).String(m.Timestamp).String(m.Digest).String(m.RemoteIP).Body()
}

func DecodeAPOP(d *ipc.Decoder) (APOP, error) {
	m := APOP{Login: d.String(MaxLogin), Timestamp: d.String(MaxText), Digest: d.String(64), RemoteIP: d.String(MaxAuthIP)}
	if err := d.End(); err != nil {
		return m, err
	}
	return m, checkAPOP(m.Login, m.Timestamp, m.Digest, m.RemoteIP)
}

// OpenMailbox is a POP3 login that, when it succeeds, also starts the
// mailbox session as the owner: Password is set for USER/PASS, Timestamp
// and Digest for APOP (then Password is empty).
type OpenMailbox struct {
	Login     string
	Password  string
	Timestamp string
	Digest    string
	RemoteIP  string
}

// IsAPOP says which credentials the request carries.
func (m OpenMailbox) IsAPOP() bool { return m.Timestamp != "" }

func (m OpenMailbox) Packet(buf []byte) []byte {
	return ipc.New(TOpenMailbox, buf).String(m.Login).String(m.Password).String(m.Timestamp).
		String(m.Digest).String(m.RemoteIP).Body()
}

func DecodeOpenMailbox(d *ipc.Decoder) (OpenMailbox, error) {
	m := OpenMailbox{Login: d.String(MaxLogin), Password: d.String(MaxPassword), Timestamp: d.String(MaxText),
		Digest: d.String(64), RemoteIP: d.String(MaxAuthIP)}
	if err := d.End(); err != nil {
		return m, err
	}
	if m.IsAPOP() {
		if m.Password != "" {
			return m, fmt.Errorf("%w: APOP request with a password", ErrBadField)
		}
		return m, checkAPOP(m.Login, m.Timestamp, m.Digest, m.RemoteIP)
	}
	if m.Digest != "" {
		return m, fmt.Errorf("%w: digest without timestamp", ErrBadField)
	}
	return m, checkCreds(m.Login, m.Password, m.RemoteIP)
}

// Verified is the auth service's answer. For a failure Text is the same
// for unknown users and wrong passwords; Temporary marks a failure of the
// service itself (try again later), never a wrong password.
type Verified struct {
	OK        bool
	Temporary bool
	User      string   // canonical login: "bob@example.com" or "bob"
	Kind      string   // KindVirtual, KindSystem or KindCheckpassword
	Owns      []string // addresses the user may use as envelope sender
	Text      string
}

func (m Verified) Packet(buf []byte) []byte {
	e := ipc.New(TVerified, buf).Bool(m.OK).Bool(m.Temporary).String(m.User).String(m.Kind).Uint(uint64(len(m.Owns)))
	for _, a := range m.Owns {
		e.String(a)
	}
	return e.String(authText(m.Text)).Body()
}

func DecodeVerified(d *ipc.Decoder) (Verified, error) {
	m := Verified{OK: d.Bool(), Temporary: d.Bool(), User: d.String(MaxLogin), Kind: d.String(16)}
	n := d.UintMax(MaxOwns)
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		m.Owns = append(m.Owns, d.String(MaxAddr))
	}
	m.Text = authText(d.String(MaxText)) // it may reach a client's reply line
	if err := d.End(); err != nil {
		return m, err
	}
	if m.OK && m.Temporary {
		return m, fmt.Errorf("%w: answer both ok and temporary", ErrBadField)
	}
	for _, s := range append([]string{m.User}, m.Owns...) {
		if err := CheckAddr(s); err != nil {
			return m, err
		}
	}
	switch m.Kind {
	case "", KindVirtual, KindSystem, KindCheckpassword:
	default:
		return m, fmt.Errorf("%w: user kind %q", ErrBadField, m.Kind)
	}
	return m, nil
}

// checkCreds refuses what no backend could accept and what would break
// checkpassword's NUL-separated fd 3 format.
func checkCreds(login, password, ip string) error {
	if login == "" || strings.ContainsAny(login, "\x00\r\n") {
		return fmt.Errorf("%w: login", ErrBadField)
	}
	if strings.ContainsAny(password, "\x00") {
		return fmt.Errorf("%w: password holds NUL", ErrBadField)
	}
	if strings.ContainsAny(ip, "\x00\r\n ") {
		return fmt.Errorf("%w: remote ip", ErrBadField)
	}
	return nil
}

func checkAPOP(login, timestamp, digest, ip string) error {
	if err := checkCreds(login, "", ip); err != nil {
		return err
	}
	if timestamp == "" || strings.ContainsAny(timestamp, "\x00\r\n") {
		return fmt.Errorf("%w: APOP timestamp", ErrBadField)
	}
	if len(digest) != 32 || strings.Trim(digest, "0123456789abcdef") != "" {
		return fmt.Errorf("%w: APOP digest is not 32 lower-case hex digits", ErrBadField)
	}
	return nil
}

// authText makes answer text safe for a client's reply line: printable
// ASCII only (every other byte becomes '?'), at most MaxText bytes. Unlike
// CleanText it never changes the length, so cleaning twice changes nothing.
func authText(s string) string {
	if len(s) > MaxText {
		s = s[:MaxText]
	}
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(b)
}
