package smtpd

import (
	"goqmail/internal/smtp"
	"strings"
)

// Every reply the server gives, in one place (qmail-smtpd's err_* functions,
// maddy's typed SMTP errors). Each carries an RFC 3463 enhanced code except
// the greeting, HELO/EHLO and 354, which RFC 2034 section 3 exempts.
var (
	replyOK           = smtp.Reply{Code: 250, Enh: "2.0.0", Text: "ok"}
	replyFlushed      = smtp.Reply{Code: 250, Enh: "2.0.0", Text: "flushed"}
	replyVRFY         = smtp.Reply{Code: 252, Enh: "2.0.0", Text: "send some mail, i'll try my best"}
	replyHelp         = smtp.Reply{Code: 214, Enh: "2.0.0", Text: "goqmail: commands are HELO EHLO MAIL RCPT DATA RSET NOOP VRFY HELP QUIT"}
	replyStartData    = smtp.Reply{Code: 354, Text: "go ahead; end with <CRLF>.<CRLF>"}
	replyUnknown      = smtp.Reply{Code: 500, Enh: "5.5.2", Text: "command unrecognized"}
	replyUnimpl       = smtp.Reply{Code: 502, Enh: "5.5.1", Text: "unimplemented"}
	replyLineTooLong  = smtp.Reply{Code: 500, Enh: "5.5.2", Text: "line too long"}
	replyNUL          = smtp.Reply{Code: 500, Enh: "5.5.2", Text: "NUL byte in command"}
	replyHeloSyntax   = smtp.Reply{Code: 501, Enh: "5.5.4", Text: "HELO and EHLO need a host name"}
	replyMailSyntax   = smtp.Reply{Code: 501, Enh: "5.5.4", Text: "syntax: MAIL FROM:<address>"}
	replyRcptSyntax   = smtp.Reply{Code: 501, Enh: "5.5.4", Text: "syntax: RCPT TO:<address>"}
	replyNoArgs       = smtp.Reply{Code: 501, Enh: "5.5.4", Text: "this command takes no argument"}
	replyNestedMail   = smtp.Reply{Code: 503, Enh: "5.5.1", Text: "nested MAIL command; RSET first"}
	replyMailFirst    = smtp.Reply{Code: 503, Enh: "5.5.1", Text: "MAIL first"}
	replyRcptFirst    = smtp.Reply{Code: 503, Enh: "5.5.1", Text: "RCPT first"}
	replyNoValidRcpt  = smtp.Reply{Code: 554, Enh: "5.5.1", Text: "no valid recipients"}
	replyBadParam     = smtp.Reply{Code: 555, Enh: "5.5.4", Text: "unsupported MAIL or RCPT parameter"}
	replyBadSize      = smtp.Reply{Code: 501, Enh: "5.5.4", Text: "bad SIZE parameter"}
	replyBadBody      = smtp.Reply{Code: 501, Enh: "5.5.4", Text: "BODY must be 7BIT or 8BITMIME"}
	replySizeExceeded = smtp.Reply{Code: 552, Enh: "5.3.4", Text: "sorry, that message size exceeds my databytes limit"}
	replyBareCRLF     = smtp.Reply{Code: 554, Enh: "5.6.0", Text: "message refused: it contains a bare CR or LF; SMTP lines end with CRLF (RFC 5321 2.3.8)"}
	replyTooManyHops  = smtp.Reply{Code: 554, Enh: "5.4.6", Text: "too many hops, this message is looping"}
	replyQueueTemp    = smtp.Reply{Code: 451, Enh: "4.3.0", Text: "qq temporary problem; try again later"}
	replyNoSpace      = smtp.Reply{Code: 452, Enh: "4.3.1", Text: "insufficient system storage; try again later"}
	replyTooManyErrs  = smtp.Reply{Code: 421, Enh: "4.7.0", Text: "too many errors; closing connection"}
	replyTooMuchJunk  = smtp.Reply{Code: 421, Enh: "4.7.0", Text: "too many commands without mail; closing connection"}
	replyPregreet     = smtp.Reply{Code: 554, Enh: "5.5.1", Text: "protocol error: you talked before my greeting; closing connection"}
	replyBadPipeline  = smtp.Reply{Code: 554, Enh: "5.5.1", Text: "protocol error: command pipelined where RFC 2920 forbids it; closing connection"}
	replyTimeout      = smtp.Reply{Code: 421, Enh: "4.4.2", Text: "timeout; closing connection"}
	replyDenied       = smtp.Reply{Code: 554, Enh: "5.7.1", Text: "no SMTP service for your address"}
	replyBusy         = smtp.Reply{Code: 421, Enh: "4.3.2", Text: "too many connections; try again later"}
	replyBusyClient   = smtp.Reply{Code: 421, Enh: "4.7.0", Text: "too many connections from your address; try again later"}
	replyBusyRate     = smtp.Reply{Code: 421, Enh: "4.7.0", Text: "too many connections from your address in the last minute; try again later"}
	replyShutdown     = smtp.Reply{Code: 421, Enh: "4.3.2", Text: "server shutting down; try again later"}

	replyRcptLookupTemp = smtp.Reply{Code: 451, Enh: "4.3.0", Text: "temporary failure looking up that recipient; try again later"}
	replyTooManyUnknown = smtp.Reply{Code: 421, Enh: "4.7.0", Text: "too many unknown recipients; closing connection"}
	// RFC 3463 5.1.1 (no such mailbox), with words that say why: the
	// address has the form of an SRS address of ours but is not one we
	// made, or no longer valid (docs/outbound.md).
	replyBadSRS = smtp.Reply{Code: 550, Enh: enhNoSuchUser, Text: "invalid SRS address: forged, or older than this server accepts"}
)

// enhNoSuchUser is RFC 3463's "bad destination mailbox address". Unknown
// recipients have their own limit (maxunknownrcpt), so replies with it do
// not count toward the session's error limit.
const enhNoSuchUser = "5.1.1"

// replyNoSuchUser refuses a recipient of our own domains that does not
// exist, in qmail-local's words ("Sorry, no mailbox here by that name"),
// naming the address (path, as sent in SMTP) so a client that pipelined
// several RCPTs sees which. An address too long to fit the 512-byte reply
// line (RFC 5321 4.5.3.1.5) is left out.
func replyNoSuchUser(path string) smtp.Reply {
	const text = "sorry, no mailbox here by that name"
	if len(path) <= 400 {
		return smtp.Reply{Code: 550, Enh: enhNoSuchUser, Text: path + ": " + text}
	}
	return smtp.Reply{Code: 550, Enh: enhNoSuchUser, Text: text}
}

// Replies that carry the session's values. The reply table in
// docs/smtp.md (replydoc.go) calls them with placeholders.

// replyGreeting is qmail-smtpd's "220 <smtpgreeting> ESMTP".
func replyGreeting(greeting string) smtp.Reply {
	return smtp.Reply{Code: 220, Text: greeting + " ESMTP"}
}

func replyHelo(greeting string) smtp.Reply { return smtp.Reply{Code: 250, Text: greeting} }

// replyEhlo lists the service extensions (RFC 5321 4.1.1.1). size is the
// message size limit (RFC 1870), "" when there is none; STARTTLS and AUTH
// are offered only where they may be used.
func replyEhlo(greeting, size string, starttls, auth bool) smtp.Reply {
	ext := greeting + "\nPIPELINING\n8BITMIME\nSIZE"
	if size != "" {
		ext += " " + size
	}
	ext += "\nENHANCEDSTATUSCODES"
	if starttls {
		ext += "\nSTARTTLS"
	}
	if auth {
		ext += "\nAUTH PLAIN LOGIN"
	}
	return smtp.Reply{Code: 250, Text: ext}
}

func replyBye(greeting string) smtp.Reply { return smtp.Reply{Code: 221, Enh: "2.0.0", Text: greeting} }

// replyQueued accepts a message, naming the queue's id for it, as
// qmail-smtpd's "250 ok <time> qp <pid>".
func replyQueued(unixTime, id string) smtp.Reply {
	return smtp.Reply{Code: 250, Enh: "2.0.0", Text: "ok " + unixTime + " qp " + id}
}

// replyQueueRefused passes on the queue's refusal of a message. The
// queue's full disk ("(#4.3.1)", RFC 3463 "mail system full") is RFC
// 5321's 452, insufficient system storage.
func replyQueueRefused(temporary bool, reason string) smtp.Reply {
	if temporary && strings.HasSuffix(reason, "(#4.3.1)") {
		return smtp.Reply{Code: 452, Enh: "4.3.1", Text: reason}
	}
	if temporary {
		return smtp.Reply{Code: 451, Enh: "4.3.0", Text: reason}
	}
	return smtp.Reply{Code: 554, Enh: "5.3.0", Text: reason}
}

// replyAddrRefused refuses an address that does not parse. which is
// "sender" or "recipient", enh RFC 3463's X.1.7 or X.1.3 to match, why
// one of addrWhy's texts.
func replyAddrRefused(enh, which, why string) smtp.Reply {
	return smtp.Reply{Code: 501, Enh: enh, Text: which + " refused: " + why}
}

// Session limits on misbehaviour (Postfix's smtpd_hard_error_limit and
// smtpd_junk_command_limit play the same role).
const (
	maxErrors  = 10
	maxJunk    = 100
	maxCmdLine = 2000 // bytes; RFC 5321 4.5.3.1.4 asks for at least 512
)
