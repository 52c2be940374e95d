package smtpd

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"goqmail/internal/milterclient"
	"goqmail/internal/policy"
	"goqmail/internal/smtp"
	"goqmail/internal/spp"
)

// documented is one reply and when the server gives it.
type documented struct {
	wire string // as sent, lines separated by "\n", no CRLF
	when string
}

func doc(r smtp.Reply, when string) documented {
	return documented{strings.TrimSuffix(strings.ReplaceAll(r.String(), "\r\n", "\n"), "\n"), when}
}

// replyTable is every reply the server gives, in the order of a session:
// the reply table of docs/smtp.md is generated from it (`go test
// ./internal/smtpd -run TestSMTPDocUpToDate -update`), and
// TestEveryReplyDocumented fails when a reply declared in this package or
// in policy is missing here. Replies that carry values are shown with
// <placeholders>.
var replyTable = []documented{
	doc(replyGreeting("<smtpgreeting>"), "the greeting"),
	doc(replyDenied, "at connect: the client matches a `deny` rule of `tcp.smtp`; the connection is closed"),
	doc(replyBusy, "at connect: the listener's budget (`concurrencyincoming` for port 25, `concurrencysubmission` for 587 and 465) is full; closed (465: closed before TLS, without a reply)"),
	doc(replyBusyClient, "at connect: the client's address (IPv6: its /64) has `concurrencyperip` sessions on this budget already; closed"),
	doc(replyBusyRate, "at connect: the client's address made `connectrateperip` connections to this budget in the last minute; closed"),
	doc(replyShutdown, "at connect or at DATA while the server stops; closed"),
	doc(replyPregreet, "the client sent something before the greeting; closed"),
	doc(replyHelo("<smtpgreeting>"), "HELO"),
	doc(replyEhlo("<smtpgreeting>", "<databytes>", true, true), "EHLO. `SIZE` without a number when `databytes` is 0; `STARTTLS` when `servercert.pem` is loaded and TLS is not on yet; `AUTH` on TLS sessions (or everywhere with `authplaintext` 1) when the auth service is there"),
	doc(replyHeloSyntax, "HELO or EHLO without a host name"),
	doc(replyReadyTLS, "STARTTLS: the TLS handshake follows (RFC 3207)"),
	doc(replyTLSAgain, "STARTTLS on a TLS session"),
	doc(replyTLSInjection, "commands pipelined after STARTTLS, sent in plain text where TLS was asked for (CVE-2011-0411); closed"),
	{strings.TrimSuffix(authChallenge("<base64 challenge>"), "\r\n"), "AUTH LOGIN asks for the user name, then the password; AUTH PLAIN without an initial response gets an empty challenge"},
	doc(replyAuthOK, "AUTH: the credentials are right"),
	doc(replyAuthBad, "AUTH: unknown user or wrong password (one answer for both), or a PLAIN authorization identity other than the login"),
	doc(replyAuthTemp, "AUTH: the auth service failed or did not answer in time"),
	doc(replyAuthTooMany, "the third failed AUTH of a session; closed"),
	doc(replyAuthNeedsTLS, "AUTH on a plain connection (without `authplaintext` 1)"),
	doc(replyAuthEHLO, "AUTH before EHLO"),
	doc(replyAuthTwice, "AUTH after a successful AUTH"),
	doc(replyAuthInMail, "AUTH between MAIL and the end of the transaction"),
	doc(replyAuthMech, "AUTH with a mechanism other than PLAIN and LOGIN"),
	doc(replyAuthSyntax, "AUTH without a mechanism, or with more than one argument after it"),
	doc(replyAuthCancelled, "the client answered a 334 with `*`"),
	doc(replyAuthBase64, "a response that is not base64"),
	doc(replyAuthPlainForm, "a PLAIN response that is not authzid NUL user NUL password"),
	doc(replyAuthLineLong, "a response line over 12288 bytes (RFC 4954 section 4)"),
	doc(policy.ReplySenderOK, "MAIL: sender accepted"),
	doc(replyNestedMail, "MAIL during a transaction"),
	doc(replyMailSyntax, "MAIL without `FROM:`"),
	doc(replyAddrRefused("5.1.7", "sender", "<why>"), "MAIL with an address that does not parse; <why> is one of: "+addrWhyList()),
	doc(replyBadSize, "MAIL with SIZE= that is not a number"),
	doc(replyBadBody, "MAIL with BODY= other than 7BIT or 8BITMIME"),
	doc(replyBadParam, "MAIL or RCPT with another parameter (AUTH= is taken, and ignored, where AUTH is offered)"),
	doc(replySizeExceeded, "MAIL with SIZE= over `databytes`, or data over it (the rest is read and dropped)"),
	doc(policy.ReplyAuthRequired, "MAIL before AUTH on submission (587) and smtps (465)"),
	doc(policy.ReplyNotYourAddr, "MAIL from an authenticated user with a sender the user does not own (`authsenders` 1)"),
	doc(policy.ReplyRcptOK, "RCPT: recipient accepted"),
	doc(replyMailFirst, "RCPT or DATA before MAIL"),
	doc(replyRcptSyntax, "RCPT without `TO:`"),
	doc(replyAddrRefused("5.1.3", "recipient", "<why>"), "RCPT with an address that does not parse, <why> as for MAIL"),
	doc(policy.ReplyRelayDenied, "RCPT for a domain not in `rcpthosts` (nor a virtual domain) from a client that may not relay"),
	doc(policy.ReplyDomainTemp, "RCPT for a domain not in `rcpthosts` while the virtual directory cannot be read"),
	doc(policy.ReplyTooManyRcpts, "RCPT past `maxrcpt` (the recipients accepted so far stay)"),
	doc(replyNoSuchUser("<address>"), "RCPT for an address of a local or virtual domain that does not exist (the address is left out when it is over 400 bytes)"),
	doc(replyRcptLookupTemp, "RCPT whose existence cannot be checked now"),
	doc(replySPFFail("mailfrom", "<domain>", "<client ip>"), "RCPT for a domain in `spfreject`: SPF of the MAIL FROM domain says `fail` for the client (postmaster is exempt)"),
	doc(replySPFFail("helo", "<helo>", "<client ip>"), "RCPT for a domain in `spfreject`: SPF of the HELO name says `fail` for the client"),
	doc(replySPFTemp, "RCPT for a domain in `spfreject` while the SPF lookups for the MAIL FROM domain fail (temperror)"),
	doc(replyBadSRS, "RCPT for an SRS address of `srsdomain` whose hash matches no secret of `srssecrets`, or older than `srsmaxage` days (docs/outbound.md)"),
	doc(replyTooManyUnknown, "one unknown recipient more than `maxunknownrcpt` in a session (a directory harvest); closed"),
	doc(policy.ReplyBadMailFrom, "RCPT after a MAIL whose sender is in `badmailfrom` (the address, or its `@domain`), as qmail-smtpd refuses it"),
	doc(policy.ReplyBadRcptTo, "RCPT for an address in `badrcptto` (the address, or its `@domain`)"),
	doc(policy.ReplyRBLSMTPD("<text>"), "RCPT (but postmaster and abuse) from a client whose `tcp.smtp` line sets `RBLSMTPD` to text; `-text` gives 553 5.7.1 instead (rblsmtpd)"),
	doc(policy.ReplyBadHelo, "RCPT (but postmaster and abuse) from a client whose HELO/EHLO name is in `badhelo`"),
	doc(policy.ReplyDNSBL("your address [<ip>] is listed at <zone>"), "RCPT (but postmaster and abuse) from a client listed in `dnsbl` zones whose weights reach `dnsblthreshold`; the text is the zone line's, else the zone's TXT record, else this one"),
	doc(policy.ReplyNoRDNS(netip.MustParseAddr("192.0.2.1")), "RCPT (but postmaster and abuse) from a client without a PTR record (`requirerdns` 1 or 2)"),
	doc(policy.ReplyRDNSMismatch(netip.MustParseAddr("192.0.2.1")), "RCPT (but postmaster and abuse) from a client none of whose PTR names resolves back to it (`requirerdns` 2)"),
	doc(policy.ReplyRDNSTemp, "RCPT (but postmaster and abuse) when the reverse DNS lookup `requirerdns` needs failed"),
	doc(policy.ReplyGreylisted(5*time.Minute), "RCPT whose (client network, sender, recipient) is new to greylisting, or retried before `greylistdelay` is over; says when to come back. Not counted as an error"),
	doc(replyGreyUnavailable, "RCPT that greylisting would decide while its state cannot be read (logged as an alert)"),
	doc(policy.ReplyRate(policy.RateFacts{What: "recipients", Who: "your address <ip>", Limit: 1000, Window: time.Hour, Wait: 6 * time.Minute}),
		"RCPT past `rcptrateperip` or `rcptrateperuser` (`user <name>`) in `ratewindow`; MAIL past `msgrateperip` or `msgrateperuser` says `messages`. Not counted as an error"),
	doc(replyRcptFirst, "DATA before any RCPT"),
	doc(replyNoValidRcpt, "DATA when every RCPT was refused"),
	doc(replyNoArgs, "DATA or STARTTLS with an argument"),
	doc(replyQueueTemp, "DATA or the end of data when the queue cannot be reached"),
	doc(replyNoSpace, "MAIL when the queue's file system has less free than queueminfree plus 1.5 times the SIZE announced"),
	doc(replyStartData, "DATA: send the message"),
	doc(replyQueued("<unixtime>", "<queue id>"), "end of data: the message is on disk (fsync'd) in the queue"),
	doc(replyQueueRefused(true, "<the queue's reason>"), "end of data: the queue refused the message for now"),
	doc(replyQueueRefused(true, "qq out of disk space (#4.3.1)"), "end of data: the queue's disk is full (ENOSPC or EDQUOT)"),
	doc(replyQueueRefused(false, "<the queue's reason>"), "end of data: the queue refused the message for good"),
	doc(replyQueueRefused(true, "<text> (#4.3.0)"), "end of data with a QMAILQUEUE program (`qmailqueue`, QMAILQUEUE in `tcp.smtp`): it exited with a temporary code; <text> is qmail's for the code (\"qq timeout\", \"mail server temporarily rejected message\", ...), or the program's own after Z on descriptor 6 (exit 82)"),
	doc(replyQueueRefused(false, "<text> (#5.3.0)"), "end of data with a QMAILQUEUE program: it exited with a permanent code (11 to 40), or 82 with D and its own text on descriptor 6"),
	doc(replyDiscarded, "end of data: a milter said to discard the message; nothing is queued"),
	doc(milterclient.ReplyTempFail, "MAIL, RCPT or end of data: a milter said tempfail, or is down, slow or broken with `onfail=tempfail` (the default), or asked for a change goqmail does not make (a new body, recipients or sender)"),
	doc(milterclient.ReplyReject, "MAIL, RCPT or end of data: a milter said reject; a milter's own reply (SMFIR_REPLYCODE) is passed on as it wrote it"),
	doc(spp.ReplyFailed, "any command with qmail-spp plugins (`smtpplugins`): a plugin could not run, crashed, ran past `timeoutplugin` or answered something that is not a reply; a plugin's own E or R reply is passed on as it wrote it"),
	doc(replyBareCRLF, "end of data: the data held a bare CR or LF (only CRLF.CRLF ends the data)"),
	doc(replyTooManyHops, "end of data: 100 or more Received and Delivered-To lines"),
	doc(replyDMARCReject("<domain>"), "end of data, with `dmarcreject` 1: the message fails DMARC and its From domain's policy is `reject` (after `pct=` sampling)"),
	doc(replyDMARCTemp, "end of data, with `dmarcreject` 1: the From domain's policy is `reject` and a DKIM or SPF check that could have passed it failed for DNS reasons"),
	doc(replyFlushed, "RSET"),
	doc(replyOK, "NOOP"),
	doc(replyVRFY, "VRFY (never says whether a user exists)"),
	doc(replyHelp, "HELP"),
	doc(replyBye("<smtpgreeting>"), "QUIT; closed"),
	doc(replyUnimpl, "EXPN, ETRN, TURN, ATRN, BDAT, SEND, SOML, SAML; STARTTLS without a certificate; AUTH without the auth service (and with `sendmail -bs`)"),
	doc(replyUnknown, "any other command"),
	doc(replyLineTooLong, "a command line over 2000 bytes (the session goes on)"),
	doc(replyNUL, "a NUL byte in a command line"),
	doc(replyBadPipeline, "bytes already waiting after a command other than MAIL, RCPT, RSET and QUIT, which RFC 2920 section 3.1 says must be waited for, or after any command but QUIT without EHLO; closed"),
	doc(replyTooManyErrs, "the tenth 4xx or 5xx reply of a session (452 and 550 5.1.1 do not count); closed"),
	doc(replyTooMuchJunk, "a hundred HELO, EHLO, RSET, NOOP, VRFY, HELP and unknown or unimplemented commands since the last message accepted; closed"),
	doc(replyTimeout, "no command, data or AUTH response within `timeoutsmtpd`, or the session is older than `timeoutsmtpsession`; closed"),
}

func addrWhyList() string {
	var w []string
	for _, a := range addrWhy {
		w = append(w, "\""+a.why+"\"")
	}
	return strings.Join(append(w, "\"bad address syntax\""), ", ")
}

// replyMarkdown renders replyTable for docs/smtp.md.
func replyMarkdown() string {
	var b strings.Builder
	b.WriteString("| reply | when |\n|---|---|\n")
	for _, d := range replyTable {
		var lines []string
		for _, l := range strings.Split(d.wire, "\n") {
			lines = append(lines, "`"+strings.ReplaceAll(l, "|", "\\|")+"`")
		}
		fmt.Fprintf(&b, "| %s | %s |\n", strings.Join(lines, " "), strings.ReplaceAll(d.when, "|", "\\|"))
	}
	return b.String()
}
