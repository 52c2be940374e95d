package proto

import (
	"fmt"

	"goqmail/internal/ipc"
)

// Admin verbs: `goqmail queue` commands that change what send does
// (docs/commands.md). ID "" means every message where that makes sense.
const (
	AdminRetry   = "retry"   // make waiting recipients due now (qmail's ALRM)
	AdminHold    = "hold"    // start no delivery and send no bounce
	AdminRelease = "release" // undo hold; recipients are due now
	AdminDelete  = "delete"  // remove; Bounce says whether the sender hears of it
	AdminRequeue = "requeue" // route recipients again with the current control files, due now
)

// Admin is one command from `goqmail queue` to send over send's admin
// socket; send answers each with an Answer.
type Admin struct {
	Verb   string
	ID     string
	Bounce bool
}

func (m Admin) Encode(buf []byte) []byte {
	return ipc.New(TAdmin, buf).String(m.Verb).String(m.ID).Bool(m.Bounce).Frame()
}

func DecodeAdmin(d *ipc.Decoder) (Admin, error) {
	m := Admin{Verb: d.String(16), ID: d.String(MaxID), Bounce: d.Bool()}
	if err := d.End(); err != nil {
		return m, err
	}
	switch m.Verb {
	case AdminRetry, AdminHold, AdminRelease, AdminDelete, AdminRequeue:
	default:
		return m, fmt.Errorf("%w: admin verb %q", ErrBadField, m.Verb)
	}
	if m.ID != "" {
		return m, CheckID(m.ID)
	}
	return m, nil
}

// Answer is send's reply to an Admin command.
type Answer struct {
	OK   bool
	Text string
}

func (m Answer) Encode(buf []byte) []byte {
	return ipc.New(TAnswer, buf).Bool(m.OK).String(CleanText(m.Text)).Frame()
}

func DecodeAnswer(d *ipc.Decoder) (Answer, error) {
	m := Answer{OK: d.Bool(), Text: d.String(MaxText)}
	return m, d.End()
}
