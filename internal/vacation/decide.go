package vacation

import (
	"net/mail"
	"strings"
	"time"

	"goqmail/internal/address"
)

// Message is what Decide needs to know about a delivered message: the
// envelope sender (qmail-local's SENDER, "" for the null sender) and its
// header.
type Message struct {
	Sender string
	Header mail.Header
}

// Reasons Decide gives; "" means reply.
const (
	ReasonOff       = "vacation is off"
	ReasonNotYet    = "before the start date"
	ReasonOver      = "after the end date"
	ReasonNull      = "null sender (a bounce)"
	ReasonDaemon    = "sender is a mailer daemon or a list address"
	ReasonList      = "list or bulk mail"
	ReasonAuto      = "automatic message (Auto-Submitted)"
	ReasonNotListed = "the user's address is not in To or Cc"
	ReasonSelf      = "sent by the user"
	ReasonBadSender = "the sender is not a valid address"
)

// Decide says whether msg deserves a vacation reply, before the
// once-per-sender check (State). It follows RFC 3834 and what qmail's
// autoresponders (qmail-autoresponder, ezmlm-aware vacation programs)
// check:
//
//   - never to the null sender: bounces are not answered (RFC 3834 2,
//     RFC 5321 4.5.5);
//   - never to MAILER-DAEMON, postmaster-style robots or list addresses
//     (owner-*, *-request, *-owner, listserv, majordomo): qmail's
//     bounces come from MAILER-DAEMON, lists from *-owner/*-return
//     envelopes;
//   - never to list or bulk mail: Precedence: bulk, list or junk;
//     List-Id, List-Unsubscribe, List-Post (RFC 2369, 2919); ezmlm's
//     Mailing-List (RFC 3834 2: "SHOULD NOT respond to ... mailing lists");
//   - never to automatic mail: Auto-Submitted other than "no" (RFC 3834
//     5);
//   - only when one of the user's addresses is in To or Cc (RFC 3834 2:
//     a personal responder responds only to messages sent to the
//     recipient directly), which also skips Bcc'd list copies;
//   - never to the user's own addresses (no reply to oneself, and no
//     loop between two of one's addresses).
func Decide(c Config, m Message, now time.Time) string {
	switch {
	case !c.On:
		return ReasonOff
	case c.From > 0 && now.Unix() < c.From:
		return ReasonNotYet
	case c.Until > 0 && now.Unix() >= c.Until:
		return ReasonOver
	case m.Sender == "" || m.Sender == "#@[]":
		return ReasonNull
	case !validSender(m.Sender):
		return ReasonBadSender
	case robotSender(m.Sender):
		return ReasonDaemon
	case listMail(m.Header):
		return ReasonList
	}
	if v := strings.ToLower(strings.TrimSpace(m.Header.Get("Auto-Submitted"))); v != "" && !strings.HasPrefix(v, "no") {
		return ReasonAuto
	}
	for _, a := range c.Addresses {
		if strings.EqualFold(a, m.Sender) {
			return ReasonSelf
		}
	}
	if !addressedTo(c.Addresses, m.Header) {
		return ReasonNotListed
	}
	return ""
}

// validSender: the reply's recipient must be what RCPT TO accepts, with
// a domain (SENDER comes from the network).
func validSender(sender string) bool {
	a, _, err := address.ParsePath("<"+sender+">", address.Options{})
	return err == nil && a.Domain != ""
}

func robotSender(sender string) bool {
	local, _, _ := strings.Cut(strings.ToLower(sender), "@")
	switch local {
	case "mailer-daemon", "postmaster", "listserv", "majordomo", "root", "nobody":
		return true
	}
	return strings.HasPrefix(local, "owner-") || strings.HasSuffix(local, "-request") ||
		strings.HasSuffix(local, "-owner") || strings.Contains(local, "-return-")
}

func listMail(h mail.Header) bool {
	switch strings.ToLower(strings.TrimSpace(h.Get("Precedence"))) {
	case "bulk", "list", "junk":
		return true
	}
	for _, f := range []string{"List-Id", "List-Unsubscribe", "List-Post", "Mailing-List"} {
		if len(h[f]) > 0 {
			return true
		}
	}
	return false
}

// addressedTo reports whether one of addrs is in a To or Cc field. A
// field that does not parse as an address list is searched as text, for
// the address standing alone (not inside a longer one).
func addressedTo(addrs []string, h mail.Header) bool {
	for _, f := range []string{"To", "Cc"} {
		for _, v := range h[f] {
			if list, err := mail.ParseAddressList(v); err == nil {
				for _, got := range list {
					for _, a := range addrs {
						if strings.EqualFold(got.Address, a) {
							return true
						}
					}
				}
				continue
			}
			lv := strings.ToLower(v)
			for _, a := range addrs {
				if containsAddr(lv, strings.ToLower(a)) {
					return true
				}
			}
		}
	}
	return false
}

func containsAddr(text, addr string) bool {
	for i := 0; ; {
		j := strings.Index(text[i:], addr)
		if j < 0 || addr == "" {
			return false
		}
		start, end := i+j, i+j+len(addr)
		if (start == 0 || !addrByte(text[start-1])) && (end == len(text) || !addrByte(text[end])) {
			return true
		}
		i = start + 1
	}
}

func addrByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-/=?^_`{|}~.@", c) >= 0
}
