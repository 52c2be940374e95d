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
//	offset 0     "GQM2"                  magic and format version
//	offset 4     uint32 big-endian L     envelope length
//	offset 8     uint32 big-endian C     CRC-32C of everything from offset 16 to the end
//	offset 12    uint32 big-endian P     length of the prefix at the end of the file
//	offset 16    id (16 bytes)           the message's own id, as in its name msg/ID
//	offset 32    envelope (L bytes)      an ipc frame body: birth, uid, pid, sender, recipients
//	offset 32+L  body                    LF line ends, our Received line first
//	size-P       prefix (P bytes)        header lines decided at the end of the data
//
// The delivered message is the prefix, then the body (Content). The
// prefix holds what the SMTP server knows only once the data has been read
// (Authentication-Results, a filter's headers: RFC 8601 5 puts such fields
// at the top); the body was already on its way to the disk by then, so the
// prefix is written after it and the readers put it first.
//
// The checksum and the id let recovery tell a complete message from one a
// power loss left torn, empty or stale: a reused file (queue/free/) whose
// new bytes never reached the disk while an old name did still holds
// another message's id, or a checksum that does not match (issue 12).
// The queue writes P and C last, just before the file is made durable.
//
// Files of format "GQM1" (no checksum, id or prefix: offset 8 envelope,
// 8+L content), queued by earlier versions, are still read and delivered.
//
// One file per message means one fsync and one rename per commit. Delivery
// processes never get this file: the spawner copies the content ranges into
// a pipe (splice), so a recipient cannot read the envelope (other
// recipients, Bcc) of a message it received.
const (
	msgMagic          = "GQM2"
	msgMagicV1        = "GQM1"
	headerLen         = 32 // magic, L, C, P, id
	headerLenV1       = 8
	crcOffset         = 8
	prefixOffset      = 12
	idOffset          = 16 // the checksum covers the file from here on
	maxEnvelope       = 16 << 20
	tEnv         byte = 'E'
)

// castagnoli is CRC-32C, computed in hardware on amd64 and arm64.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

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

// MarshalHeader encodes the header and envelope that start the message
// file of message id (16 characters), with a zero checksum: the writer
// fills in the checksum and the prefix length (PutTrailer) at the end.
func (e *Envelope) MarshalHeader(id string) []byte {
	enc := ipc.New(tEnv, nil).Int(e.Birth).Int(e.UID).Int(e.PID).String(e.Sender).Uint(uint64(len(e.Rcpts)))
	for _, r := range e.Rcpts {
		enc.String(r)
	}
	body := enc.Body()
	out := make([]byte, 0, headerLen+len(body))
	out = append(out, msgMagic...)
	out = binary.BigEndian.AppendUint32(out, uint32(len(body)))
	out = binary.BigEndian.AppendUint32(out, 0) // C
	out = binary.BigEndian.AppendUint32(out, 0) // P
	out = append(out, fmt.Sprintf("%-16.16s", id)...)
	return append(out, body...)
}

// MarshalFile is a whole message file for id: header, envelope, body and
// prefix with its checksum, as the queue writes it (for tests and tools).
func (e *Envelope) MarshalFile(id string, body, prefix []byte) []byte {
	b := append(append(e.MarshalHeader(id), body...), prefix...)
	binary.BigEndian.PutUint32(b[prefixOffset:], uint32(len(prefix)))
	binary.BigEndian.PutUint32(b[crcOffset:], Checksum(0, b[idOffset:]))
	return b
}

// Checksum continues a message file's checksum over p, bytes that follow
// the checksum field (the id, the envelope, the content).
func Checksum(crc uint32, p []byte) uint32 { return crc32.Update(crc, castagnoli, p) }

// PutTrailer writes the checksum and the prefix length into a message
// file's header, the last thing written before it is made durable.
func PutTrailer(f *os.File, prefixLen int, crc uint32) error {
	var b [8]byte
	binary.BigEndian.PutUint32(b[0:], crc)
	binary.BigEndian.PutUint32(b[4:], uint32(prefixLen))
	_, err := f.WriteAt(b[:], crcOffset)
	return err
}

// Range is a stretch of a message file.
type Range struct{ Off, Len int64 }

// Content says where the delivered message lies in its file: the prefix
// first, then the body.
type Content struct{ Prefix, Body Range }

// Size is the length of the delivered message.
func (c Content) Size() int64 { return c.Prefix.Len + c.Body.Len }

// Ranges lists the parts in delivery order, the empty ones left out.
func (c Content) Ranges() []Range {
	var out []Range
	for _, r := range []Range{c.Prefix, c.Body} {
		if r.Len > 0 {
			out = append(out, r)
		}
	}
	return out
}

// ReaderAt reads the delivered message from the file f as one stretch of
// Size bytes.
func (c Content) ReaderAt(f io.ReaderAt) io.ReaderAt { return contentReader{c, f} }

type contentReader struct {
	c Content
	f io.ReaderAt
}

func (r contentReader) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for _, rg := range []Range{r.c.Prefix, r.c.Body} {
		if len(p) == 0 {
			break
		}
		if off >= rg.Len {
			off -= rg.Len
			continue
		}
		want := min(int64(len(p)), rg.Len-off)
		k, err := r.f.ReadAt(p[:want], rg.Off+off)
		n += k
		if int64(k) < want {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return n, err
		}
		p, off = p[k:], 0
	}
	if len(p) > 0 {
		return n, io.EOF
	}
	return n, nil
}

// Reader reads the delivered message from f from its start.
func (c Content) Reader(f io.ReaderAt) io.Reader {
	return io.NewSectionReader(c.ReaderAt(f), 0, c.Size())
}

// ReadContent reads a message file's header and says where the delivered
// message lies. It checks everything it reads against size, the file's
// size (the caller has stat'ed the open file): the local spawner (root)
// uses it on files the queue wrote.
func ReadContent(f *os.File, size int64) (Content, error) {
	h, err := readHeader(f, size)
	if err != nil {
		return Content{}, err
	}
	body := h.envOffset + int64(h.envLen)
	if h.prefixLen > size-body {
		return Content{}, fmt.Errorf("message header: prefix length %d does not fit the file", h.prefixLen)
	}
	return Content{Prefix: Range{size - h.prefixLen, h.prefixLen}, Body: Range{body, size - body - h.prefixLen}}, nil
}

// header is what a message file's fixed header says.
type header struct {
	v1        bool   // format GQM1: no checksum, no id, no prefix
	envLen    int    // envelope length
	envOffset int64  // where the envelope starts
	crc       uint32 // GQM2: the stored checksum
	prefixLen int64  // GQM2: the prefix at the end of the file
	id        string // GQM2: the id the file was written for
}

func readHeader(f io.ReaderAt, size int64) (header, error) {
	var b [headerLen]byte
	n, err := f.ReadAt(b[:], 0)
	if n < headerLenV1 {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return header{}, fmt.Errorf("message header: %w", err)
	}
	var h header
	switch string(b[:4]) {
	case msgMagic:
		if n < headerLen {
			return header{}, fmt.Errorf("message header: %w", io.ErrUnexpectedEOF)
		}
		h.envOffset, h.crc, h.id = headerLen, binary.BigEndian.Uint32(b[crcOffset:]), string(b[idOffset:headerLen])
		h.prefixLen = int64(binary.BigEndian.Uint32(b[prefixOffset:]))
	case msgMagicV1:
		h.v1, h.envOffset = true, headerLenV1
	default:
		return header{}, errors.New("message header: bad magic")
	}
	l := binary.BigEndian.Uint32(b[4:])
	if l > maxEnvelope || h.envOffset+int64(l) > size {
		return header{}, fmt.Errorf("message header: envelope length %d does not fit the file", l)
	}
	h.envLen = int(l)
	return h, nil
}

// ErrStale says a message file holds another message than its name says:
// a reused file whose old name survived a power loss.
var ErrStale = errors.New("message file holds another message")

// Verify checks that the message file f of size bytes, named id, is whole:
// its header names id and its checksum matches its bytes. It reads the
// whole file (recovery does this once per queued message). Files of the
// old format GQM1 carry nothing to check and pass.
func Verify(f io.ReaderAt, id string, size int64) error {
	h, err := readHeader(f, size)
	if err != nil {
		return err
	}
	if h.v1 {
		return nil
	}
	if h.id != id {
		return fmt.Errorf("%w: its header names msg %q", ErrStale, h.id)
	}
	crc := uint32(0)
	buf := make([]byte, 64<<10)
	for off := int64(idOffset); off < size; {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		crc = Checksum(crc, buf[:n])
		off += int64(n)
		if err != nil && !(err == io.EOF && off == size) {
			return fmt.Errorf("message file: %w", err)
		}
	}
	if crc != h.crc {
		return fmt.Errorf("message file: checksum %08x, the header says %08x: torn or incomplete", crc, h.crc)
	}
	return nil
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
	h, err := readHeader(f, st.Size())
	if err != nil {
		return nil, err
	}
	off := h.envOffset + int64(h.envLen)
	body := make([]byte, h.envLen)
	if _, err := f.ReadAt(body, h.envOffset); err != nil && err != io.EOF {
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
