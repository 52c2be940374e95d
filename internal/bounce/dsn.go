package bounce

import (
	"fmt"
	"net/netip"
	"strings"
)

// foldAt is where fields are folded when a space allows it (RFC 5322
// 2.1.1's recommended 78 characters).
const foldAt = 78

// dsnPart is the message/delivery-status part (RFC 3464 section 2): the
// per-message fields, then one block per failed recipient. Every value is
// ASCII (RFC 3464 fields are US-ASCII; RFC 6533's message/global-delivery-
// status would drop the old parsers this format exists for), so non-ASCII
// text is written as RFC 6533 "\x{HEX}" escapes.
func dsnPart(p Params, mta string) string {
	var b strings.Builder
	writeField(&b, "Reporting-MTA", "dns; "+dsnValue(mta))
	if id := dsnValue(p.QueueID); id != "" {
		writeField(&b, "X-goqmail-Queue-ID", id)
	}
	if !p.Arrival.IsZero() {
		writeField(&b, "Arrival-Date", p.Arrival.Format(dateLayout))
	}
	for _, f := range p.Failures {
		b.WriteString("\n")
		writeField(&b, "Final-Recipient", finalRecipient(f.Rcpt))
		writeField(&b, "Action", "failed")
		status, reply := Status(f.Text)
		writeField(&b, "Status", status)
		if f.Remote != "" {
			writeField(&b, "Remote-MTA", "dns; "+mtaName(f.Remote))
		}
		// RFC 3464 2.3.6: "smtp" only for a reply received from an SMTP
		// server; other diagnostic types must start with "X-".
		if reply != "" {
			writeField(&b, "Diagnostic-Code", "smtp; "+dsnValue(reply))
		} else if text := dsnValue(strings.Join(reportLines(f.Text), "/")); text != "" {
			writeField(&b, "Diagnostic-Code", "X-goqmail; "+text)
		}
	}
	return b.String()
}

// finalRecipient is the Final-Recipient value: "rfc822; addr", or for an
// address with non-ASCII characters RFC 6533's "utf-8" type in its
// utf-8-addr-xtext form, the only form allowed in message/delivery-status.
func finalRecipient(rcpt string) string {
	addr := displayAddr(rcpt)
	if isASCII(addr) {
		return "rfc822; " + dsnValue(addr)
	}
	var b strings.Builder
	b.WriteString("utf-8; ")
	for _, r := range addr {
		// RFC 6533 section 3: QCHAR is printable ASCII except '+', '='
		// and '\'; everything else is an EmbeddedUnicodeChar.
		if r > ' ' && r < 0x7f && r != '+' && r != '=' && r != '\\' {
			b.WriteRune(r)
		} else {
			fmt.Fprintf(&b, `\x{%X}`, r)
		}
	}
	return b.String()
}

// mtaName is the Remote-MTA name: the host name, or an IP address in RFC
// 5321 address-literal form.
func mtaName(remote string) string {
	if ip, err := netip.ParseAddr(remote); err == nil {
		ip = ip.WithZone("") // a zone is local to us, and unchecked text
		if ip.Is4() || ip.Is4In6() {
			return "[" + ip.Unmap().String() + "]"
		}
		return "[IPv6:" + ip.String() + "]"
	}
	return dsnValue(remote)
}

// dsnValue makes caller text fit a DSN field value: valid UTF-8, no control
// characters (so no CR, LF or NUL inside a field), non-ASCII escaped as
// "\x{HEX}", runs of white space collapsed so folding never leaves a line of
// white space alone.
func dsnValue(s string) string {
	var b strings.Builder
	for _, r := range cleanText(s, ' ') {
		switch {
		case r == '\t':
			b.WriteByte(' ')
		case r < 0x80:
			b.WriteRune(r)
		default:
			fmt.Fprintf(&b, `\x{%X}`, r)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// writeField writes "name: value" folded (RFC 5322 2.2.3): before a space
// when the line would pass foldAt, and, for a word too long to fit even
// maxLine, by force at maxLine (the only case that alters the value, by one
// space). value must already be ASCII without control characters.
func writeField(b *strings.Builder, name, value string) {
	line := name + ": " + value
	keep := len(name) + 2
	for len(line) > foldAt {
		cut := strings.LastIndexByte(line[:foldAt+1], ' ')
		if cut <= keep {
			if next := strings.IndexByte(line[foldAt:], ' '); next >= 0 && foldAt+next <= maxLine {
				cut = foldAt + next
			} else if len(line) <= maxLine {
				break
			} else {
				b.WriteString(line[:maxLine] + "\n")
				line = " " + line[maxLine:]
				keep = 1
				continue
			}
		}
		b.WriteString(line[:cut] + "\n")
		line = line[cut:]
		keep = 1
	}
	b.WriteString(line + "\n")
}
