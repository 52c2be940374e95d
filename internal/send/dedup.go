package send

import (
	"goqmail/internal/proto"
)

// Recipients that name the same mailbox get one delivery (issue 11, item 4:
// 100 spellings of one address were 100 copies). The comparison follows the
// delivery rules, after rewriting (internal/rewrite), so it is made here,
// where every way in meets (SMTP, sendmail, forwards, bounces), and not at
// RCPT time, where the route is not known:
//
//   - the domain is compared without ASCII case (RFC 5321 section 2.4: domain
//     names are case-insensitive);
//   - a local delivery's local part is too, because every lookup it drives
//     folds ASCII case: users/assign and qmail-getpw's passwd match
//     (internal/assign), the .qmail extension (internal/dotqmail.SafeExt),
//     the alias user's extension and the aliases file, the virtual
//     directory (internal/vdir);
//   - a remote local part is compared exactly: RFC 5321 section 2.4 leaves
//     its case to the receiving host, so Joe@ and joe@ elsewhere may be two
//     people.
//
// Only ASCII letters are folded, as qmail's case_lowerb: two addresses that
// differ in other case are still delivered twice, never merged wrongly.
// The first recipient in the envelope's order is delivered; the others are
// done with it. The choice is a function of the envelope and the routes, so
// a restarted send makes the same one; their state is written only when the
// message needs per-recipient records anyway (recordDups).

// mailboxes remembers the first recipient of each mailbox in one message.
type mailboxes map[string]*rcpt

// first returns the earlier recipient with r's mailbox, or nil (and
// remembers r as the first of its mailbox).
func (m *mailboxes) first(r *rcpt) *rcpt {
	if *m == nil {
		*m = mailboxes{}
	}
	key := mailboxKey(r.ch, r.virtual, r.to)
	if f, ok := (*m)[key]; ok {
		return f
	}
	(*m)[key] = r
	return nil
}

// mailboxKey is the routed address with the case the delivery ignores
// folded away.
func mailboxKey(ch channel, virtual bool, to string) string {
	local, domain := to, ""
	for i := len(to) - 1; i >= 0; i-- {
		if to[i] == '@' {
			local, domain = to[:i], to[i+1:]
			break
		}
	}
	if ch == chanLocal {
		local = lowerASCII(local)
	}
	prefix := "R"
	switch {
	case ch == chanLocal && virtual:
		prefix = "V"
	case ch == chanLocal:
		prefix = "L"
	}
	return prefix + local + "@" + lowerASCII(domain)
}

// duplicate takes a pending recipient out of delivery: its mailbox gets
// the message through r.dupOf.
func (c *Core) duplicate(r *rcpt) {
	r.state = proto.StateDone
	r.msg.dups = append(r.msg.dups, r)
	c.Out.Logf("msg %s: recipient <%s> is the mailbox of <%s>: delivered once", r.msg.id, r.addr, r.dupOf.addr)
}

// recordDups writes the duplicates' final state before the message's
// first per-recipient record, so that `goqmail queue list` and a restart
// see them done. A message finished in one go needs no record at all.
func (c *Core) recordDups(msg *message) {
	if msg.dupsRecorded {
		return
	}
	msg.dupsRecorded = true
	for _, d := range msg.dups {
		c.Out.Update(proto.Update{ID: msg.id, Index: d.idx, State: proto.StateDone,
			Text: "Same mailbox as <" + d.dupOf.addr + ">: delivered once with it. (#2.0.0)"})
	}
}

// lowerASCII lower-cases A-Z only, as qmail's case_lowerb.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; 'A' <= c && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
