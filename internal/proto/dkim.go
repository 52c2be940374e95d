package proto

import (
	"fmt"

	"goqmail/internal/ipc"
)

// The signer protocol (run/dkimsign.sock, queue -> goqmail-dkimsign), one
// message per connection: SignBegin, the message in Data frames (the
// content as queued, LF line ends, the queue's or smtpd's Received line
// first), SignEnd; the signer answers one Signed and closes. The signer
// gets the whole message, not a body hash: go-msgauth's signer hashes the
// body itself, and computing the hash elsewhere would put DKIM's body
// canonicalization into the queue, which parses nothing (DESIGN.md).

// SignBegin opens a signing request; ID is the queue id, for the log.
type SignBegin struct{ ID string }

func (m SignBegin) Encode(buf []byte) []byte { return ipc.New(TSignBegin, buf).String(m.ID).Frame() }

func DecodeSignBegin(d *ipc.Decoder) (SignBegin, error) {
	m := SignBegin{ID: d.String(MaxID)}
	if err := d.End(); err != nil {
		return m, err
	}
	return m, CheckID(m.ID)
}

// EncodeSignEnd ends the message of a signing request.
func EncodeSignEnd(buf []byte) []byte { return ipc.New(TSignEnd, buf).Frame() }

// MaxSignature bounds a DKIM-Signature field (an RSA-4096 signature with
// every header name is under 2 KB).
const MaxSignature = 8 << 10

// Signed is the signer's answer. Field, when not empty, is the
// DKIM-Signature header field to put on top of the message (LF line
// ends, folded, ending in LF); Domain and Selector say which key made it.
// An empty Field means the message is not signed, for the reason in Note
// (no From:, no key for its domain): that is no failure.
type Signed struct {
	Field    string
	Domain   string
	Selector string
	Note     string
}

func (m Signed) Encode(buf []byte) []byte {
	return ipc.New(TSigned, buf).String(m.Field).String(m.Domain).String(m.Selector).String(CleanText(m.Note)).Frame()
}

func DecodeSigned(d *ipc.Decoder) (Signed, error) {
	m := Signed{Field: d.String(MaxSignature), Domain: d.String(MaxAddr), Selector: d.String(MaxAddr), Note: d.String(MaxText)}
	if err := d.End(); err != nil {
		return m, err
	}
	if m.Field != "" {
		if err := CheckPrefix([]byte(m.Field)); err != nil {
			return m, err
		}
		if len(m.Field) < 16 || m.Field[:16] != "DKIM-Signature: " {
			return m, fmt.Errorf("%w: signature field does not start with DKIM-Signature", ErrBadField)
		}
	}
	return m, nil
}
