package proto

import (
	"fmt"

	"goqmail/internal/ipc"
)

// MaxRemoteRcpts is the most recipients send puts in one remote job (one
// SMTP transaction; RFC 5321 4.5.3.1.8 requires servers to take 100).
const MaxRemoteRcpts = 100

// Remote asks the remote delivery process to deliver message ID to some
// recipients of one domain in one transaction (send -> remote).
type Remote struct {
	Seq        uint64
	ID         string
	Sender     string
	Domain     string
	RequireTLS bool
	Rcpts      []string
}

func (m Remote) Encode(buf []byte) []byte {
	e := ipc.New(TRemote, buf).Uint(m.Seq).String(m.ID).String(m.Sender).String(m.Domain).Bool(m.RequireTLS).Uint(uint64(len(m.Rcpts)))
	for _, r := range m.Rcpts {
		e.String(r)
	}
	return e.Frame()
}

func DecodeRemote(d *ipc.Decoder) (Remote, error) {
	m := Remote{Seq: d.Uint(), ID: d.String(MaxID), Sender: d.String(MaxAddr), Domain: d.String(MaxAddr), RequireTLS: d.Bool()}
	n := d.UintMax(MaxRemoteRcpts)
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		m.Rcpts = append(m.Rcpts, d.String(MaxAddr))
	}
	if err := d.End(); err != nil {
		return m, err
	}
	if len(m.Rcpts) == 0 {
		return m, fmt.Errorf("%w: remote job without recipients", ErrBadField)
	}
	if err := CheckID(m.ID); err != nil {
		return m, err
	}
	for _, s := range append([]string{m.Sender, m.Domain}, m.Rcpts...) {
		if err := CheckAddr(s); err != nil {
			return m, err
		}
	}
	return m, nil
}

// RcptResult is one recipient's outcome in a remote job.
type RcptResult struct {
	Result byte // ResultSuccess, ResultDeferral or ResultPermanent
	Text   string
}

// Remoted reports a remote job: one result per recipient, in the job's
// order (remote -> send).
type Remoted struct {
	Seq     uint64
	Results []RcptResult
}

func (m Remoted) Encode(buf []byte) []byte {
	e := ipc.New(TRemoted, buf).Uint(m.Seq).Uint(uint64(len(m.Results)))
	for _, r := range m.Results {
		e.Uint(uint64(r.Result)).String(CleanText(r.Text))
	}
	return e.Frame()
}

func DecodeRemoted(d *ipc.Decoder) (Remoted, error) {
	m := Remoted{Seq: d.Uint()}
	n := d.UintMax(MaxRemoteRcpts)
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		m.Results = append(m.Results, RcptResult{Result: byte(d.UintMax(255)), Text: d.String(MaxText)})
	}
	if err := d.End(); err != nil {
		return m, err
	}
	for _, r := range m.Results {
		switch r.Result {
		case ResultSuccess, ResultDeferral, ResultPermanent:
		default:
			return m, fmt.Errorf("%w: result %q", ErrBadField, r.Result)
		}
	}
	return m, nil
}
