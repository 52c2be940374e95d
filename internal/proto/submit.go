package proto

import (
	"bytes"
	"fmt"

	"goqmail/internal/ipc"
)

// Begin opens a message: the envelope sender ("" = null sender <>).
// Network says the SMTP server submits a message it received from the
// network and has already written a Received line for; the queue believes it
// only from the SMTP server's uid and otherwise adds qmail-queue's
// "(goqmail PID invoked by uid UID)" line.
//
// Sign says the SMTP server vouches for the sender (an authenticated or
// relay client): the queue has the message DKIM-signed, as it does every
// local submission (internal/queue, sign.go). Believed only from the SMTP
// server's uid, like Network.
type Begin struct {
	Sender  string
	Network bool
	Sign    bool
}

func (m Begin) Encode(buf []byte) []byte {
	return ipc.New(TBegin, buf).String(m.Sender).Bool(m.Network).Bool(m.Sign).Frame()
}

func DecodeBegin(d *ipc.Decoder) (Begin, error) {
	m := Begin{Sender: d.String(MaxAddr), Network: d.Bool(), Sign: d.Bool()}
	if err := d.End(); err != nil {
		return m, err
	}
	return m, CheckAddr(m.Sender)
}

// Rcpt adds one envelope recipient to the message being submitted.
type Rcpt struct{ Addr string }

func (m Rcpt) Encode(buf []byte) []byte { return ipc.New(TRcpt, buf).String(m.Addr).Frame() }

func DecodeRcpt(d *ipc.Decoder) (Rcpt, error) {
	m := Rcpt{Addr: d.String(MaxAddr)}
	if err := d.End(); err != nil {
		return m, err
	}
	if m.Addr == "" {
		return m, fmt.Errorf("%w: empty recipient", ErrBadField)
	}
	return m, CheckAddr(m.Addr)
}

// EncodeData frames one chunk of message content (LF line ends).
func EncodeData(buf, chunk []byte) []byte { return ipc.New(TData, buf).Bytes(chunk).Frame() }

func DecodeData(d *ipc.Decoder) ([]byte, error) {
	p := d.Bytes(MaxChunk)
	return p, d.End()
}

// JunkHeader is the header field by which smtpd tells local delivery to
// put a message in the recipient's Junk folder (a message check's verdict:
// DMARC quarantine, a filter's). smtpd removes any the client sent, so only
// goqmail's own checks can set it.
const JunkHeader = "X-Goqmail-Junk"

// EncodePrefix frames header lines the client decided only at the end of
// the data (Authentication-Results, a filter's headers), to be delivered
// before the content: RFC 8601 5 asks for such fields at the top. Each
// line ends in LF; no CR, NUL or empty line (which would end the header
// section). Several frames add up, to MaxPrefix in all.
func EncodePrefix(buf, lines []byte) []byte { return ipc.New(TPrefix, buf).Bytes(lines).Frame() }

func DecodePrefix(d *ipc.Decoder) ([]byte, error) {
	p := d.Bytes(MaxChunk)
	if err := d.End(); err != nil {
		return nil, err
	}
	return p, CheckPrefix(p)
}

// CheckPrefix enforces the rules of EncodePrefix on lines.
func CheckPrefix(p []byte) error {
	switch {
	case len(p) == 0:
		return nil
	case p[len(p)-1] != '\n':
		return fmt.Errorf("%w: prefix does not end in a line end", ErrBadField)
	case p[0] == ' ' || p[0] == '\t' || p[0] == '\n':
		return fmt.Errorf("%w: prefix starts with a continuation or an empty line", ErrBadField)
	case bytes.ContainsAny(p, "\r\x00"):
		return fmt.Errorf("%w: CR or NUL in prefix", ErrBadField)
	case bytes.Contains(p, []byte("\n\n")):
		return fmt.Errorf("%w: empty line in prefix", ErrBadField)
	}
	return nil
}

// EncodeCommit asks the queue to make the message durable and answer.
func EncodeCommit(buf []byte) []byte { return ipc.New(TCommit, buf).Frame() }

// EncodeAbort drops the message being submitted.
func EncodeAbort(buf []byte) []byte { return ipc.New(TAbort, buf).Frame() }

// Result is the queue's answer to Commit: the message is queued under ID,
// or it is not and Temporary says whether trying again may help.
type Result struct {
	OK        bool
	Temporary bool
	ID        string
	Text      string
}

func (m Result) Encode(buf []byte) []byte {
	return ipc.New(TResult, buf).Bool(m.OK).Bool(m.Temporary).String(m.ID).String(m.Text).Frame()
}

func DecodeResult(d *ipc.Decoder) (Result, error) {
	m := Result{OK: d.Bool(), Temporary: d.Bool(), ID: d.String(MaxID), Text: d.String(MaxText)}
	if err := d.End(); err != nil {
		return m, err
	}
	if m.OK {
		if err := CheckID(m.ID); err != nil {
			return m, err
		}
	}
	return m, nil
}
