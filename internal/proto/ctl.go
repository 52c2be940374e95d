package proto

import (
	"fmt"

	"goqmail/internal/ipc"
)

// Recipient delivery states, as recorded in the queue.
const (
	StatePending byte = 0 // not delivered yet; RetryAt says when to try
	StateDone    byte = 1 // delivered
	StateFailed  byte = 2 // failed permanently; a bounce is owed
)

// EncodeHello starts a ctl session (send -> queue).
func EncodeHello(buf []byte) []byte { return ipc.New(THello, buf).Uint(ipc.Version).Frame() }

func DecodeHello(d *ipc.Decoder) error {
	if v := d.Uint(); d.Err() == nil && v != ipc.Version {
		return fmt.Errorf("%w: hello version %d", ipc.ErrVersion, v)
	}
	return d.End()
}

// Msg announces a queued message to send; NRcpt Rcpt frames (as RcptState)
// and one MsgEnd follow.
type Msg struct {
	ID     string
	Birth  int64 // unix seconds when the message was committed (qmail: mtime of info/N)
	Size   int64 // content bytes
	UID    int64 // submitting uid
	QP     int64 // submitting process id
	Sender string
	NRcpt  int
}

func (m Msg) Encode(buf []byte) []byte {
	return ipc.New(TMsg, buf).String(m.ID).Int(m.Birth).Int(m.Size).Int(m.UID).Int(m.QP).String(m.Sender).Uint(uint64(m.NRcpt)).Frame()
}

func DecodeMsg(d *ipc.Decoder) (Msg, error) {
	m := Msg{ID: d.String(MaxID), Birth: d.Int(), Size: d.Int(), UID: d.Int(), QP: d.Int(),
		Sender: d.String(MaxAddr), NRcpt: int(d.UintMax(MaxRcpts))}
	if err := d.End(); err != nil {
		return m, err
	}
	if err := CheckID(m.ID); err != nil {
		return m, err
	}
	return m, CheckAddr(m.Sender)
}

// RcptState is one recipient of a message and what happened to it so far.
type RcptState struct {
	Index   int
	Addr    string
	State   byte
	RetryAt int64 // unix seconds; 0 = as soon as possible
	Text    string
}

func (m RcptState) Encode(buf []byte) []byte {
	return ipc.New(TRcpt, buf).Uint(uint64(m.Index)).String(m.Addr).Uint(uint64(m.State)).Int(m.RetryAt).String(m.Text).Frame()
}

func DecodeRcptState(d *ipc.Decoder) (RcptState, error) {
	m := RcptState{Index: int(d.UintMax(MaxRcpts)), Addr: d.String(MaxAddr), State: byte(d.UintMax(2)), RetryAt: d.Int(), Text: d.String(MaxText)}
	if err := d.End(); err != nil {
		return m, err
	}
	return m, CheckAddr(m.Addr)
}

// EncodeMsgEnd closes a Msg announcement.
func EncodeMsgEnd(buf []byte) []byte { return ipc.New(TMsgEnd, buf).Frame() }

// EncodeSnapEnd marks the end of the startup snapshot.
func EncodeSnapEnd(buf []byte) []byte { return ipc.New(TSnapEnd, buf).Frame() }

// Update records a recipient's new state (send -> queue).
type Update struct {
	ID      string
	Index   int
	State   byte
	RetryAt int64
	Text    string
}

func (m Update) Encode(buf []byte) []byte {
	return ipc.New(TUpdate, buf).String(m.ID).Uint(uint64(m.Index)).Uint(uint64(m.State)).Int(m.RetryAt).String(m.Text).Frame()
}

func DecodeUpdate(d *ipc.Decoder) (Update, error) {
	m := Update{ID: d.String(MaxID), Index: int(d.UintMax(MaxRcpts)), State: byte(d.UintMax(2)), RetryAt: d.Int(), Text: d.String(MaxText)}
	if err := d.End(); err != nil {
		return m, err
	}
	return m, CheckID(m.ID)
}

// EncodeDone tells the queue a message is finished: remove it.
func EncodeDone(buf []byte, id string) []byte { return ipc.New(TDone, buf).String(id).Frame() }

func DecodeDone(d *ipc.Decoder) (string, error) {
	id := d.String(MaxID)
	if err := d.End(); err != nil {
		return id, err
	}
	return id, CheckID(id)
}
