package inject

import (
	"bytes"
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// Config is what header completion and envelope parsing need: the qmail-inject
// controls (control/defaulthost, defaultdomain, idhost, each overridable from
// the environment by the caller) and who is sending.
type Config struct {
	DefaultHost   string // added to addresses without a host ("" = none)
	DefaultDomain string // added to hosts without a dot ("" = none)
	IDHost        string // host part of a generated Message-ID
	Identity      Identity
	Now           func() time.Time // nil: time.Now; the Date field uses its zone
	PID           int              // in the Message-ID
}

// Completer completes message headers. It counts the messages it has
// completed so that Message-IDs it makes within one second differ.
type Completer struct {
	Config
	seq int
}

// NewCompleter returns a Completer for cfg.
func NewCompleter(cfg Config) *Completer { return &Completer{Config: cfg} }

// Result is a completed header.
type Result struct {
	// Header is the completed header, each field ending with LF, without
	// the empty line that separates it from the body.
	Header []byte
	// Recipients are the envelope addresses (internal form, local@domain,
	// deduplicated) of To, Cc, Bcc and Apparently-To, or of Resent-To,
	// Resent-Cc and Resent-Bcc when the message is being resent: what -t
	// sends to (qmail-inject -h, Postfix sendmail -t).
	Recipients []string
	// Warnings describe address fields that could not be parsed (left
	// unchanged, and no recipients taken from them) and addresses that
	// cannot be envelope recipients.
	Warnings []string
}

// fieldKind says what completion does with a field (qmail-inject.c
// doheaderfield).
type fieldKind uint8

const (
	kindOther     fieldKind = iota
	kindAddress             // addresses completed
	kindRecipient           // completed, and recipients for -t
	kindResentRecipient
)

func classify(lower string) fieldKind {
	switch lower {
	case "to", "cc", "bcc", "apparently-to":
		return kindRecipient
	case "resent-to", "resent-cc", "resent-bcc":
		return kindResentRecipient
	case "from", "sender", "reply-to", "return-receipt-to", "errors-to",
		"resent-from", "resent-sender", "resent-reply-to":
		return kindAddress
	}
	return kindOther
}

// dropped: Bcc must not reach the recipients (RFC 5322 3.6.3), Return-Path
// is the final delivery's to write (RFC 5321 4.4), and a Content-Length
// from the client is wrong after any change ("some things are just too
// stupid", qmail-inject.c).
func dropped(lower string) bool {
	switch lower {
	case "bcc", "resent-bcc", "return-path", "content-length":
		return true
	}
	return false
}

// isResentField: any of these makes the message a resent one, whose
// recipients are the Resent- ones and whose missing fields are added with
// the Resent- prefix (RFC 5322 3.6.6, qmail-inject flagresent).
func isResentField(lower string) bool {
	switch lower {
	case "resent-sender", "resent-from", "resent-reply-to", "resent-to",
		"resent-cc", "resent-bcc", "resent-date", "resent-message-id":
		return true
	}
	return false
}

// Complete completes a header as returned by SplitHeader. The fields it
// adds come first, in qmail-inject's order (Date, Message-ID, From, and the
// "recipient list not shown" Cc when there is neither To nor Cc); the
// fields of the message follow in their order, unchanged except for
// address completion and the fields that are dropped.
func (c *Completer) Complete(header []byte) Result {
	fields := parseFields(header)
	seen := map[string]bool{}
	resent := false
	for _, f := range fields {
		lower := strings.ToLower(f.name)
		seen[lower] = true
		resent = resent || isResentField(lower)
	}
	var res Result
	var rcpts, resentRcpts []string
	var kept []byte
	for _, f := range fields {
		lower := strings.ToLower(f.name)
		raw := f.raw
		if kind := classify(lower); kind != kindOther {
			var addrs []string
			var warnings []string
			raw, addrs, warnings = c.completeField(f, kind != kindAddress)
			res.Warnings = append(res.Warnings, warnings...)
			switch kind {
			case kindRecipient:
				rcpts = append(rcpts, addrs...)
			case kindResentRecipient:
				resentRcpts = append(resentRcpts, addrs...)
			}
		}
		if !dropped(lower) {
			kept = append(kept, raw...)
		}
	}
	res.Recipients = dedupe(rcpts)
	if resent {
		res.Recipients = dedupe(resentRcpts)
	}
	res.Header = append(c.missingFields(seen, resent), kept...)
	return res
}

// missingFields returns the fields qmail-inject adds (finishheader).
func (c *Completer) missingFields(seen map[string]bool, resent bool) []byte {
	prefix := ""
	if resent {
		prefix = "Resent-"
	}
	lp := strings.ToLower(prefix)
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	var b bytes.Buffer
	if !seen[lp+"date"] {
		// RFC 5322 3.3 date-time, in the local zone as qmail-inject and
		// Postfix write it.
		fmt.Fprintf(&b, "%sDate: %s\n", prefix, now.Format(time.RFC1123Z))
	}
	if !seen[lp+"message-id"] {
		c.seq++
		// RFC 5322 3.6.4: unique by time, process and counter on this host.
		fmt.Fprintf(&b, "%sMessage-ID: <%s.%d.%d@%s>\n", prefix, now.UTC().Format("20060102150405"), c.PID, c.seq, c.IDHost)
	}
	if !seen[lp+"from"] {
		fmt.Fprintf(&b, "%sFrom: %s\n", prefix, c.fromValue())
	}
	if !seen[lp+"to"] && !seen[lp+"cc"] {
		// RFC 5322 3.6.3 allows a message without destination fields, but
		// qmail-inject shows the reader that the recipients were hidden.
		fmt.Fprintf(&b, "%sCc: recipient list not shown: ;\n", prefix)
	}
	return b.Bytes()
}

// fromValue is the From of a message without one: "Full Name <user@host>"
// with the name quoted or RFC 2047-encoded as needed by net/mail.
func (c *Completer) fromValue() string {
	id := c.Identity
	user := id.User
	if user == "" {
		user = "anonymous"
	}
	host := id.Host
	if host == "" {
		host = c.DefaultHost
	}
	if host != "" && c.needsDomain(host) {
		host += "." + c.DefaultDomain
	}
	a := mail.Address{Name: id.FullName, Address: user + "@" + host}
	return a.String()
}

// completeField completes the addresses of one address field and returns
// its new bytes, the envelope forms of its addresses (for recipient fields)
// and warnings. A field net/mail cannot parse is returned unchanged.
func (c *Completer) completeField(f field, recipients bool) ([]byte, []string, []string) {
	v := f.value()
	if len(bytes.TrimSpace(v)) == 0 {
		return f.raw, nil, nil
	}
	completed, changed, err := completeList(v, c.noHost(), c.noDot())
	if err != nil {
		completed, changed = v, false // net/mail may still understand it
	}
	list, perr := mail.ParseAddressList(string(unfold(completed)))
	if perr != nil {
		if err == nil {
			err = perr
		}
		what := "left unchanged"
		if recipients {
			what += ", no recipients taken from it"
		}
		return f.raw, nil, []string{fmt.Sprintf("%s: cannot parse the address list (%v); %s", f.name, err, what)}
	}
	raw := f.raw
	if changed {
		raw = append([]byte(f.name+":"), completed...)
	}
	if !recipients {
		return raw, nil, nil
	}
	var addrs, warnings []string
	for _, a := range list {
		e, err := envelopeForm(a.Address)
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("%s: %q is not usable as a recipient: %v", f.name, a.Address, err))
			continue
		}
		addrs = append(addrs, e)
	}
	return raw, addrs, warnings
}

// noHost is the text completing an address without '@' (qmail rwnoat,
// followed by rwnodot on the host it added).
func (c *Config) noHost() string {
	if c.DefaultHost == "" {
		return ""
	}
	if c.needsDomain(c.DefaultHost) {
		return "@" + c.DefaultHost + "." + c.DefaultDomain
	}
	return "@" + c.DefaultHost
}

// noDot is the text completing a host without a dot (qmail rwnodot).
func (c *Config) noDot() string {
	if c.DefaultDomain == "" {
		return ""
	}
	return "." + c.DefaultDomain
}

func (c *Config) needsDomain(host string) bool {
	return c.DefaultDomain != "" && !strings.Contains(host, ".") && !strings.HasPrefix(host, "[")
}

// unfold removes the line ends of a folded field value (RFC 5322 2.2.3:
// each is followed by white space that stays).
func unfold(v []byte) []byte {
	return bytes.TrimSpace(bytes.ReplaceAll(v, []byte("\n"), nil))
}

func dedupe(in []string) []string {
	seen := make(map[string]bool, len(in))
	out := in[:0:0]
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
