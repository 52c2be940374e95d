package milterclient

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	milter "github.com/d--j/go-milter"

	"goqmail/internal/smtp"
)

// Kind is what a milter decided at one stage.
type Kind int

const (
	Continue Kind = iota // go on
	// Accept: the milter wants nothing more of this message (at connect
	// or HELO: of this session) and lets it through.
	Accept
	Reject  // Reply answers the command (or the message), 4xx or 5xx
	Discard // the message is accepted and thrown away
	Failed  // the milter is down or broke the protocol: Err says how
)

// Verdict is a milter's answer at one stage.
type Verdict struct {
	Kind  Kind
	Reply smtp.Reply // Reject
	Err   error      // Failed
}

// Replies of the protocol's fixed actions, Sendmail's and Postfix's texts.
var (
	ReplyReject   = smtp.Reply{Code: 550, Enh: "5.7.1", Text: "Command rejected"}
	ReplyTempFail = smtp.Reply{Code: 451, Enh: "4.7.1", Text: "Service unavailable - try again later"}
)

// Facts are what a milter learns of the SMTP session: the connect and
// HELO stages and the macros it may ask for.
type Facts struct {
	Me       string         // j: this host's name
	Daemon   string         // {daemon_name}: smtp, submission or smtps
	Local    netip.AddrPort // {daemon_addr}, {daemon_port}, {if_addr}
	Remote   netip.AddrPort // the connect stage, {client_addr}, {client_port}
	TLS      string         // {tls_version}, "" without TLS
	Cipher   string         // {cipher}
	AuthUser string         // {auth_authen}, "" unless authenticated
	AuthType string         // {auth_type}
}

// Session is one milter's connection for one SMTP session.
type Session struct {
	cfg    Config
	cs     *milter.ClientSession
	conn   net.Conn
	macros *milter.MacroBag

	mu  sync.Mutex // held while a call talks to the milter (End may give up on it)
	msg *message   // the message being sent, between Data and End
}

// offered is every action we let a milter negotiate. rspamd asks for all
// of them whatever the MTA offers and d--j/go-milter refuses a milter that
// asks for more than was offered, so we offer all and decide at the end of
// the message what each modification means (End).
// SMFIF_SETSYMLIST lets the milter choose the macros it gets.
const offered = milter.OptAddHeader | milter.OptChangeBody | milter.OptAddRcpt | milter.OptRemoveRcpt |
	milter.OptChangeHeader | milter.OptQuarantine | milter.OptChangeFrom | milter.OptAddRcptWithArgs | milter.OptSetMacros

// recordingDialer keeps the connection, so End can close it when its
// caller stops waiting.
type recordingDialer struct {
	d    net.Dialer
	conn net.Conn
}

func (r *recordingDialer) Dial(network, addr string) (net.Conn, error) {
	c, err := r.d.Dial(network, addr)
	r.conn = c
	return c, err
}

// Open connects to the milter, negotiates, and sends the connect and HELO
// stages. A Failed verdict means there is no session.
func Open(cfg Config, f Facts, helo string) (*Session, Verdict) {
	macros := milter.NewMacroBag()
	macros.Set(milter.MacroMTAVersion, "goqmail")
	macros.Set(milter.MacroMTAFQDN, f.Me)
	macros.Set(milter.MacroDaemonName, f.Daemon)
	macros.Set(milter.MacroDaemonAddr, f.Local.Addr().String())
	macros.Set(milter.MacroDaemonPort, strconv.Itoa(int(f.Local.Port())))
	macros.Set(milter.MacroIfAddr, f.Local.Addr().String())
	macros.Set(milter.MacroClientAddr, f.Remote.Addr().String())
	macros.Set(milter.MacroClientPort, strconv.Itoa(int(f.Remote.Port())))
	macros.Set(milter.MacroClientName, "unknown")
	macros.Set(milter.MacroClientPTR, "unknown")
	if f.TLS != "" {
		macros.Set(milter.MacroTlsVersion, f.TLS)
		macros.Set(milter.MacroCipher, f.Cipher)
	}
	if f.AuthUser != "" {
		macros.Set(milter.MacroAuthAuthen, f.AuthUser)
		macros.Set(milter.MacroAuthType, f.AuthType)
	}
	d := &recordingDialer{d: net.Dialer{Timeout: cfg.Timeout}}
	client := milter.NewClient(cfg.Network, cfg.Address, milter.WithDialer(d), milter.WithActions(offered),
		milter.WithReadTimeout(cfg.Timeout), milter.WithWriteTimeout(cfg.Timeout))
	cs, err := client.Session(macros)
	if err != nil {
		if d.conn != nil {
			d.conn.Close()
		}
		return nil, Verdict{Kind: Failed, Err: err}
	}
	s := &Session{cfg: cfg, cs: cs, conn: d.conn, macros: macros}
	family := milter.FamilyInet
	if f.Remote.Addr().Is6() {
		family = milter.FamilyInet6
	}
	// No reverse lookup here: "unknown", as Postfix says for a client
	// without a verified name.
	if v := s.verdict(s.cs.Conn("unknown", family, f.Remote.Port(), f.Remote.Addr().String())); v.Kind != Continue {
		return s, v
	}
	return s, s.Helo(helo)
}

// Helo sends HELO or EHLO's argument (a client that sent none is named by
// its address literal).
func (s *Session) Helo(name string) Verdict {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.verdict(s.cs.Helo(name))
}

// Mail sends the sender of a new transaction.
func (s *Session) Mail(sender string) Verdict {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.macros.Set(milter.MacroMailAddr, sender)
	host := ""
	if i := strings.LastIndexByte(sender, '@'); i >= 0 {
		host = sender[i+1:]
	}
	s.macros.Set(milter.MacroMailHost, host)
	return s.verdict(s.cs.Mail(sender, ""))
}

// Rcpt sends one recipient that goqmail accepted.
func (s *Session) Rcpt(rcpt string) Verdict {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.macros.Set(milter.MacroRcptAddr, rcpt)
	host := ""
	if i := strings.LastIndexByte(rcpt, '@'); i >= 0 {
		host = rcpt[i+1:]
	}
	s.macros.Set(milter.MacroRcptHost, host)
	return s.verdict(s.cs.Rcpt(rcpt, ""))
}

// Auth says who logged in ({auth_authen}, {auth_type}) for the stages
// that follow: a client may log in after the milter session began.
func (s *Session) Auth(user, mechanism string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.macros.Set(milter.MacroAuthAuthen, user)
	s.macros.Set(milter.MacroAuthType, mechanism)
}

// Abort ends a transaction that did not reach the end of its data (RSET, a
// refused message, a new MAIL, the client leaving).
func (s *Session) Abort() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msg = nil
	return s.cs.Abort(nil)
}

// Close ends the milter session (SMFIC_QUIT) and its connection.
func (s *Session) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cs.Close()
	if s.conn != nil {
		s.conn.Close()
	}
}

// verdict turns the library's answer into ours.
func (s *Session) verdict(a *milter.Action, err error) Verdict {
	if err != nil {
		return Verdict{Kind: Failed, Err: err}
	}
	switch a.Type {
	case milter.ActionContinue, milter.ActionSkip:
		return Verdict{Kind: Continue}
	case milter.ActionAccept:
		return Verdict{Kind: Accept}
	case milter.ActionDiscard:
		return Verdict{Kind: Discard}
	case milter.ActionReject:
		return Verdict{Kind: Reject, Reply: ReplyReject}
	case milter.ActionTempFail:
		return Verdict{Kind: Reject, Reply: ReplyTempFail}
	case milter.ActionRejectWithCode:
		r, err := smtp.ParseReply(a.SMTPReply)
		if err != nil || r.Code < 400 {
			return Verdict{Kind: Failed, Err: fmt.Errorf("answered %q, which is not a 4xx or 5xx SMTP reply", a.SMTPReply)}
		}
		return Verdict{Kind: Reject, Reply: r}
	}
	return Verdict{Kind: Failed, Err: fmt.Errorf("unknown action %v", a)}
}

// errGaveUp is a message whose end the caller stopped waiting for.
var errGaveUp = errors.New("no answer to the end of the message in time")

// deadline closes the connection at t, so a call blocked on the milter
// returns; the returned stop undoes it if the call finished first.
func (s *Session) deadline(t time.Time) (stop func() bool) {
	timer := time.AfterFunc(time.Until(t), func() {
		if s.conn != nil {
			s.conn.Close()
		}
	})
	return timer.Stop
}
