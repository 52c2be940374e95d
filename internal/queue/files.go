package queue

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"

	"goqmail/internal/ipc"
	"goqmail/internal/proto"
)

// Envelope is the commit record of a message: who sent it, to whom, when.
type Envelope struct {
	Birth  int64 // unix seconds at commit
	UID    int64 // submitter's uid (SO_PEERCRED)
	PID    int64 // submitter's pid
	Size   int64 // content bytes
	Sender string
	Rcpts  []string
}

const envMagic = "GQENV1\n"
const tEnv byte = 'E'

// Marshal encodes the envelope file: a magic line and one ipc frame body.
func (e *Envelope) Marshal() []byte {
	enc := ipc.New(tEnv, []byte(nil)).Int(e.Birth).Int(e.UID).Int(e.PID).Int(e.Size).String(e.Sender).Uint(uint64(len(e.Rcpts)))
	for _, r := range e.Rcpts {
		enc.String(r)
	}
	return append([]byte(envMagic), enc.Body()...)
}

// UnmarshalEnvelope decodes an envelope file strictly.
func UnmarshalEnvelope(b []byte) (*Envelope, error) {
	if !bytes.HasPrefix(b, []byte(envMagic)) {
		return nil, errors.New("envelope: bad magic")
	}
	typ, d, err := ipc.NewDecoder(b[len(envMagic):])
	if err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	if typ != tEnv {
		return nil, fmt.Errorf("envelope: frame type %d", typ)
	}
	e := &Envelope{Birth: d.Int(), UID: d.Int(), PID: d.Int(), Size: d.Int(), Sender: d.String(proto.MaxAddr)}
	n := d.UintMax(proto.MaxRcpts)
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		e.Rcpts = append(e.Rcpts, d.String(proto.MaxAddr))
	}
	if err := d.End(); err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	if len(e.Rcpts) == 0 {
		return nil, errors.New("envelope: no recipients")
	}
	if err := proto.CheckAddr(e.Sender); err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	for _, r := range e.Rcpts {
		if err := proto.CheckAddr(r); err != nil || r == "" {
			return nil, fmt.Errorf("envelope: bad recipient")
		}
	}
	return e, nil
}

// A state file is a log of recipient state changes appended by Update
// requests: each record is a uvarint length, a frame body and a CRC-32 of
// the body. A torn or corrupt tail (a crash mid-append; these appends are
// not fsync'd, since losing one only repeats a delivery) ends the log.
const tState byte = 'S'

// StateRecord is one recipient state change.
type StateRecord struct {
	Index   int
	State   byte
	RetryAt int64
	Text    string
}

func (r StateRecord) marshal() []byte {
	body := ipc.New(tState, nil).Uint(uint64(r.Index)).Uint(uint64(r.State)).Int(r.RetryAt).String(r.Text).Body()
	out := binary.AppendUvarint(nil, uint64(len(body)))
	out = append(out, body...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(body))
}

// AppendState appends one record to a state file with a single write.
func AppendState(path string, r StateRecord) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("append state: %w", err)
	}
	_, err = f.Write(r.marshal())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("append state: %w", err)
	}
	return nil
}

// ParseState decodes a state log, returning the valid records and whether
// the log ended in a torn or corrupt record.
func ParseState(b []byte) (recs []StateRecord, torn bool) {
	for len(b) > 0 {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) || uint64(len(b)-k)-n < 4 {
			return recs, true
		}
		body := b[k : k+int(n)]
		sum := binary.BigEndian.Uint32(b[k+int(n):])
		b = b[k+int(n)+4:]
		if crc32.ChecksumIEEE(body) != sum {
			return recs, true
		}
		typ, d, err := ipc.NewDecoder(body)
		if err != nil || typ != tState {
			return recs, true
		}
		r := StateRecord{Index: int(d.UintMax(proto.MaxRcpts)), State: byte(d.UintMax(2)), RetryAt: d.Int(), Text: d.String(proto.MaxText)}
		if d.End() != nil {
			return recs, true
		}
		recs = append(recs, r)
	}
	return recs, false
}
