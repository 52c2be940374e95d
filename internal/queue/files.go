package queue

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"goqmail/internal/ipc"
	"goqmail/internal/proto"
)

// A message file holds one queued message: a fixed header, the envelope,
// then the content exactly as it will be delivered.
//
//	offset 0   "GQM1"                  magic and format version
//	offset 4   uint32 big-endian L     envelope length
//	offset 8   envelope (L bytes)      an ipc frame body: birth, uid, pid, sender, recipients
//	offset 8+L content                 LF line ends, our Received line first
//
// One file per message means one fsync and one rename per commit. Delivery
// processes never get this file: the spawner copies the content range into
// a pipe (splice), so a recipient cannot read the envelope (other
// recipients, Bcc) of a message it received.
const (
	msgMagic         = "GQM1"
	headerLen        = 8
	maxEnvelope      = 16 << 20
	tEnv        byte = 'E'
)

// Envelope is who sent a message, to whom and when.
type Envelope struct {
	Birth    int64 // unix seconds when the queue accepted the message
	UID      int64 // submitter's uid (SO_PEERCRED)
	PID      int64 // submitter's pid
	Size     int64 // content bytes (derived from the file size, not stored)
	FileSize int64 // the whole message file (derived, not stored)
	Sender   string
	Rcpts    []string
}

// MarshalHeader encodes the header and envelope that start a message file.
func (e *Envelope) MarshalHeader() []byte {
	enc := ipc.New(tEnv, nil).Int(e.Birth).Int(e.UID).Int(e.PID).String(e.Sender).Uint(uint64(len(e.Rcpts)))
	for _, r := range e.Rcpts {
		enc.String(r)
	}
	body := enc.Body()
	out := make([]byte, 0, headerLen+len(body))
	out = append(out, msgMagic...)
	out = binary.BigEndian.AppendUint32(out, uint32(len(body)))
	return append(out, body...)
}

// ContentOffset reads a message file's header and returns where the content
// starts and the envelope length. It checks everything it reads against
// size, the file's size (the caller has stat'ed the open file): the local
// spawner (root) uses it on files the queue wrote.
func ContentOffset(f *os.File, size int64) (offset int64, envLen int, err error) {
	var h [headerLen]byte
	if _, err := f.ReadAt(h[:], 0); err != nil {
		return 0, 0, fmt.Errorf("message header: %w", err)
	}
	if string(h[:4]) != msgMagic {
		return 0, 0, errors.New("message header: bad magic")
	}
	n := binary.BigEndian.Uint32(h[4:])
	if n > maxEnvelope || int64(headerLen)+int64(n) > size {
		return 0, 0, fmt.Errorf("message header: envelope length %d does not fit the file", n)
	}
	return int64(headerLen) + int64(n), int(n), nil
}

// ReadEnvelope reads and strictly decodes a message file's envelope.
func ReadEnvelope(path string) (*Envelope, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off, n, err := ContentOffset(f, st.Size())
	if err != nil {
		return nil, err
	}
	body := make([]byte, n)
	if _, err := f.ReadAt(body, headerLen); err != nil && err != io.EOF {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	e, err := unmarshalEnvelope(body)
	if err != nil {
		return nil, err
	}
	e.Size, e.FileSize = st.Size()-off, st.Size()
	return e, nil
}

func unmarshalEnvelope(body []byte) (*Envelope, error) {
	typ, d, err := ipc.NewDecoder(body)
	if err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	if typ != tEnv {
		return nil, fmt.Errorf("envelope: frame type %d", typ)
	}
	e := &Envelope{Birth: d.Int(), UID: d.Int(), PID: d.Int(), Sender: d.String(proto.MaxAddr)}
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
			return nil, errors.New("envelope: bad recipient")
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
		r := StateRecord{Index: int(d.UintMax(proto.MaxRcpts)), State: byte(d.UintMax(uint64(proto.StateBounced))), RetryAt: d.Int(), Text: d.String(proto.MaxText)}
		if d.End() != nil {
			return recs, true
		}
		recs = append(recs, r)
	}
	return recs, false
}
