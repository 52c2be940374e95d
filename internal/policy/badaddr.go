package policy

import (
	"goqmail/internal/control"
	"goqmail/internal/smtp"
)

// Replies of badmailfrom and badrcptto, qmail-smtpd's words with their
// enhanced code ("#5.7.1" in qmail's text).
var (
	ReplyBadMailFrom = smtp.Reply{Code: 553, Enh: "5.7.1", Text: "sorry, your envelope sender is in my badmailfrom list"}
	ReplyBadRcptTo   = smtp.Reply{Code: 553, Enh: "5.7.1", Text: "sorry, mail to that recipient is not accepted"}
)

// CheckBadAddrs decides a recipient by control/badmailfrom and
// control/badrcptto. qmail-smtpd looks at badmailfrom at MAIL but refuses
// at each RCPT; so do we, which also puts both refusals where the log
// names sender and recipient. The null sender is never in badmailfrom
// (bounces must get through). The Verdict's Reason names the line that
// matched.
func CheckBadAddrs(sender, rcpt string, badMailFrom, badRcptTo *control.AddrSet) Verdict {
	if line, ok := badMailFrom.Match(sender); ok {
		return Verdict{ReplyBadMailFrom, "badmailfrom " + line}
	}
	if line, ok := badRcptTo.Match(rcpt); ok {
		return Verdict{ReplyBadRcptTo, "badrcptto " + line}
	}
	return Verdict{}
}
