package vacation

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
)

// Reply builds the answer to m (which Decide approved), from the user's
// address m was sent to, to the envelope sender (RFC 3834 4: responses go
// to the Return-Path). It carries Auto-Submitted: auto-replied (RFC 3834
// 5) so that other responders stay quiet, and In-Reply-To and References
// (RFC 5322 3.6.4) so that it threads. The subject is the user's, or
// "Re: " and the original's when the user gave none (RFC 3834 3.1.5
// allows either). LF line ends, as the queue stores messages.
func Reply(c Config, m Message, now time.Time) []byte {
	from := c.Addresses[0]
	for _, a := range c.Addresses {
		if addressedTo([]string{a}, m.Header) {
			from = a
			break
		}
	}
	_, domain, _ := strings.Cut(from, "@")
	subject := c.Subject
	if subject == "" {
		orig, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
		if err != nil {
			orig = m.Header.Get("Subject")
		}
		orig = oneLine(orig)
		if len(orig) > MaxSubject {
			orig = orig[:MaxSubject]
		}
		subject = "Re: " + orig
		if strings.HasPrefix(strings.ToLower(orig), "re:") {
			subject = orig
		}
	}
	var b bytes.Buffer
	field := func(name, value string) { fmt.Fprintf(&b, "%s: %s\n", name, value) }
	field("Date", now.Format(time.RFC1123Z))
	field("From", from)
	field("To", (&mail.Address{Address: m.Sender}).String())
	field("Subject", mime.QEncoding.Encode("utf-8", strings.ToValidUTF8(oneLine(subject), "\uFFFD")))
	buf := make([]byte, 12)
	rand.Read(buf)
	field("Message-ID", "<"+hex.EncodeToString(buf)+".vacation@"+domain+">")
	field("Auto-Submitted", "auto-replied")
	if id := msgID(m.Header.Get("Message-ID")); id != "" {
		field("In-Reply-To", id)
		refs := strings.Fields(oneLine(m.Header.Get("References")))
		var keep []string
		for _, r := range refs {
			if msgID(r) != "" {
				keep = append(keep, r)
			}
		}
		if len(keep) > 20 {
			keep = append(keep[:1], keep[len(keep)-19:]...)
		}
		field("References", strings.Join(append(keep, id), "\n "))
	}
	field("MIME-Version", "1.0")
	field("Content-Type", "text/plain; charset=utf-8")
	field("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\n")
	var qp bytes.Buffer
	w := quotedprintable.NewWriter(&qp)
	body := strings.ReplaceAll(strings.ToValidUTF8(c.Body, "\uFFFD"), "\r\n", "\n")
	if !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	w.Write([]byte(body))
	w.Close()
	b.Write(bytes.ReplaceAll(qp.Bytes(), []byte("\r\n"), []byte("\n")))
	return b.Bytes()
}

// msgID returns s when it is one "<...>" message id without spaces or
// controls, else "".
func msgID(s string) string {
	s = strings.TrimSpace(s)
	if len(s) < 3 || len(s) > 250 || s[0] != '<' || s[len(s)-1] != '>' || strings.ContainsAny(s[1:len(s)-1], "<> \t\r\n") {
		return ""
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return ""
		}
	}
	return s
}
