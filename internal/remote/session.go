package remote

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"time"

	"goqmail/internal/metrics"
	"goqmail/internal/route"
)

// implicitTLSPort is submissions (RFC 8314 3.3): TLS from the first byte,
// as the qmail TLS patch does for port 465.
const implicitTLSPort = 465

// setupError is a failure before a transaction could start. Every such
// failure moves on to the next target; the last one becomes the deferral
// text if no target works.
type setupError struct {
	text      string
	connected bool // TCP was up: the text names what failed after connecting
	// plainRetry: an opportunistic STARTTLS failed; the same host may be
	// tried again without TLS once every other target has been tried.
	plainRetry bool
	err        error
}

func (e *setupError) Error() string { return e.text }
func (e *setupError) Unwrap() error { return e.err }

// sessionOpts is the security a delivery asks of a connection.
type sessionOpts struct {
	requireVerified bool         // TLS with a certificate valid (WebPKI) for the target: tlsdestinations, MTA-STS enforce
	requireTLS      bool         // TLS, never plaintext: every policy above, and DANE
	dane            []route.TLSA // DANE: the certificate must match one of these (tlspolicy.go)
	why             string       // the policy that requires TLS, for messages
	stsTesting      bool         // an MTA-STS policy in testing mode: verify, report, deliver anyway
	stsID           string
	stsMX           []string
	policyDomain    string
	plain           bool // do not try STARTTLS (fallback after a failed handshake)
	auth            *route.Route
}

func (o sessionOpts) key(t route.Target) connKey {
	k := connKey{addr: t.AddrPort(), plain: o.plain}
	switch {
	case len(o.dane) > 0:
		k.verifyName, k.security = t.Name, "dane"
	case o.requireVerified:
		k.verifyName, k.security = t.Name, "webpki"
	case o.requireTLS:
		k.security = "tls"
	}
	if o.auth != nil {
		k.user = o.auth.User
	}
	return k
}

// opportunistic reports whether TLS to t is a nicety, not a requirement:
// then a failed STARTTLS may be retried without TLS.
func (o sessionOpts) opportunistic(t route.Target) bool {
	return !o.requireVerified && !o.requireTLS && o.auth == nil && t.Port != implicitTLSPort
}

// policyType is the RFC 8460 policy type a session under o is reported
// under.
func (o sessionOpts) policyType() string {
	switch {
	case o.requireTLS && o.why == "DANE":
		return PolicyTLSA
	case o.stsID != "":
		return PolicySTS
	}
	return PolicyNone
}

// outcome is a TLSOutcome of a session under o to t.
func (o sessionOpts) outcome(t route.Target, failure, detail string) TLSOutcome {
	return TLSOutcome{Domain: o.policyDomain, PolicyType: o.policyType(), PolicyID: o.stsID, Policy: o.stsMX,
		MXHost: t.Name, Addr: t.Addr.String(), Failure: failure, Detail: detail}
}

// open dials t and brings the session to the point where MAIL may be
// sent: greeting, EHLO (or HELO), STARTTLS when offered, EHLO again, AUTH
// when the route has credentials.
func (c *Client) open(ctx context.Context, t route.Target, o sessionOpts) (*conn, error) {
	host := t.AddrPort().String()
	dialCtx, cancel := context.WithTimeout(ctx, c.connectTimeout())
	nc, err := c.dial(dialCtx, "tcp", host)
	cancel()
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
			c.Dead.Timeout(t.Addr)
		}
		return nil, &setupError{text: fmt.Sprintf("Sorry, I wasn't able to establish an SMTP connection to %s: %v. (#4.4.1)", host, err), err: err}
	}
	c.Dead.Success(t.Addr)
	cn := newConn(nc, t, c.replyTimeout())
	if c.pollWait > 0 {
		cn.poll = c.pollWait
	}
	cn.ctx = ctx
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Now()) })
	defer stop()
	if err := c.setup(cn, o); err != nil {
		cn.close()
		return nil, err
	}
	return cn, nil
}

func (c *Client) setup(cn *conn, o sessionOpts) (err error) {
	host := cn.target.AddrPort().String()
	fail := func(what string, r Reply, err error) error {
		text := fmt.Sprintf("Connected to %s but %s", host, what)
		switch {
		case err != nil:
			text += fmt.Sprintf(": %v", err)
		case r.Code == 0: // our own decision, no reply to quote
			text += "."
		default:
			text += "./Remote host said: " + r.String()
		}
		return &setupError{text: text + " (#4.4.2)", connected: true, err: err}
	}
	if cn.target.Port == implicitTLSPort {
		if err := c.handshake(cn, o); err != nil {
			return err
		}
	}
	// A session that is ready for MAIL is counted by how it uses TLS;
	// one refused for TLS reasons where it fails, others not at all.
	defer func() {
		if err == nil {
			c.Metrics.Inc(metrics.RemoteTLS, tlsOutcome(cn, o))
		}
	}()
	r, err := cn.reply()
	if err != nil || r.Code != 220 {
		return fail("greeting failed", r, err)
	}
	if err := c.hello(cn); err != nil {
		return fail("my name was rejected", Reply{}, err)
	}
	if !cn.tlsOn && !o.plain && cn.ext.has("STARTTLS") {
		r, err := cn.cmd("STARTTLS")
		switch {
		case err != nil:
			return fail("STARTTLS failed", r, err)
		case r.Code == 220:
			// Anything after "220" was sent before the handshake and
			// must not be read as if it came over TLS (CVE-2011-0411).
			if err := cn.silent(); err != nil {
				se := fail("STARTTLS failed", r, err).(*setupError)
				se.plainRetry = o.opportunistic(cn.target)
				return se
			}
			if err := c.handshake(cn, o); err != nil {
				return err
			}
			if err := c.hello(cn); err != nil {
				return fail("EHLO after STARTTLS failed", Reply{}, err)
			}
		case o.requireTLS || o.requireVerified || o.auth != nil:
			c.Metrics.Inc(metrics.RemoteTLS, "refused")
			if o.requireTLS {
				c.report(o.outcome(cn.target, "starttls-not-supported", "STARTTLS refused: "+r.String()))
			}
			return fail("it refused STARTTLS", r, nil)
		default:
			cn.tlsRefused = true
			c.logf("%s: STARTTLS refused, continuing without TLS: %s", host, r)
		}
	}
	if !cn.tlsOn && (o.requireVerified || o.requireTLS) {
		c.Metrics.Inc(metrics.RemoteTLS, "not_offered")
		c.report(o.outcome(cn.target, "starttls-not-supported", "STARTTLS not offered"))
		return fail(fmt.Sprintf("it does not offer STARTTLS, and TLS is required for this domain (%s)", o.why), Reply{}, nil)
	}
	if !cn.tlsOn && o.stsTesting {
		c.report(o.outcome(cn.target, "starttls-not-supported", "STARTTLS not offered (MTA-STS testing: delivered anyway)"))
	}
	if o.auth != nil {
		return c.authenticate(cn, o.auth, fail)
	}
	return nil
}

// hello sends EHLO and falls back to HELO when EHLO is refused (RFC 5321
// 3.2). Extensions are forgotten on HELO.
func (c *Client) hello(cn *conn) error {
	r, err := cn.cmd("EHLO " + c.HeloHost)
	if err != nil {
		return err
	}
	if r.Class() == 2 {
		cn.ext = parseEHLO(r)
		return nil
	}
	if r.Code == 421 {
		return fmt.Errorf("EHLO: %s", r)
	}
	r, err = cn.cmd("HELO " + c.HeloHost)
	if err != nil {
		return err
	}
	if r.Class() != 2 {
		return fmt.Errorf("EHLO and HELO refused: %s", r)
	}
	cn.ext = nil
	return nil
}

// tlsOutcome names how a session that got past the handshake (or never
// tried one) ended up, for goqmail_remote_tls_total. Failed handshakes
// are counted where they fail.
func tlsOutcome(cn *conn, o sessionOpts) string {
	switch {
	case cn.tlsOn && cn.verified:
		return "verified"
	case cn.tlsOn:
		return "unverified"
	case o.plain:
		return "plain_fallback"
	case cn.tlsRefused:
		return "refused"
	}
	return "not_offered"
}

// handshake runs the TLS client handshake on cn: TLS 1.2 or newer, the
// certificate checked as the policies demand (tlspolicy.go), not at all
// for opportunistic TLS (RFC 7435). SNI carries the target's name.
func (c *Client) handshake(cn *conn, o sessionOpts) error {
	host := cn.target.AddrPort().String()
	cfg := &tls.Config{}
	if c.TLSConfig != nil {
		cfg = c.TLSConfig.Clone()
	}
	if cfg.MinVersion < tls.VersionTLS12 {
		cfg.MinVersion = tls.VersionTLS12
	}
	cfg.ServerName = cn.target.Name
	if cfg.ServerName == "" {
		cfg.ServerName = cn.target.Addr.String()
	}
	// Go's own check knows neither DANE nor a check that only reports;
	// the verifier does every kind, and nothing at all when none applies.
	var how string
	var testFail error
	cfg.InsecureSkipVerify = true
	cfg.VerifyConnection = c.verifier(o, cn.target.Name, &how, &testFail)
	tc := tls.Client(cn.nc, cfg)
	tc.SetDeadline(cn.deadline())
	if err := tc.HandshakeContext(cn.ctx); err != nil {
		cn.broken = true
		c.Metrics.Inc(metrics.RemoteTLS, "failed")
		failure := "validation-failure"
		if !errors.Is(err, errDANE) {
			failure = failureType(err)
		}
		if o.requireTLS || o.stsTesting || len(o.dane) > 0 {
			c.report(o.outcome(cn.target, failure, err.Error()))
		}
		why := ""
		if o.requireTLS {
			why = " (" + o.why + ")"
		}
		return &setupError{
			text:       fmt.Sprintf("Connected to %s but the TLS handshake failed%s: %v. (#4.7.5)", host, why, err),
			connected:  true,
			plainRetry: o.opportunistic(cn.target),
			err:        err,
		}
	}
	tc.SetDeadline(time.Time{})
	st := tc.ConnectionState()
	cn.setTransport(tc)
	cn.tlsOn, cn.verified = true, how != ""
	cn.tlsInfo = tls.VersionName(st.Version) + " " + tls.CipherSuiteName(st.CipherSuite)
	switch {
	case cn.verified:
		cn.tlsAuth = "certificate verified (" + how + ")"
		c.logf("%s: %s, certificate verified (%s)", host, cn.tlsInfo, how)
		c.report(o.outcome(cn.target, "", ""))
	case o.stsTesting && testFail != nil:
		cn.tlsAuth = "MTA-STS testing: would fail: " + testFail.Error()
		c.logf("%s: %s, certificate not verified; MTA-STS testing mode of %s would refuse it: %v", host, cn.tlsInfo, o.policyDomain, testFail)
		c.report(o.outcome(cn.target, failureType(testFail), testFail.Error()))
	default:
		if o.stsTesting {
			cn.tlsAuth = "MTA-STS testing: valid"
			c.report(o.outcome(cn.target, "", ""))
		} else if o.requireTLS {
			c.report(o.outcome(cn.target, "", ""))
		}
		c.logf("%s: %s, certificate not verified", host, cn.tlsInfo)
	}
	return nil
}

// authenticate sends AUTH PLAIN (RFC 4954, RFC 4616) with the initial
// response, only over TLS. A refusal defers: the credentials are the
// admin's to fix, and bouncing every message meanwhile would be worse.
func (c *Client) authenticate(cn *conn, rt *route.Route, fail func(string, Reply, error) error) error {
	if !cn.tlsOn {
		return fail("it does not offer STARTTLS, and I send credentials only over TLS", Reply{}, nil)
	}
	if !cn.ext.hasWord("AUTH", "PLAIN") {
		return fail("it does not offer AUTH PLAIN", Reply{}, nil)
	}
	resp := base64.StdEncoding.EncodeToString([]byte("\x00" + rt.User + "\x00" + rt.Password))
	r, err := cn.cmd("AUTH PLAIN " + resp)
	if err != nil || r.Code != 235 {
		if err == nil && r.Code == 334 { // it wants another round: we have nothing more
			cn.broken = true
		}
		return fail("authentication as "+rt.User+" failed", r, err)
	}
	return nil
}

// reset makes an idle connection ready for the next transaction and proves
// the peer is still there (RSET, RFC 5321 4.1.1.5).
func (cn *conn) reset(ctx context.Context) error {
	cn.ctx = ctx
	r, err := cn.cmd("RSET")
	if err != nil {
		return err
	}
	if r.Class() != 2 {
		cn.broken = true
		return fmt.Errorf("RSET: %s", r)
	}
	return nil
}
