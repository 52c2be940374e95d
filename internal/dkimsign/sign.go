// Package dkimsign is goqmail-dkimsign's logic: it holds the DKIM private
// keys and nothing else, takes messages from the queue over
// run/dkimsign.sock (internal/proto, dkim.go) and answers each with a
// DKIM-Signature field (RFC 6376, relaxed/relaxed, rsa-sha256 or
// ed25519-sha256 of RFC 8463) made with go-msgauth's signer.
//
// It decides only which key signs: the domain of the From: field, or the
// nearest parent domain with a key (relaxed DMARC alignment, RFC 7489
// 3.1.1, accepts a signature of the organizational domain). Whether a
// message may be signed at all is decided before it gets here: the queue
// asks only for mail from trusted submitters (docs/outbound.md).
//
// SECURITY: runs as its own account (goqmailk), the only one that may read
// ROOT/dkim. It parses the header block of each message (to find From:
// and to sign), hashes the body without parsing it, and accepts
// connections only from the queue's uid.
package dkimsign

import (
	"bufio"
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"net/mail"
	"net/textproto"
	"strings"

	"github.com/emersion/go-msgauth/dkim"

	"goqmail/internal/dkimkey"
	"goqmail/internal/proto"
)

// Key is one domain's signing key.
type Key struct {
	Domain, Selector string
	Signer           crypto.Signer
}

// Keys maps a domain (lower case) to its key; immutable once loaded.
type Keys struct{ byDomain map[string]Key }

// LoadKeys reads the key of every dkimkeys line ("domain:selector") from
// ROOT/dkim. A key that cannot be read or parsed is an error that names
// its file and the fix: the signer does not start (or keeps its old keys
// on a reload) rather than send mail unsigned without saying so.
func LoadKeys(root string, lines []string) (*Keys, error) {
	k := &Keys{byDomain: map[string]Key{}}
	for domain, sel := range dkimkey.Active(lines) {
		path := dkimkey.Path(root, domain, sel)
		s, err := dkimkey.Load(path)
		if err != nil {
			return nil, fmt.Errorf("control/dkimkeys: %s:%s: %w (make it with goqmail dkim keygen %s --selector %s, or remove the line)", domain, sel, err, domain, sel)
		}
		k.byDomain[domain] = Key{Domain: domain, Selector: sel, Signer: s}
	}
	return k, nil
}

// Len is the number of domains with a key.
func (k *Keys) Len() int { return len(k.byDomain) }

// For finds the key for mail from domain: its own, else the nearest
// parent's.
func (k *Keys) For(domain string) (Key, bool) {
	d := strings.ToLower(strings.TrimSuffix(domain, "."))
	for d != "" {
		if key, ok := k.byDomain[d]; ok {
			return key, true
		}
		_, parent, ok := strings.Cut(d, ".")
		if !ok || !strings.Contains(parent, ".") {
			break // never a top-level domain
		}
		d = parent
	}
	return Key{}, false
}

// maxHeader bounds the header block the signer holds while it looks for
// From:; a message with more is sent unsigned (and said so).
const maxHeader = 256 << 10

// signedFields are the fields signed when present (RFC 6376 5.4.1's
// list); From is signed once more than it appears (RFC 6376 8.15), so a
// second From: added on the way breaks the signature.
var signedFields = []string{"From", "Reply-To", "Subject", "Date", "To", "Cc", "Resent-Date", "Resent-From",
	"Resent-To", "Resent-Cc", "In-Reply-To", "References", "List-Id", "List-Help", "List-Unsubscribe",
	"List-Unsubscribe-Post", "List-Subscribe", "List-Post", "List-Owner", "List-Archive", "Message-ID",
	"MIME-Version", "Content-Type", "Content-Transfer-Encoding", "Sender"}

// Message signs one message written to it in pieces; End gives the answer.
type Message struct {
	keys   *Keys
	header []byte // until the header block is complete
	done   bool   // header block seen: signer set, or note says why not
	signer *dkim.Signer
	key    Key
	note   string
	err    error
	ended  bool
}

// NewMessage starts signing one message with keys.
func NewMessage(keys *Keys) *Message { return &Message{keys: keys} }

// Write takes the next piece of the message.
func (m *Message) Write(p []byte) (int, error) {
	n := len(p)
	if m.err != nil {
		return n, nil
	}
	if m.done {
		if m.signer != nil {
			if _, err := m.signer.Write(p); err != nil {
				m.err = err
			}
		}
		return n, nil
	}
	m.header = append(m.header, p...)
	end := headerEnd(m.header)
	if end < 0 {
		if len(m.header) > maxHeader {
			m.done, m.note, m.header = true, fmt.Sprintf("header block longer than %d bytes", maxHeader), nil
		}
		return n, nil
	}
	m.start(end)
	return n, nil
}

// headerEnd is the index just past the empty line that ends the header
// block, or -1.
func headerEnd(b []byte) int {
	if bytes.HasPrefix(b, []byte("\n")) {
		return 1
	}
	if i := bytes.Index(b, []byte("\n\n")); i >= 0 {
		return i + 2
	}
	return -1
}

// start picks the key from the complete header block and feeds the
// signer what has arrived so far.
func (m *Message) start(end int) {
	m.done = true
	buf := m.header
	m.header = nil
	hdr, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(buf[:end]))).ReadMIMEHeader()
	if err != nil {
		m.note = "header block does not parse: " + err.Error()
		return
	}
	domain, err := fromDomain(hdr)
	if err != nil {
		m.note = err.Error()
		return
	}
	key, ok := m.keys.For(domain)
	if !ok {
		m.note = "no key for " + domain
		return
	}
	var fields []string
	for _, f := range signedFields {
		for range hdr.Values(f) {
			fields = append(fields, f)
		}
	}
	fields = append(fields, "From")
	s, err := dkim.NewSigner(&dkim.SignOptions{
		Domain: key.Domain, Selector: key.Selector, Signer: key.Signer, Hash: crypto.SHA256,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed,
		HeaderKeys: fields,
	})
	if err != nil {
		m.err = err
		return
	}
	m.signer, m.key = s, key
	if _, err := s.Write(buf); err != nil {
		m.err = err
	}
}

// fromDomain is the domain of the one From: field's first address
// (RFC 5322 3.6.2 allows several authors; the first decides).
func fromDomain(h textproto.MIMEHeader) (string, error) {
	froms := h.Values("From")
	switch len(froms) {
	case 0:
		return "", errors.New("no From: field")
	case 1:
	default:
		return "", errors.New("more than one From: field")
	}
	addrs, err := mail.ParseAddressList(froms[0])
	if err != nil || len(addrs) == 0 {
		return "", fmt.Errorf("From: field does not parse: %v", err)
	}
	at := strings.LastIndexByte(addrs[0].Address, '@')
	if at < 0 {
		return "", errors.New("From: address without a domain")
	}
	return strings.ToLower(addrs[0].Address[at+1:]), nil
}

// End finishes the message: a signature, a note saying why there is none,
// or an error (the message could not be signed although it should be).
func (m *Message) End() (proto.Signed, error) {
	m.ended = true
	if !m.done {
		// The message ended inside its header block: the header is all there is.
		if end := len(m.header); end > 0 {
			m.header = append(m.header, '\n')
			if !bytes.HasSuffix(m.header[:end], []byte("\n")) {
				m.header = append(m.header, '\n')
			}
			m.start(len(m.header))
		} else {
			m.done, m.note = true, "empty message"
		}
	}
	if m.err != nil {
		if m.signer != nil {
			m.signer.Close()
		}
		return proto.Signed{}, m.err
	}
	if m.signer == nil {
		return proto.Signed{Note: m.note}, nil
	}
	if err := m.signer.Close(); err != nil {
		return proto.Signed{}, err
	}
	field := strings.ReplaceAll(m.signer.Signature(), "\r\n", "\n")
	return proto.Signed{Field: field, Domain: m.key.Domain, Selector: m.key.Selector}, nil
}

// Close releases a message that will not be ended.
func (m *Message) Close() {
	if m.signer != nil && !m.ended {
		m.ended = true
		m.signer.Close()
	}
}
