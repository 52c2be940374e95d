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
// TCPREMOTEHOST. "with ESMTP" follows RFC 3848 when the client said EHLO.
// Every client-supplied field goes through safe(), so the header can neither
// break into a new line nor carry bytes a header parser would choke on.
func receivedLine(helo, ip, me string, esmtp bool, now time.Time) string {
	var b strings.Builder
	b.Grow(128 + len(helo))
	b.WriteString("Received: from unknown")
	if helo != "" {
		b.WriteString(" (HELO ")
		b.WriteString(safe(helo, 255))
		b.WriteString(")")
	}
	b.WriteString(" (")
	b.WriteString(safe(ip, 64))
	b.WriteString(")\n  by ")
	b.WriteString(safe(me, 255))
	if esmtp {
		b.WriteString(" with ESMTP; ")
	} else {
		b.WriteString(" with SMTP; ")
	}
	b.WriteString(now.UTC().Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	b.WriteString("\n")
	return b.String()
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
