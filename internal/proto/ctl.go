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
	StateBounced byte = 3 // failed permanently and reported in a bounce
	maxState          = 3
)

// HoldIndex is the recipient index of a state record that holds (State 1)
// or releases (State 0) a whole message (`goqmail queue hold`). No
// recipient has this index.
const HoldIndex = MaxRcpts

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
	Held   bool // the admin holds it: no deliveries start
}

func (m Msg) Encode(buf []byte) []byte {
	return ipc.New(TMsg, buf).String(m.ID).Int(m.Birth).Int(m.Size).Int(m.UID).Int(m.QP).String(m.Sender).Uint(uint64(m.NRcpt)).Bool(m.Held).Frame()
}

func DecodeMsg(d *ipc.Decoder) (Msg, error) {
	m := Msg{ID: d.String(MaxID), Birth: d.Int(), Size: d.Int(), UID: d.Int(), QP: d.Int(),
		Sender: d.String(MaxAddr), NRcpt: int(d.UintMax(MaxRcpts)), Held: d.Bool()}
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
	m := RcptState{Index: int(d.UintMax(MaxRcpts)), Addr: d.String(MaxAddr), State: byte(d.UintMax(maxState)), RetryAt: d.Int(), Text: d.String(MaxText)}
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
	m := Update{ID: d.String(MaxID), Index: int(d.UintMax(MaxRcpts)), State: byte(d.UintMax(maxState)), RetryAt: d.Int(), Text: d.String(MaxText)}
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

// Bounce asks the queue to send one bounce for the listed recipients of a
// message (all failed permanently) and to record them as bounced; with Last
// the message is finished and the queue removes it after the bounce is
// safely queued (send -> queue).
type Bounce struct {
	ID      string
	Last    bool
	Indexes []int
}

func (m Bounce) Encode(buf []byte) []byte {
	e := ipc.New(TBounce, buf).String(m.ID).Bool(m.Last).Uint(uint64(len(m.Indexes)))
	for _, i := range m.Indexes {
		e.Uint(uint64(i))
	}
	return e.Frame()
}

func DecodeBounce(d *ipc.Decoder) (Bounce, error) {
	m := Bounce{ID: d.String(MaxID), Last: d.Bool()}
	n := d.UintMax(MaxRcpts)
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		m.Indexes = append(m.Indexes, int(d.UintMax(MaxRcpts-1)))
	}
	if err := d.End(); err != nil {
		return m, err
	}
	if len(m.Indexes) == 0 {
		return m, fmt.Errorf("%w: bounce without recipients", ErrBadField)
	}
	return m, CheckID(m.ID)
}

// Bounced is the queue's answer to Bounce (queue -> send). OK with an
// empty BounceID means the bounce was discarded on purpose (a triple bounce
// or doublebounceto empty); not OK means try again later.
type Bounced struct {
	ID       string
	OK       bool
	BounceID string
	Text     string
}

func (m Bounced) Encode(buf []byte) []byte {
	return ipc.New(TBounced, buf).String(m.ID).Bool(m.OK).String(m.BounceID).String(CleanText(m.Text)).Frame()
}

func DecodeBounced(d *ipc.Decoder) (Bounced, error) {
	m := Bounced{ID: d.String(MaxID), OK: d.Bool(), BounceID: d.String(MaxID), Text: d.String(MaxText)}
	if err := d.End(); err != nil {
		return m, err
	}
	return m, CheckID(m.ID)
}
