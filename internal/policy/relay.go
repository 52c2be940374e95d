// Package policy decides what the SMTP server accepts, as pure functions of
// facts about the session and a configuration snapshot: no I/O, no parsing,
// so every decision can be tested with a golden table (STYLE.md: Postfix's
// smtpd_check, mox's analyze). The SMTP session gathers the facts and
// speaks the reply; it never decides on its own.
package policy

import (
	"goqmail/internal/control"
	"goqmail/internal/smtp"
)

// RcptFacts is what the relay decision depends on.
type RcptFacts struct {
	// Domain of the recipient as it will be queued and routed: the canonical
	// parser's output after envnoathost and localiphost rewriting.
	Domain string
	// RelayClient: the client's IP has RELAYCLIENT in tcp.smtp.
	RelayClient bool
	// Authenticated: the client logged in with SMTP AUTH (RFC 4954
	// section 1: an authenticated client may relay).
	Authenticated bool
	// RelayGrant: the client's IP logged in to a mailbox a short while
	// ago (POP-before-SMTP, relay-ctrl's RELAYCLIENT from a grant file).
	RelayGrant bool
	// Count of recipients already accepted in this transaction.
	Accepted int
	// Postmaster: the client wrote <Postmaster> without a domain, which
	// RFC 5321 4.5.1 says every server must accept.
	Postmaster bool
	// Virtual: the domain is one of the virtual directory's (internal/vdir,
	// alias domains included): ours like a rcpthosts entry, from the
	// moment `goqmail domain add` makes it, without a reload.
	// VirtualUnknown: the directory could not be read to tell.
	Virtual, VirtualUnknown bool
}

// RelayConfig is the snapshot the decision reads.
type RelayConfig struct {
	RcptHosts *control.DomainSet
	MaxRcpt   int
}

// Replies of the recipient checks, in one place.
var (
	ReplyRcptOK       = smtp.Reply{Code: 250, Enh: "2.1.5", Text: "ok"}
	ReplyTooManyRcpts = smtp.Reply{Code: 452, Enh: "4.5.3", Text: "too many recipients for one message; send the rest in another"}
	ReplyRelayDenied  = smtp.Reply{Code: 553, Enh: "5.7.1", Text: "sorry, that domain isn't in my list of allowed rcpthosts; relaying denied"}
	ReplyDomainTemp   = smtp.Reply{Code: 451, Enh: "4.3.0", Text: "temporary failure looking up that domain; try again later"}
)

// CheckRcpt decides one RCPT TO. The domain it judges is exactly the domain
// the message will be routed by, so no address syntax (%, !, quoted or
// escaped @, source routes, literals) can be read one way here and another
// way by delivery. Unlike qmail, an empty or missing rcpthosts accepts no
// domain: it never makes an open relay. The virtual directory's domains are
// accepted as if listed. An authenticated client or one with a live
// POP-before-SMTP grant relays as a RELAYCLIENT does.
func CheckRcpt(f RcptFacts, c RelayConfig) smtp.Reply {
	if c.MaxRcpt > 0 && f.Accepted >= c.MaxRcpt {
		return ReplyTooManyRcpts
	}
	if f.RelayClient || f.Authenticated || f.RelayGrant || f.Postmaster {
		return ReplyRcptOK
	}
	if (c.RcptHosts != nil && c.RcptHosts.Match(f.Domain)) || f.Virtual {
		return ReplyRcptOK
	}
	if f.VirtualUnknown {
		// Maybe one of ours: refusing for good would bounce our own mail.
		return ReplyDomainTemp
	}
	return ReplyRelayDenied
}
