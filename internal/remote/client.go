package remote

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"goqmail/internal/logline"
	"goqmail/internal/metrics"
	"goqmail/internal/mtasts"
	"goqmail/internal/proto"
	"goqmail/internal/route"
)

// Defaults for zero Client fields: qmail's timeoutconnect and
// timeoutremote, and modest reuse settings.
const (
	DefaultConnectTimeout = 60 * time.Second
	DefaultReplyTimeout   = 1200 * time.Second
	DefaultMaxPerDest     = 10
	DefaultIdleTimeout    = 10 * time.Second
	// MaxRcptsPerTransaction is how many recipients go into one
	// transaction; a Job with more is sent in several (RFC 5321 4.5.3.1.8:
	// servers must take at least 100).
	MaxRcptsPerTransaction = 100
)

// Job is one message for recipients of one domain.
type Job struct {
	Sender string   // internal form (local@domain, unquoted); "" = null sender <>
	Rcpts  []string // internal form, every one @Domain
	Domain string   // the recipients' domain: routing key
	// Size and Content are the queued message: LF line ends, no
	// dot-stuffing. Content is read twice (a scan for SIZE and 8-bit,
	// then the transfer), possibly once per attempted host.
	Size    int64
	Content io.ReaderAt
	// RequireTLS is this domain's policy: TLS with a certificate valid for
	// the MX host name, else no delivery (deferral).
	RequireTLS bool
}

// Result is the outcome for one recipient, in the order of Job.Rcpts.
type Result struct {
	Rcpt string
	Code byte   // proto.ResultSuccess ('K'), ResultDeferral ('Z') or ResultPermanent ('D')
	Text string // qmail-style report: no control characters, capped at proto.MaxText
	Host string // "ip:port" that gave the result; "" when none did
	// TLS says how the session that gave the result used TLS ("TLS1.3
	// TLS_AES_128_GCM_SHA256, DANE-EE"), or the policy in force when no
	// host took the mail; for the logs.
	TLS string
}

// Client delivers Jobs over SMTP. Set the fields, then call Deliver from
// any number of goroutines; do not change fields after the first call.
// Idle connections are kept between deliveries; Close ends them.
type Client struct {
	Resolver   route.Resolver // required
	Routes     *route.Routes  // smtproutes; nil = none
	LocalNames []string       // names of this host (me, helohost): the "best MX is me" check
	LocalAddrs []netip.Addr   // this host's addresses (route.InterfaceAddrs)
	Port       uint16         // port for MX and literal targets; 25 when 0
	HeloHost   string         // EHLO/HELO argument (control/helohost)

	ConnectTimeout time.Duration // timeoutconnect; DefaultConnectTimeout when 0
	ReplyTimeout   time.Duration // timeoutremote, per reply and per write; DefaultReplyTimeout when 0
	MaxPerDest     int           // connections per destination ip:port, busy and idle; DefaultMaxPerDest when 0
	IdleTimeout    time.Duration // idle connection kept this long; DefaultIdleTimeout when 0, negative = no reuse

	// TLSConfig is the base TLS configuration (RootCAs for verified
	// domains, client certificates); nil = defaults. ServerName,
	// InsecureSkipVerify and a MinVersion below TLS 1.2 are overridden
	// per connection.
	TLSConfig *tls.Config
	// Dead is the dead-host memory (qmail's tcpto); nil = none.
	Dead *route.DeadHosts
	// Dial opens TCP connections; a net.Dialer when nil. Tests use it to
	// simulate timeouts; production may use it to bind a source address.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
	Log  *logline.Logger
	// Metrics receives the TLS outcomes of docs/metrics.md; nil: none.
	Metrics *metrics.Client
	// DANE answers TLSA and DNSSEC questions (RFC 7672, tlspolicy.go);
	// nil: no DANE. Set it only when the resolver validates (control/dane).
	DANE route.TLSResolver
	// MTASTS finds recipient domains' MTA-STS policies (RFC 8461); nil:
	// none are looked up.
	MTASTS *mtasts.Cache
	// Report, when set, is told every TLS outcome (TLS-RPT, RFC 8460). It
	// is called from delivery goroutines and must not block.
	Report func(TLSOutcome)

	pollWait time.Duration // how long silent() waits; earlyPoll when 0 (tests lengthen it)

	once   sync.Once
	pool   *pool
	finder *route.Finder
}

func (c *Client) init() {
	c.once.Do(func() {
		max := c.MaxPerDest
		if max <= 0 {
			max = DefaultMaxPerDest
		}
		idle := c.IdleTimeout
		if idle == 0 {
			idle = DefaultIdleTimeout
		} else if idle < 0 {
			idle = 0
		}
		c.pool = newPool(max, idle)
		c.finder = &route.Finder{Resolver: c.Resolver, Routes: c.Routes, LocalNames: c.LocalNames, LocalAddrs: c.LocalAddrs, Port: c.Port}
	})
}

func (c *Client) connectTimeout() time.Duration {
	if c.ConnectTimeout > 0 {
		return c.ConnectTimeout
	}
	return DefaultConnectTimeout
}

func (c *Client) replyTimeout() time.Duration {
	if c.ReplyTimeout > 0 {
		return c.ReplyTimeout
	}
	return DefaultReplyTimeout
}

func (c *Client) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if c.Dial != nil {
		return c.Dial(ctx, network, addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

func (c *Client) logf(format string, args ...any) {
	if c.Log != nil {
		c.Log.Printf(format, args...)
	}
}

// Close closes the idle connections (with QUIT). Deliveries in progress
// finish; their connections are closed instead of kept.
func (c *Client) Close() {
	c.init()
	c.pool.closeIdle()
}

// Deliver sends j and reports every recipient. It never returns without a
// result per recipient; ctx bounds the whole delivery (its cancellation
// breaks the connection in use and defers what is left).
func (c *Client) Deliver(ctx context.Context, j Job) []Result {
	c.init()
	res := make([]Result, len(j.Rcpts))
	var todo []int // recipients still to send
	for i, rc := range j.Rcpts {
		res[i].Rcpt = rc
		if err := checkRcpt(rc, j.Domain); err != nil {
			res[i].Code, res[i].Text = proto.ResultPermanent, err.Error()
			continue
		}
		todo = append(todo, i)
	}
	setAll := func(code byte, text string) []Result {
		for _, i := range todo {
			res[i].Code, res[i].Text = code, text
		}
		return finish(res)
	}
	if len(todo) == 0 {
		return finish(res)
	}
	if err := checkAddr(j.Sender); err != nil {
		return setAll(proto.ResultPermanent, "Sorry, the sender address is unusable: "+err.Error()+". (#5.1.7)")
	}
	if j.Content == nil {
		j.Content = strings.NewReader("")
	}
	msg, err := scanMessage(j.Content, j.Size)
	if err != nil {
		return setAll(proto.ResultDeferral, fmt.Sprintf("Unable to read message: %v. (#4.3.0)", err))
	}
	plan, err := c.finder.Find(ctx, j.Domain)
	if err != nil {
		var rerr *route.Error
		if errors.As(err, &rerr) && rerr.Permanent {
			return setAll(proto.ResultPermanent, rerr.Text)
		}
		return setAll(proto.ResultDeferral, err.Error())
	}
	opts := sessionOpts{requireVerified: j.RequireTLS, requireTLS: j.RequireTLS}
	if j.RequireTLS {
		opts.why = "control/tlsdestinations"
	}
	if plan.Route != nil && plan.Route.HasAuth() {
		opts.auth = plan.Route
	}
	dt := c.domainPolicy(ctx, j.Domain, plan)
	for start := 0; start < len(todo); start += MaxRcptsPerTransaction {
		batch := todo[start:min(start+MaxRcptsPerTransaction, len(todo))]
		env := envelope{from: smtpPath(j.Sender)}
		for _, i := range batch {
			env.rcpts = append(env.rcpts, smtpPath(j.Rcpts[i]))
		}
		env.utf8 = !isASCII(j.Sender) || !isASCII(strings.Join(j.Rcpts, ""))
		outs, host, tlsText := c.deliverBatch(ctx, plan, dt, opts, env, msg)
		for k, i := range batch {
			res[i].Code, res[i].Text, res[i].Host, res[i].TLS = outs[k].code, outs[k].text, host, tlsText
		}
	}
	return finish(res)
}

// deliverBatch tries the targets in order until one takes the
// transaction. A target is left for the next one when the connection,
// greeting, EHLO/HELO, STARTTLS or AUTH fails; once a transaction starts,
// its replies are the result (qmail does not move on after connecting;
// we do for failures before MAIL, as Postfix does).
func (c *Client) deliverBatch(ctx context.Context, plan route.Plan, dt domainTLS, opts sessionOpts, env envelope, msg *message) ([]outcome, string, string) {
	type attempt struct {
		t     route.Target
		plain bool
	}
	var queue []attempt
	for _, t := range c.Dead.Filter(plan.Targets) {
		queue = append(queue, attempt{t: t})
	}
	lastText := "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)"
	connected := false
	for i := 0; i < len(queue) && ctx.Err() == nil; i++ {
		a := queue[i]
		o, err := c.targetOpts(ctx, dt, opts, a.t)
		o.plain = a.plain
		var cn *conn
		if err == nil {
			cn, err = c.session(ctx, a.t, o)
		}
		if err != nil {
			c.logf("%s: %v", a.t.AddrPort(), err)
			var se *setupError
			if errors.As(err, &se) {
				if se.connected || !connected {
					lastText, connected = se.text, se.connected || connected
				}
				if se.plainRetry {
					queue = append(queue, attempt{t: a.t, plain: true})
				}
			} else {
				lastText = err.Error()
			}
			continue
		}
		stop := context.AfterFunc(ctx, func() { cn.nc.SetDeadline(time.Now()) })
		outs := cn.transact(env, msg)
		if !stop() {
			cn.broken = true
		}
		tlsText := cn.tlsSummary()
		c.pool.release(cn)
		return outs, a.t.AddrPort().String(), tlsText
	}
	if err := ctx.Err(); err != nil {
		lastText = fmt.Sprintf("Delivery interrupted: %v. (#4.4.2)", err)
	}
	outs := make([]outcome, len(env.rcpts))
	for i := range outs {
		outs[i] = outcome{proto.ResultDeferral, lastText}
	}
	return outs, "", dt.summary()
}

// session returns a connection ready for MAIL: an idle one to the same
// target with the same security (after a successful RSET), or a new one.
func (c *Client) session(ctx context.Context, t route.Target, o sessionOpts) (*conn, error) {
	key := o.key(t)
	cn, err := c.pool.acquire(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("waiting for a connection slot to %s: %w", t.AddrPort(), err)
	}
	if cn != nil {
		stop := context.AfterFunc(ctx, func() { cn.nc.SetDeadline(time.Now()) })
		err := cn.reset(ctx)
		stop()
		if err == nil {
			return cn, nil
		}
		c.logf("%s: idle connection unusable, reconnecting: %v", t.AddrPort(), err)
		cn.broken = true
		cn.close() // its slot is reused by the new connection
	}
	cn, err = c.open(ctx, t, o)
	if err != nil {
		c.pool.releaseSlot(key.addr)
		return nil, err
	}
	cn.key = key
	return cn, nil
}

// finish cleans every text and caps it for the report frame.
func finish(res []Result) []Result {
	for i := range res {
		res[i].Text = cleanText(res[i].Text, proto.MaxText)
	}
	return res
}
