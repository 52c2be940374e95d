package smtpd

import (
	"strings"
	"time"
)

// receivedLine builds qmail-smtpd's trace header (received.c):
//
//	Received: from unknown (HELO helo) (192.0.2.1)
//	  by me with ESMTP; Thu, 26 Nov 2026 20:21:58 +0000
//
// goqmail does no reverse DNS, so the host is "unknown" as in qmail without
// TCPREMOTEHOST. A logged-in client adds "(authenticated user X)" after the
// IP, as qmail's SMTP AUTH patches do. Every client-supplied field goes
// through safe(), so the header can neither break into a new line nor carry
// bytes a header parser would choke on.
func receivedLine(t trace, me string, now time.Time) string {
	var b strings.Builder
	b.Grow(160 + len(t.helo))
	b.WriteString("Received: from unknown")
	if t.helo != "" {
		b.WriteString(" (HELO ")
		b.WriteString(safe(t.helo, 255))
		b.WriteString(")")
	}
	b.WriteString(" (")
	b.WriteString(safe(t.ip, 64))
	b.WriteString(")")
	if t.authUser != "" {
		b.WriteString(" (authenticated user ")
		b.WriteString(safe(t.authUser, 255))
		b.WriteString(")")
	}
	b.WriteString("\n  by ")
	b.WriteString(safe(me, 255))
	b.WriteString(" with ")
	b.WriteString(t.protocol())
	b.WriteString("; ")
	b.WriteString(now.UTC().Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	b.WriteString("\n")
	return b.String()
}

// trace is what the Received line says about the session.
type trace struct {
	helo, ip string
	esmtp    bool   // the client said EHLO
	tls      bool   // over STARTTLS or implicit TLS
	authUser string // logged in with AUTH as this user
}

// protocol is the "with" keyword of RFC 3848: SMTP after HELO, ESMTP after
// EHLO, with S for TLS and A for AUTH. TLS and AUTH are ESMTP extensions,
// so they make it ESMTP even if the client said HELO afterwards.
func (t trace) protocol() string {
	switch {
	case t.tls && t.authUser != "":
		return "ESMTPSA"
	case t.tls:
		return "ESMTPS"
	case t.authUser != "":
		return "ESMTPA"
	case t.esmtp:
		return "ESMTP"
	}
	return "SMTP"
}

// safe keeps qmail's character set for Received fields (received.c safeput,
// plus notqmail's [ and ]) and replaces everything else with '?'.
func safe(s string, max int) string {
	if len(s) > max {
		s = s[:max]
	}
	b := []byte(s)
	for i, c := range b {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte(".@%+/=:-[]", c) >= 0:
		default:
			b[i] = '?'
		}
	}
	return string(b)
}
