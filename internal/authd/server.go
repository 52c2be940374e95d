// Package authd is goqmail-auth's logic: the only code that checks
// passwords. smtpd (SMTP AUTH) and pop3d (USER/PASS, APOP) ask it over
// run/auth.sock (SOCK_SEQPACKET, frames of internal/proto); for POP3 it
// also starts the mailbox session as the mailbox owner and passes the
// client's end of it back (SCM_RIGHTS), so the network-facing process never
// holds a mailbox or a privilege (qmail-popup / checkpassword /
// qmail-pop3d, qmail.md 6.4).
//
// Backends, in order: virtual users (internal/vdir) for logins with '@';
// system users through the shadow helper (`goqmail-auth -shadow`, which
// reads /etc/shadow and nothing else) for logins without '@' or with '@'
// and a domain in control/locals; then the admin's checkpassword program
// if control/checkpassword names one. Failures are slowed per remote
// address and per account and answered alike; successful POP3 logins
// record a POP-before-SMTP grant for the client address
// (internal/relaygrant); SMTP AUTH logins never do. Web logins (web.go)
// start the webmail's mailbox session the same way, and an admin session
// for a login with an admin role; they grant no relaying.
// Passwords are never logged.
package authd

import (
	"context"
	"errors"
	"net"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"goqmail/internal/assign"
	"goqmail/internal/connlimit"
	"goqmail/internal/ipc"
	"goqmail/internal/logline"
	"goqmail/internal/proto"
	"goqmail/internal/relaygrant"
	"goqmail/internal/vdir"
)

// Directory is what the auth service needs of the virtual-user directory
// (*vdir.Files has it all).
type Directory interface {
	Authenticate(login, password string) (vdir.User, bool, error)
	User(local, domain string) (vdir.User, bool, error)
	Resolve(local, domain string) (vdir.Result, error)
	Aliases(domain string) ([]vdir.Alias, error)
	Domains() ([]vdir.Domain, error)
	MailboxHome(local, domain string) string
	SetPassword(local, domain, password string) error
}

// Config is fixed for the life of a Server.
type Config struct {
	Dir                    Directory // nil: no virtual users
	VirtualUID, VirtualGID int       // owner of virtual mailboxes (goqmailv)
	Shadow                 ShadowChecker
	// LookupUser finds system accounts (default: /etc/passwd).
	LookupUser     func(name string) (assign.PasswdEntry, bool, error)
	Grants         *relaygrant.Store // nil: no POP-before-SMTP grants
	SessionProgram string            // goqmail-pop3d, run with -session MAILDIR
	// The web (web.go): goqmail-webmbox, run with -session MAILDIR as the
	// mailbox owner; goqmail, run as `goqmail admin-session` for a login
	// with an admin role; goqmail's ROOT, which both are told.
	WebSessionProgram string
	AdminProgram      string
	Root              string
	// Clients are the peer uids allowed on auth.sock; -1 allows anyone
	// (single-user mode). See ParseClients.
	Clients []int
	Log     *logline.Logger
	// Test seams: the sleep before a failure is answered, the clock.
	Sleep func(time.Duration)
	Now   func() time.Time
}

// Settings come from control/ and change on SIGHUP.
type Settings struct {
	Checkpassword string        // control/checkpassword: program path, "" = none
	GrantLifetime time.Duration // control/relaygrantlifetime (default 900 s)
	NoGrants      bool          // control/relaygrantlifetime is 0: logins grant no relaying
	Locals        []string      // control/locals: system users own user@ each
	// MaxPerIP (control/authconcurrencyperip) bounds the logins of one
	// client address in progress, the delay after a failure included;
	// MaxVerifications (control/authconcurrency) the password checks
	// running at once (limits.go). Zero: the defaults below.
	MaxPerIP         int
	MaxVerifications int
	// WebAdmins (control/webadmins) are the logins with the web's site
	// administrator role (canonical: "bob@example.com" or "bob").
	WebAdmins []string
}

// DefaultGrantLifetime is relay-ctrl's RELAY_CTRL_EXPIRY.
const DefaultGrantLifetime = 15 * time.Minute

// The defaults of control/authconcurrencyperip and authconcurrency.
const (
	DefaultMaxPerIP         = 4
	DefaultMaxVerifications = 4
)

// minSystemUID: accounts below it (system and service accounts) never log in.
const minSystemUID = 1000

// requestTimeout bounds one request on a connection: the longest failure
// delay plus a checkpassword run, with margin.
const requestTimeout = 45 * time.Second

// Server answers auth requests.
type Server struct {
	cfg      Config
	settings atomic.Pointer[Settings]
	throttle *throttle
	logins   connlimit.Table // logins in progress per client address
	verify   connlimit.Gate  // password checks running
}

// New returns a server; zero fields of cfg get their defaults.
func New(cfg Config, st Settings) *Server {
	if cfg.LookupUser == nil {
		cfg.LookupUser = assign.OSSystem{}.LookupUser
	}
	if cfg.Sleep == nil {
		cfg.Sleep = time.Sleep
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, throttle: newThrottle()}
	s.SetSettings(st)
	return s
}

// SetSettings replaces the control settings (SIGHUP); requests in
// progress keep the ones they started with.
func (s *Server) SetSettings(st Settings) {
	if st.GrantLifetime <= 0 {
		st.GrantLifetime = DefaultGrantLifetime
	}
	if st.MaxPerIP <= 0 {
		st.MaxPerIP = DefaultMaxPerIP
	}
	if st.MaxVerifications <= 0 {
		st.MaxVerifications = DefaultMaxVerifications
	}
	st.Locals = slices.Clone(st.Locals)
	st.WebAdmins = slices.Clone(st.WebAdmins)
	s.settings.Store(&st)
}

// Serve accepts connections on ln (a "unixpacket" listener) until it is
// closed.
func (s *Server) Serve(ln *net.UnixListener) error {
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		go s.serveConn(c)
	}
}

// ParseClients reads GOQMAIL_AUTH_CLIENTS: comma-separated uids, -1 = any.
// Unset or empty allows root and the service's own uid only.
func ParseClients(v string) ([]int, error) {
	if v == "" {
		return []int{0, os.Getuid()}, nil
	}
	var out []int
	for _, f := range splitComma(v) {
		n, err := atoiStrict(f)
		if err != nil || n < -1 {
			return nil, errors.New("GOQMAIL_AUTH_CLIENTS: " + f + " is not a uid")
		}
		out = append(out, n)
	}
	return out, nil
}

func (s *Server) peerAllowed(c *net.UnixConn) (ipc.Cred, bool) {
	cred, err := ipc.PeerCred(c)
	if err != nil {
		return cred, false
	}
	return cred, slices.Contains(s.cfg.Clients, -1) || slices.Contains(s.cfg.Clients, cred.UID)
}

// serveConn answers requests on one connection until the peer closes it.
// A frame that does not decode ends the connection: the peer is confused
// or hostile, and either way it is told nothing.
func (s *Server) serveConn(c *net.UnixConn) {
	defer c.Close()
	cred, ok := s.peerAllowed(c)
	if !ok {
		s.cfg.Log.Printf("warning: auth.sock: refused peer uid %d pid %d", cred.UID, cred.PID)
		return
	}
	buf := make([]byte, proto.MaxAuthPkt)
	oob := make([]byte, unix.CmsgSpace(4))
	for {
		c.SetDeadline(time.Now().Add(requestTimeout))
		n, oobn, flags, _, err := c.ReadMsgUnix(buf, oob)
		if err != nil || n == 0 {
			return
		}
		if oobn != 0 || flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 {
			s.cfg.Log.Printf("warning: auth.sock: uid %d sent a truncated packet or descriptors", cred.UID)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
		ans, files, err := s.handle(ctx, buf[:n])
		cancel()
		if err != nil {
			s.cfg.Log.Printf("warning: auth.sock: uid %d: %v", cred.UID, err)
			return
		}
		var rights []byte
		if len(files) > 0 {
			fds := make([]int, len(files))
			for i, f := range files {
				fds[i] = int(f.Fd())
			}
			rights = unix.UnixRights(fds...)
		}
		_, _, err = c.WriteMsgUnix(ans.Packet(nil), rights, nil)
		for _, f := range files {
			f.Close()
		}
		if err != nil {
			return
		}
	}
}

// answer is a frame the service sends back (proto.Verified, proto.WebVerified).
type answer interface{ Packet(buf []byte) []byte }

// handle decodes one request and answers it; the files are the session
// ends for a successful OpenMailbox (one) or OpenWeb (one or two), in
// that order.
func (s *Server) handle(ctx context.Context, body []byte) (answer, []*os.File, error) {
	typ, d, err := ipc.NewDecoder(body)
	if err != nil {
		return proto.Verified{}, nil, err
	}
	switch typ {
	case proto.TVerify:
		m, err := proto.DecodeVerify(d)
		if err != nil {
			return proto.Verified{}, nil, err
		}
		ans, _ := s.login(ctx, m.Service, m.RemoteIP, credential{login: m.Login, password: m.Password})
		return ans, nil, nil
	case proto.TAPOP:
		m, err := proto.DecodeAPOP(d)
		if err != nil {
			return proto.Verified{}, nil, err
		}
		ans, _ := s.login(ctx, proto.ServicePOP3, m.RemoteIP, credential{login: m.Login, apop: true, timestamp: m.Timestamp, digest: m.Digest})
		return ans, nil, nil
	case proto.TOpenMailbox:
		m, err := proto.DecodeOpenMailbox(d)
		if err != nil {
			return proto.Verified{}, nil, err
		}
		cr := credential{login: m.Login, password: m.Password}
		if m.IsAPOP() {
			cr = credential{login: m.Login, apop: true, timestamp: m.Timestamp, digest: m.Digest}
		}
		ans, f, err := s.openMailbox(ctx, m.RemoteIP, cr)
		if f != nil {
			return ans, []*os.File{f}, err
		}
		return ans, nil, err
	case proto.TOpenWeb:
		m, err := proto.DecodeOpenWeb(d)
		if err != nil {
			return proto.Verified{}, nil, err
		}
		ans, files := s.openWeb(ctx, m)
		return ans, files, nil
	case proto.TChangePassword:
		m, err := proto.DecodeChangePassword(d)
		if err != nil {
			return proto.Verified{}, nil, err
		}
		return s.changePassword(ctx, m), nil, nil
	default:
		return proto.Verified{}, nil, errors.New("unexpected frame type")
	}
}
