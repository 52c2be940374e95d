package proto

import (
	"fmt"

	"goqmail/internal/ipc"
)

// Delivery results, qmail's K/Z/D (qmail-lspawn report()).
const (
	ResultSuccess   byte = 'K'
	ResultDeferral  byte = 'Z'
	ResultPermanent byte = 'D'
)

// Deliver asks the local spawner to deliver message ID to one recipient.
type Deliver struct {
	Seq    uint64 // delivery number, echoed in the Report
	ID     string
	Sender string
	Rcpt   string // local@domain
	// Virtual: the domain is served by the virtual-user directory; the
	// spawner delivers as the virtual account (docs/virtual.md).
	Virtual bool
	Birth   int64 // when the message was queued (unix seconds): quotas bounce old mail only
	// ForwardSender, when set, is the envelope sender of what the delivery
	// forwards: the SRS address send made of Sender (internal/srs);
	// empty: Sender itself.
	ForwardSender string
}

func (m Deliver) Encode(buf []byte) []byte {
	return ipc.New(TDeliver, buf).Uint(m.Seq).String(m.ID).String(m.Sender).String(m.Rcpt).Bool(m.Virtual).Int(m.Birth).String(m.ForwardSender).Frame()
}

func DecodeDeliver(d *ipc.Decoder) (Deliver, error) {
	m := Deliver{Seq: d.Uint(), ID: d.String(MaxID), Sender: d.String(MaxAddr), Rcpt: d.String(MaxAddr), Virtual: d.Bool(), Birth: d.Int(),
		ForwardSender: d.String(MaxAddr)}
	if err := d.End(); err != nil {
		return m, err
	}
	if err := CheckID(m.ID); err != nil {
		return m, err
	}
	if err := CheckAddr(m.Sender); err != nil {
		return m, err
	}
	if err := CheckAddr(m.ForwardSender); err != nil {
		return m, err
	}
	return m, CheckAddr(m.Rcpt)
}

// Report is the outcome of one delivery.
type Report struct {
	Seq    uint64
	Result byte // ResultSuccess, ResultDeferral or ResultPermanent
	Text   string
}

// Encode builds a stream frame; Body of the same encoder serves packets.
func (m Report) encoder(buf []byte) *ipc.Encoder {
	return ipc.New(TReport, buf).Uint(m.Seq).Uint(uint64(m.Result)).String(CleanText(m.Text))
}

func (m Report) Encode(buf []byte) []byte { return m.encoder(buf).Frame() }
func (m Report) Packet(buf []byte) []byte { return m.encoder(buf).Body() }

func DecodeReport(d *ipc.Decoder) (Report, error) {
	m := Report{Seq: d.Uint(), Result: byte(d.UintMax(255)), Text: d.String(MaxText)}
	if err := d.End(); err != nil {
		return m, err
	}
	switch m.Result {
	case ResultSuccess, ResultDeferral, ResultPermanent:
	default:
		return m, fmt.Errorf("%w: result %q", ErrBadField, m.Result)
	}
	return m, nil
}

// MaxProgramTimeout is the largest ProgramTimeout a Local frame carries:
// control/timeoutprogram's maximum, a week.
const MaxProgramTimeout = 7 * 24 * 3600

// Local is what the spawner hands a delivery process with a pipe carrying
// the message content:
// qmail-local's arguments (user home local dash ext domain sender).
type Local struct {
	Seq    uint64
	User   string
	Home   string
	Local  string // local part of the recipient as delivered (Delivered-To)
	Dash   string
	Ext    string
	Domain string
	Sender string
	Size   int64 // content bytes the pipe will deliver; fewer means the copy failed

	// DefaultDelivery is what to do when no .qmail file applies
	// (control/defaultdelivery, qmail-start's argument): .qmail lines.
	DefaultDelivery string
	// Aliases is the sendmail-style aliases file to consult first; set only
	// when the recipient went to the alias user (qmail's fastforward).
	Aliases string
	// DotForward honours ~/.forward when no .qmail file applies (qmail's
	// dot-forward).
	DotForward bool
	// Virtual: deliver through the virtual-user directory; Home is the
	// root of the virtual mailboxes (ROOT/vmail), Ext the local part.
	Virtual bool
	Birth   int64 // when the message was queued (unix seconds)
	// ProgramTimeout bounds each |program, in seconds
	// (control/timeoutprogram); 0: the delivery process's default.
	ProgramTimeout int64
	// ForwardSender is Deliver's: the envelope sender of forwards when
	// it is not Sender (SRS).
	ForwardSender string
}

func (m Local) Packet(buf []byte) []byte {
	return ipc.New(TLocal, buf).Uint(m.Seq).String(m.User).String(m.Home).String(m.Local).
		String(m.Dash).String(m.Ext).String(m.Domain).String(m.Sender).Int(m.Size).
		String(m.DefaultDelivery).String(m.Aliases).Bool(m.DotForward).Bool(m.Virtual).Int(m.Birth).Int(m.ProgramTimeout).String(m.ForwardSender).Body()
}

func DecodeLocal(d *ipc.Decoder) (Local, error) {
	m := Local{Seq: d.Uint(), User: d.String(MaxUserName), Home: d.String(MaxPathLen), Local: d.String(MaxAddr),
		Dash: d.String(1), Ext: d.String(MaxAddr), Domain: d.String(MaxAddr), Sender: d.String(MaxAddr), Size: d.Int(),
		DefaultDelivery: d.String(MaxText), Aliases: d.String(MaxPathLen), DotForward: d.Bool(), Virtual: d.Bool(), Birth: d.Int(),
		ProgramTimeout: d.Int(), ForwardSender: d.String(MaxAddr)}
	if err := d.End(); err != nil {
		return m, err
	}
	for _, s := range []string{m.User, m.Home, m.Local, m.Ext, m.Domain, m.Sender, m.ForwardSender} {
		if err := CheckAddr(s); err != nil {
			return m, err
		}
	}
	if m.Dash != "" && m.Dash != "-" {
		return m, fmt.Errorf("%w: dash %q", ErrBadField, m.Dash)
	}
	if m.Size < 0 {
		return m, fmt.Errorf("%w: size %d", ErrBadField, m.Size)
	}
	if m.ProgramTimeout < 0 || m.ProgramTimeout > MaxProgramTimeout {
		return m, fmt.Errorf("%w: program timeout %d", ErrBadField, m.ProgramTimeout)
	}
	if len(m.Home) == 0 || m.Home[0] != '/' {
		return m, fmt.Errorf("%w: home %q is not absolute", ErrBadField, m.Home)
	}
	return m, nil
}
