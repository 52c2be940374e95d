package send

import "goqmail/internal/rewrite"

// SRS (internal/srs, docs/outbound.md) lives in send because send is
// where every message meets the routing rules and the only program that
// both knows a message's sender and starts its local deliveries:
//
//   - forwards: each local delivery carries the SRS form of the message's
//     sender (proto.Deliver.ForwardSender), which goqmail-local uses as the
//     envelope sender of what it forwards (and as NEWSENDER). The secret
//     stays here and in smtpd; the delivery process, running as the
//     recipient, never sees it.
//   - bounces: a recipient that is an SRS address of ours is routed as the
//     address it stands for, so a bounce from the next hop, or one the
//     queue makes for a forward that failed, reaches the original sender.
//     smtpd has already refused forged and expired ones at RCPT; here the
//     hash is checked again (a local program may queue anything) but not
//     the age, which smtpd checked when the bounce arrived.

// unSRS returns the address to route for r: the original sender when r
// is a valid SRS address of ours, else r's own.
func (c *Core) unSRS(r *rcpt) string {
	codec := c.cfg.SRS
	if codec == nil || !codec.IsSRS(r.addr) {
		return r.addr
	}
	orig, err := codec.Reverse(r.addr, false)
	if err != nil {
		c.Out.Logf("warning: msg %s: recipient <%s>: %v: delivered as a local address", r.msg.id, r.addr, err)
		return r.addr
	}
	c.Out.Logf("msg %s: SRS recipient <%s> is <%s>", r.msg.id, r.addr, orig)
	return orig
}

// forwardSender is the sender goqmail-local gives what it forwards of
// message m: the SRS address of m's sender, or "" to keep the sender
// (SRS off, the null sender, a sender of our own domains, which pass the
// next hop's SPF check as they are).
func (c *Core) forwardSender(m *message) string {
	codec := c.cfg.SRS
	if codec == nil || m.sender == "" {
		return ""
	}
	if c.cfg.Rules.Route(m.sender).Channel == rewrite.Local {
		return ""
	}
	s, err := codec.Forward(m.sender)
	if err != nil {
		c.Out.Logf("warning: msg %s: no SRS address for sender <%s>: %v", m.id, m.sender, err)
		return ""
	}
	return s
}
