package policy

import (
	"strings"

	"goqmail/internal/smtp"
)

// SenderFacts is what the MAIL FROM decision depends on.
type SenderFacts struct {
	// Sender is the envelope sender as it will be queued; "" is the null
	// sender <>.
	Sender string
	// AuthRequired: the connection came in on a submission listener (587
	// or 465), where RFC 6409 section 4.3 lets a server insist on
	// authentication before accepting mail.
	AuthRequired bool
	// Authenticated: the client logged in with SMTP AUTH; Owns lists the
	// addresses the directory says the user may send as.
	Authenticated bool
	Owns          []string
}

// SenderConfig is the snapshot the decision reads.
type SenderConfig struct {
	// CheckOwnership is control/authsenders: an authenticated client may
	// only use an envelope sender it owns.
	CheckOwnership bool
}

// Replies of the sender checks.
var (
	ReplySenderOK     = smtp.Reply{Code: 250, Enh: "2.1.0", Text: "ok"}
	ReplyAuthRequired = smtp.Reply{Code: 530, Enh: "5.7.0", Text: "Authentication required"}
	ReplyNotYourAddr  = smtp.Reply{Code: 553, Enh: "5.7.1", Text: "sorry, that sender is not your address"}
)

// CheckSender decides a MAIL FROM. On a submission listener nothing is
// accepted before AUTH (530 5.7.0, RFC 4954 section 6). An authenticated
// user may use only an address it owns, compared case-insensitively in
// full, so a login cannot be used to forge somebody else's mail; the null
// sender stays allowed (bounces and receipts, RFC 5321 4.5.5). Clients
// that did not authenticate are judged by the recipient rules only, as in
// qmail.
func CheckSender(f SenderFacts, c SenderConfig) smtp.Reply {
	if f.AuthRequired && !f.Authenticated {
		return ReplyAuthRequired
	}
	if !f.Authenticated || !c.CheckOwnership || f.Sender == "" {
		return ReplySenderOK
	}
	for _, own := range f.Owns {
		if strings.EqualFold(own, f.Sender) {
			return ReplySenderOK
		}
	}
	return ReplyNotYourAddr
}
