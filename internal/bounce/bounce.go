// Package bounce composes the bounce messages goqmail sends back when
// deliveries fail permanently, and decides where they go.
//
// A bounce is qmail's QSBMF text (qmail.md §5.1: "Hi. This is the qmail-send
// program at ..."), so parsers written for qmail bounces keep working,
// wrapped as an RFC 3462/6522 multipart/report with an RFC 3464
// message/delivery-status part, so modern parsers get the machine-readable
// status, and the original message (or only its header) as the third part.
//
// The package is pure: it writes to an io.Writer and never touches the
// queue; the queue process injects what it writes. Output uses LF line
// ends, like every message in the queue.
package bounce

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Failure is one recipient's permanent failure.
type Failure struct {
	Rcpt   string // the recipient as the sender addressed it (virtualdomains prefix already stripped)
	Text   string // delivery report, qmail style; '/' (or '\n') separates lines
	Remote string // remote MTA host name or IP, "" for local deliveries
}

// Params describes the bounce to write.
type Params struct {
	Now           time.Time
	FromAddr      string // bouncefrom@bouncehost; "" = MAILER-DAEMON@Host
	Host          string // bouncehost, named in the text; "" = ReportingMTA
	ReportingMTA  string // control/me; "" = Host
	QueueID       string
	Arrival       time.Time // zero = no Arrival-Date field
	To            string    // header To: (the original envelope sender, or the double-bounce address)
	OrigSender    string    // envelope sender of the failed message ("" = it was itself a bounce)
	Double        bool      // this is a double bounce
	Failures      []Failure
	MaxOriginal   int64 // <= 0: attach the whole original; else originals longer than this are returned as headers only
	MessageIDHost string
}

// ErrNoFailures is returned by Write for Params without failures: a bounce
// must name at least one recipient.
var ErrNoFailures = errors.New("bounce: no failed recipients")

// errNoBoundary means every boundary tried occurs in the content; with
// random tokens it does not happen.
var errNoBoundary = errors.New("bounce: every boundary tried occurs in the message")

// dateLayout is RFC 5322 3.3 date-time with the day of week, as qmail's
// newfield_datemake writes it.
const dateLayout = "Mon, 02 Jan 2006 15:04:05 -0700"

// boundaryPrefix starts every boundary. "=_" can never occur in
// quoted-printable text, and the random token makes a match in the
// attached message a deliberate act; Write checks anyway.
const boundaryPrefix = "=_goqmail_"

// boundaryTries bounds the search for a boundary absent from the content.
const boundaryTries = 8

// Write writes the bounce for p to w. original supplies the failed message
// (LF line ends, as queued) and size is its length: exactly size bytes are
// read, and fewer is an error. Nothing is written when an error is returned
// before output starts (reading the original, no failures); an error from w
// itself is returned wrapped.
func Write(w io.Writer, p Params, original io.Reader, size int64) error {
	return write(w, p, original, size, rand.Text)
}

// write is Write with the source of random tokens (Message-ID, boundary)
// as a parameter, so tests can produce stable output.
func write(w io.Writer, p Params, original io.Reader, size int64, newToken func() string) error {
	if len(p.Failures) == 0 {
		return ErrNoFailures
	}
	att, err := readOriginal(original, size, p.MaxOriginal)
	if err != nil {
		return err
	}
	host := firstOf(hostName(p.Host), hostName(p.ReportingMTA), "localhost")
	text := humanPart(p, host, att)
	dsn := dsnPart(p, firstOf(hostName(p.ReportingMTA), host))
	third := thirdPart(p, att)

	token := cleanToken(newToken())
	msgID := messageID(p, host, token)
	boundary := ""
	for try := 0; try < boundaryTries && boundary == ""; try++ {
		if try > 0 {
			token = cleanToken(newToken())
		}
		if b := boundaryPrefix + token; !third.contains("--"+b) &&
			!strings.Contains(text, "--"+b) && !strings.Contains(dsn, "--"+b) {
			boundary = b
		}
	}
	if boundary == "" {
		return errNoBoundary
	}

	bw := bufio.NewWriter(w)
	writeHeader(bw, p, host, msgID, boundary, !isASCII(text) || third.cte == "8bit")
	fmt.Fprintf(bw, "--%s\n", boundary)
	if isASCII(text) {
		bw.WriteString("Content-Type: text/plain; charset=us-ascii\n\n")
	} else {
		bw.WriteString("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n")
	}
	bw.WriteString(text)
	fmt.Fprintf(bw, "\n--%s\nContent-Type: message/delivery-status\n\n", boundary)
	bw.WriteString(dsn)
	fmt.Fprintf(bw, "\n--%s\nContent-Type: %s\n", boundary, third.ctype)
	if third.cte != "" {
		fmt.Fprintf(bw, "Content-Transfer-Encoding: %s\n", third.cte)
	}
	bw.WriteString("\n")
	bw.WriteString(third.prefix)
	bw.Write(third.body)
	fmt.Fprintf(bw, "\n--%s--\n", boundary)
	if err := bw.Flush(); err != nil { // bufio keeps the first write error
		return fmt.Errorf("bounce: writing: %w", err)
	}
	return nil
}

// writeHeader writes the bounce's own header, qmail's (Date, From, To,
// Subject) plus what MIME and RFC 3834 need. No part of the multipart has a
// preamble: the first thing after the header is the first boundary.
func writeHeader(bw *bufio.Writer, p Params, host, msgID, boundary string, eightBit bool) {
	from := displayAddr(p.FromAddr)
	if from == "" {
		from = "MAILER-DAEMON@" + host
	}
	to := "undisclosed-recipients:;"
	if p.To != "" {
		to = quoteAddr(displayAddr(p.To))
	}
	fmt.Fprintf(bw, "Date: %s\n", p.Now.Format(dateLayout))
	fmt.Fprintf(bw, "From: Mail Delivery System <%s>\n", quoteAddr(from))
	fmt.Fprintf(bw, "To: %s\n", to)
	bw.WriteString("Subject: failure notice\n")
	fmt.Fprintf(bw, "Message-ID: %s\n", msgID)
	bw.WriteString("Auto-Submitted: auto-replied\n") // RFC 3834 5: no automatic reply to this
	bw.WriteString("MIME-Version: 1.0\n")
	fmt.Fprintf(bw, "Content-Type: multipart/report; report-type=delivery-status;\n\tboundary=\"%s\"\n", boundary)
	if eightBit {
		// RFC 2045 6.4: a multipart holding an 8bit part is itself 8bit.
		bw.WriteString("Content-Transfer-Encoding: 8bit\n")
	}
	bw.WriteString("\n")
}

// returned is the third part: prefix and body are written one after the
// other, so a whole original is never copied.
type returned struct {
	ctype, cte string
	prefix     string
	body       []byte
}

func (r returned) contains(s string) bool {
	return strings.Contains(r.prefix, s) || bytes.Contains(r.body, []byte(s))
}

// thirdPart returns the original as message/rfc822, or its header as
// text/rfc822-headers (RFC 3462 section 3), after a Return-Path line as
// qmail's injectbounce writes it.
func thirdPart(p Params, att *attachment) returned {
	returnPath := "Return-Path: <" + quoteAddr(displayAddr(stripVERP(p.OrigSender))) + ">\n"
	if att.full {
		r := returned{ctype: "message/rfc822", prefix: returnPath, body: att.data}
		if !isASCII(returnPath) || !isASCII(att.data) {
			r.cte = "8bit"
		}
		return r
	}
	body := append([]byte(returnPath), att.data...)
	r := returned{ctype: "text/rfc822-headers", body: body}
	switch {
	case !eightBitClean(body):
		r.body, r.cte = quotedPrintable(body), "quoted-printable"
	case !isASCII(body):
		r.cte = "8bit"
	}
	return r
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// hostName is a configured host name made safe for text and fields.
func hostName(s string) string {
	return truncate(strings.Join(strings.Fields(cleanText(s, ' ')), ""), 255)
}

// messageID is unique by the random token; the time and queue id in it
// help a human match a bounce with the log.
func messageID(p Params, host, token string) string {
	left := p.Now.UTC().Format("20060102150405")
	for _, part := range []string{idPart(p.QueueID), token} {
		if part != "" {
			left += "." + part
		}
	}
	return "<" + left + "@" + firstOf(idPart(p.MessageIDHost), idPart(host), "localhost") + ">"
}

// idPart keeps the characters of s that may appear in a Message-ID
// (RFC 5322 3.6.4 dot-atom-text, ASCII only).
func idPart(s string) string {
	kept := strings.Trim(strings.Map(func(r rune) rune {
		if r == '.' || isAtext(r) && r < 0x80 {
			return r
		}
		return -1
	}, truncate(s, 255)), ".")
	return strings.Join(strings.FieldsFunc(kept, func(r rune) bool { return r == '.' }), ".")
}

// cleanToken keeps a token's letters and digits, which are valid in both a
// MIME boundary (RFC 2046 5.1.1) and a Message-ID, at most 40 of them.
func cleanToken(s string) string {
	s = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
	return truncate(s, 40)
}
