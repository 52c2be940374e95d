package pop3

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"goqmail/internal/metrics"
)

// client is one connection in the AUTHORIZATION state.
type client struct {
	srv       *Server
	conn      net.Conn
	br        *bufio.Reader
	bw        *bufio.Writer
	ip, peer  string
	tls       bool
	plaintext bool // AllowPlaintextAuth when the connection started
	timestamp string
	user      string // from USER, waiting for PASS
	bad       int
	failures  int // logins that failed, for whatever reason
}

func (c *client) reply(format string, args ...any) {
	fmt.Fprintf(c.bw, format, args...)
	c.bw.WriteString("\r\n")
}

// authAllowed says whether a password may be sent on this connection
// (RFC 2595 section 2.4: not in the clear when TLS is on offer).
func (c *client) authAllowed() bool {
	return c.tls || c.plaintext || c.srv.tlsConfig() == nil
}

func (c *client) run() {
	c.reply("+OK POP3 ready %s", c.timestamp)
	for {
		if c.br.Buffered() == 0 {
			c.conn.SetWriteDeadline(time.Now().Add(c.srv.timeout()))
			if c.bw.Flush() != nil {
				return
			}
		}
		c.conn.SetReadDeadline(time.Now().Add(c.srv.timeout()))
		line, err := ReadLine(c.br)
		if err != nil {
			if errors.Is(err, ErrLineTooLong) {
				c.reply("-ERR line too long")
				c.bw.Flush()
			}
			return
		}
		cmd, err := ParseCommand(line)
		if err != nil {
			c.reply("-ERR malformed command")
			if c.bad++; c.bad >= maxBadCommands {
				c.bw.Flush()
				return
			}
			continue
		}
		if done := c.dispatch(cmd); done {
			return
		}
	}
}

// dispatch handles one command; it reports true when the connection is over
// (QUIT, a login that handed the client to a mailbox session, or a refusal).
func (c *client) dispatch(cmd Command) bool {
	switch cmd.Verb {
	case "CAPA":
		c.capa()
	case "QUIT":
		c.reply("+OK bye")
		c.bw.Flush()
		return true
	case "STLS":
		return c.starttls()
	case "USER":
		if !c.authAllowed() {
			c.reply("-ERR [AUTH] plain-text login disabled, use STLS first")
			return false
		}
		if len(cmd.Args) != 1 {
			c.reply("-ERR USER needs one name")
			return false
		}
		c.user = cmd.Args[0]
		c.reply("+OK")
	case "PASS":
		user := c.user
		c.user = "" // RFC 1939: after a failed PASS the client starts over with USER
		if user == "" || !c.authAllowed() {
			c.reply("-ERR USER first")
			return false
		}
		return c.login(user, func(ctx context.Context) (net.Conn, error) {
			return c.srv.Auth.Login(ctx, user, cmd.Rest, c.ip)
		})
	case "APOP":
		if len(cmd.Args) != 2 || !isHexDigest(cmd.Args[1]) {
			c.reply("-ERR APOP needs a name and an MD5 digest")
			return false
		}
		user, digest := cmd.Args[0], strings.ToLower(cmd.Args[1])
		return c.login(user, func(ctx context.Context) (net.Conn, error) {
			return c.srv.Auth.APOP(ctx, user, c.timestamp, digest, c.ip)
		})
	case "AUTH":
		return c.auth(cmd)
	default:
		c.reply("-ERR unknown command or not logged in")
		if c.bad++; c.bad >= maxBadCommands {
			c.bw.Flush()
			return true
		}
	}
	return false
}

// capa answers RFC 2449 CAPA with what this connection may use now: login
// methods only where a password may travel, STLS only before TLS.
func (c *client) capa() {
	c.reply("+OK capability list follows")
	for _, name := range []string{"TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"} {
		c.reply("%s", name)
	}
	if c.authAllowed() {
		c.reply("USER")
		c.reply("SASL PLAIN")
	}
	if !c.tls && c.srv.tlsConfig() != nil {
		c.reply("STLS")
	}
	c.reply("IMPLEMENTATION goqmail")
	c.reply(".")
}

// starttls is RFC 2595 section 4. Bytes the client sent after the STLS line
// arrived in plain text and could have been injected by a man in the
// middle (the CVE-2011-0411 class): if any are already buffered the session
// ends; any still in the socket would be read as a TLS record and break the
// handshake. Afterwards everything said before is forgotten (USER included).
func (c *client) starttls() bool {
	if c.tls {
		c.reply("-ERR already under TLS")
		return false
	}
	cfg := c.srv.tlsConfig()
	if cfg == nil {
		c.reply("-ERR STLS not available")
		return false
	}
	if c.br.Buffered() > 0 {
		c.srv.Log.Printf("%s: data pipelined after STLS; closing", c.peer)
		c.reply("-ERR commands pipelined after STLS, closing")
		c.bw.Flush()
		return true
	}
	c.reply("+OK begin TLS negotiation")
	if c.bw.Flush() != nil {
		return true
	}
	tc := tls.Server(c.conn, cfg)
	tc.SetDeadline(time.Now().Add(c.srv.timeout()))
	if err := tc.Handshake(); err != nil {
		c.srv.Log.Printf("%s: STLS handshake: %v", c.peer, err)
		return true
	}
	tc.SetDeadline(time.Time{})
	c.conn, c.tls, c.user = tc, true, ""
	c.br, c.bw = bufio.NewReader(tc), bufio.NewWriter(tc)
	return false
}

// auth is RFC 5034 AUTH with the PLAIN mechanism (RFC 4616). AUTH without a
// mechanism lists them, as many clients expect.
func (c *client) auth(cmd Command) bool {
	if !c.authAllowed() {
		c.reply("-ERR [AUTH] plain-text login disabled, use STLS first")
		return false
	}
	if len(cmd.Args) == 0 {
		c.reply("+OK")
		c.reply("PLAIN")
		c.reply(".")
		return false
	}
	if !strings.EqualFold(cmd.Args[0], "PLAIN") || len(cmd.Args) > 2 {
		c.reply("-ERR unsupported SASL mechanism")
		return false
	}
	resp := ""
	if len(cmd.Args) == 2 {
		resp = cmd.Args[1]
	} else {
		c.reply("+ ")
		c.bw.Flush()
		c.conn.SetReadDeadline(time.Now().Add(c.srv.timeout()))
		line, err := ReadLine(c.br)
		if err != nil {
			return true
		}
		resp = line
	}
	if resp == "*" {
		c.reply("-ERR authentication cancelled")
		return false
	}
	user, pass, ok := decodePlain(resp)
	if !ok {
		c.reply("-ERR malformed SASL response")
		return false
	}
	return c.login(user, func(ctx context.Context) (net.Conn, error) {
		return c.srv.Auth.Login(ctx, user, pass, c.ip)
	})
}

// decodePlain splits a PLAIN response "authzid\0authcid\0password"; an
// authorisation identity other than the user's own is refused.
func decodePlain(resp string) (user, pass string, ok bool) {
	if resp == "=" {
		resp = ""
	}
	raw, err := base64.StdEncoding.DecodeString(resp)
	if err != nil {
		return "", "", false
	}
	parts := strings.Split(string(raw), "\x00")
	if len(parts) != 3 || parts[1] == "" || (parts[0] != "" && parts[0] != parts[1]) {
		return "", "", false
	}
	return parts[1], parts[2], true
}

func isHexDigest(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// login runs one authentication attempt. On success the mailbox session's
// first line answers the client (+OK, or -ERR [IN-USE]), and this
// connection becomes a relay until either side ends.
func (c *client) login(user string, try func(ctx context.Context) (net.Conn, error)) bool {
	ctx, cancel := context.WithTimeout(context.Background(), c.srv.timeout())
	sess, err := try(ctx)
	cancel()
	if err != nil {
		// A connection gets maxLoginFailures tries, as an SMTP session
		// gets three AUTH failures: a loop of guesses has to reconnect,
		// and connections are what the per-address limits count.
		c.failures++
		last := c.failures >= maxLoginFailures
		closing := ""
		if last {
			closing = "; too many failed logins, closing"
		}
		if errors.Is(err, ErrAuthFailed) {
			c.srv.Metrics.Inc(metrics.AuthAttempts, "pop3", "failure")
			c.srv.Log.Printf("%s: login failed for %s (%d of %d)", c.peer, user, c.failures, maxLoginFailures)
			c.reply("-ERR [AUTH] authentication failed%s", closing)
		} else {
			c.srv.Metrics.Inc(metrics.AuthAttempts, "pop3", "error")
			c.srv.Log.Printf("%s: login for %s: auth service: %v (%d of %d)", c.peer, user, err, c.failures, maxLoginFailures)
			c.reply("-ERR [SYS/TEMP] authentication temporarily unavailable%s", closing)
		}
		if last {
			c.bw.Flush()
		}
		return last
	}
	c.srv.Metrics.Inc(metrics.AuthAttempts, "pop3", "success")
	c.srv.Log.Printf("%s: login ok for %s tls=%v", c.peer, user, c.tls)
	relay(c.conn, c.br, c.bw, sess, c.srv.timeout())
	return true
}
