package pop3

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"time"

	"goqmail/internal/connlimit"
	"goqmail/internal/logline"
	"goqmail/internal/metrics"
)

// ErrAuthFailed is what an Authenticator returns for bad credentials,
// whether the user is unknown or the password wrong: the client gets the
// same answer for both.
var ErrAuthFailed = errors.New("authentication failed")

// Authenticator verifies credentials and, on success, returns a connection
// to a mailbox session already running as the mailbox owner (the auth
// service does this in production). Any error other than ErrAuthFailed is
// a temporary failure of the service; it ends no more than the one attempt.
type Authenticator interface {
	Login(ctx context.Context, user, password, remoteIP string) (net.Conn, error)
	APOP(ctx context.Context, user, timestamp, digest, remoteIP string) (net.Conn, error)
}

// Server is the AUTHORIZATION state (RFC 1939 section 4): it greets, takes
// credentials, hands them to Auth and, after a login, relays bytes between
// the client and the mailbox session. It never opens a mailbox itself.
type Server struct {
	Auth Authenticator
	// TLS returns the configuration for STLS and port 995, or nil when no
	// certificate is available (then STLS is not offered). It is called
	// per handshake, so a new certificate needs no restart.
	TLS func() *tls.Config
	// Hostname goes into the APOP timestamp; os.Hostname when empty.
	Hostname string
	Log      *logline.Logger
	// Metrics receives the login counts of docs/metrics.md; nil: none.
	Metrics *metrics.Client
	// Timeout is the idle limit per client read and write; 10 minutes,
	// RFC 1939's minimum autologout, when zero.
	Timeout time.Duration
	// AllowPlaintextAuth permits USER/PASS and AUTH on a connection without
	// TLS although TLS is configured. With no TLS configured at all they are
	// always allowed (there is nothing better to offer). APOP is always
	// allowed: the password does not travel.
	AllowPlaintextAuth bool

	seq      atomic.Uint64
	settings atomic.Pointer[Settings] // set by SetSettings; nil: the fields above
	sessions connlimit.Table          // every listener's sessions (limits.go)
}

// Settings are the parts of the configuration a reload (SIGHUP) may change.
type Settings struct {
	Hostname           string
	AllowPlaintextAuth bool
	// Limits are checked at accept (concurrencypop3, concurrencyperip,
	// connectrateperip); zero fields: no limit of that kind.
	Limits connlimit.Limits
}

// SetSettings replaces Hostname and AllowPlaintextAuth for connections
// that start after it; connections in progress keep theirs.
func (s *Server) SetSettings(st Settings) { s.settings.Store(&st) }

func (s *Server) current() Settings {
	if p := s.settings.Load(); p != nil {
		return *p
	}
	return Settings{Hostname: s.Hostname, AllowPlaintextAuth: s.AllowPlaintextAuth}
}

// maxBadCommands ends a session that keeps sending nonsense, as a client
// that speaks another protocol would.
const maxBadCommands = 10

// maxLoginFailures ends a connection whose third login fails (SMTP AUTH's
// limit too).
const maxLoginFailures = 3

// Serve accepts connections on ln until it is closed. With implicitTLS every
// connection starts with a TLS handshake (port 995, RFC 8314).
func (s *Server) Serve(ln net.Listener, implicitTLS bool) error {
	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Out of descriptors and similar: wait instead of spinning.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.Log.Printf("warning: accept: %v", err)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		tk, ok := s.admit(conn, implicitTLS)
		if !ok {
			continue
		}
		go func() {
			defer tk.Release()
			s.handle(conn, implicitTLS)
		}()
	}
}

func (s *Server) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return SessionTimeout
}

// tlsConfig returns the current TLS configuration with TLS 1.2 as the floor:
// passwords travel inside it.
func (s *Server) tlsConfig() *tls.Config {
	if s.TLS == nil {
		return nil
	}
	cfg := s.TLS()
	if cfg == nil {
		return nil
	}
	if cfg.MinVersion < tls.VersionTLS12 {
		cfg = cfg.Clone()
		cfg.MinVersion = tls.VersionTLS12
	}
	return cfg
}

func (s *Server) handle(conn net.Conn, implicitTLS bool) {
	ip, _, err := net.SplitHostPort(conn.RemoteAddr().String())
	if err != nil {
		ip = conn.RemoteAddr().String()
	}
	c := &client{srv: s, conn: conn, ip: ip, peer: conn.RemoteAddr().String(), plaintext: s.current().AllowPlaintextAuth}
	// Closing the session's current connection: after STLS that is the
	// TLS connection, which sends close_notify (RFC 8446 6.1) first.
	defer func() {
		c.conn.Close()
		conn.Close()
	}()
	if implicitTLS {
		cfg := s.tlsConfig()
		if cfg == nil {
			s.Log.Printf("%s: no certificate for implicit TLS; closing", c.peer)
			return
		}
		tc := tls.Server(conn, cfg)
		tc.SetDeadline(time.Now().Add(s.timeout()))
		if err := tc.Handshake(); err != nil {
			s.Log.Printf("%s: TLS handshake: %v", c.peer, err)
			return
		}
		tc.SetDeadline(time.Time{})
		c.conn, c.tls = tc, true
	}
	c.br, c.bw = bufio.NewReader(c.conn), bufio.NewWriter(c.conn)
	c.timestamp = s.timestamp()
	c.run()
}

// timestamp is the APOP challenge of RFC 1939 section 7, in qmail-popup's
// <pid.time@host> form; a counter makes it unique even within one tick.
func (s *Server) timestamp() string {
	host := s.current().Hostname
	if host == "" {
		host, _ = os.Hostname()
	}
	return fmt.Sprintf("<%d.%d.%d@%s>", os.Getpid(), time.Now().UnixNano(), s.seq.Add(1), host)
}
