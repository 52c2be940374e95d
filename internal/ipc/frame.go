// Package ipc is the framing every goqmail process uses to talk to another:
// small, versioned, length-prefixed frames decoded strictly.
//
// A frame on a stream is a 4-byte big-endian length L followed by L bytes:
// one version byte, one type byte, then the fields. Fields are unsigned
// varints and length-prefixed byte strings, read in the order written. A
// decoder that finds missing or leftover bytes reports an error, so a
// confused or hostile peer is noticed at once (OpenSMTPD's m_end, qmail's
// refusal of anything but its fixed records). No process trusts another's
// frames: every length is bounded before anything is allocated.
package ipc

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Version is the frame format version. A peer speaking another version is
// refused rather than guessed at.
const Version = 1

// MaxFrame bounds a frame body. Message data travels in chunks well below it.
const MaxFrame = 1 << 20

var (
	ErrShort    = errors.New("ipc: frame ends before its fields")
	ErrTrailing = errors.New("ipc: unexpected bytes after the last field")
	ErrTooLong  = errors.New("ipc: field or frame too long")
	ErrVersion  = errors.New("ipc: unsupported frame version")
)

// Encoder builds one frame. The zero value is not usable; call New.
type Encoder struct{ b []byte }

// New starts a frame of the given type, reusing buf's storage if given.
func New(typ byte, buf []byte) *Encoder {
	b := append(buf[:0], 0, 0, 0, 0, Version, typ)
	return &Encoder{b: b}
}

// Uint appends an unsigned integer field.
func (e *Encoder) Uint(v uint64) *Encoder { e.b = binary.AppendUvarint(e.b, v); return e }

// Int appends a signed integer field.
func (e *Encoder) Int(v int64) *Encoder { e.b = binary.AppendVarint(e.b, v); return e }

// Bool appends a boolean field.
func (e *Encoder) Bool(v bool) *Encoder {
	if v {
		return e.Uint(1)
	}
	return e.Uint(0)
}

// Bytes appends a length-prefixed byte string field.
func (e *Encoder) Bytes(p []byte) *Encoder {
	e.b = binary.AppendUvarint(e.b, uint64(len(p)))
	e.b = append(e.b, p...)
	return e
}

// String appends a length-prefixed string field.
func (e *Encoder) String(s string) *Encoder {
	e.b = binary.AppendUvarint(e.b, uint64(len(s)))
	e.b = append(e.b, s...)
	return e
}

// Frame returns the finished frame including its length prefix.
func (e *Encoder) Frame() []byte {
	binary.BigEndian.PutUint32(e.b[:4], uint32(len(e.b)-4))
	return e.b
}

// Body returns the frame without its length prefix (for packet sockets,
// where the packet boundary is the length).
func (e *Encoder) Body() []byte { return e.b[4:] }

// Decoder reads the fields of one frame body. The first error sticks: check
// Err or End once after reading all fields.
type Decoder struct {
	b   []byte
	err error
}

// NewDecoder checks the version of a frame body and returns its type and a
// decoder positioned at the first field.
func NewDecoder(body []byte) (byte, *Decoder, error) {
	if len(body) < 2 {
		return 0, nil, ErrShort
	}
	if body[0] != Version {
		return 0, nil, fmt.Errorf("%w: %d", ErrVersion, body[0])
	}
	return body[1], &Decoder{b: body[2:]}, nil
}

func (d *Decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.b = nil
}

// Uint reads an unsigned integer field.
func (d *Decoder) Uint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(ErrShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

// UintMax reads an unsigned integer field that must not exceed max.
func (d *Decoder) UintMax(max uint64) uint64 {
	v := d.Uint()
	if v > max {
		d.fail(fmt.Errorf("%w: %d > %d", ErrTooLong, v, max))
		return 0
	}
	return v
}

// Int reads a signed integer field.
func (d *Decoder) Int() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(ErrShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

// Bool reads a boolean field; only 0 and 1 are valid.
func (d *Decoder) Bool() bool {
	v := d.Uint()
	if v > 1 {
		d.fail(fmt.Errorf("ipc: boolean field holds %d", v))
	}
	return v == 1
}

// Bytes reads a byte string of at most max bytes. The result aliases the
// frame body; copy it to keep it past the next read.
func (d *Decoder) Bytes(max int) []byte {
	n := d.Uint()
	if d.err != nil {
		return nil
	}
	if n > uint64(max) {
		d.fail(fmt.Errorf("%w: %d > %d", ErrTooLong, n, max))
		return nil
	}
	if uint64(len(d.b)) < n {
		d.fail(ErrShort)
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

// String reads a string field of at most max bytes.
func (d *Decoder) String(max int) string { return string(d.Bytes(max)) }

// Err returns the first decoding error.
func (d *Decoder) Err() error { return d.err }

// End returns the first decoding error, or ErrTrailing if bytes are left.
func (d *Decoder) End() error {
	if d.err != nil {
		return d.err
	}
	if len(d.b) != 0 {
		return fmt.Errorf("%w: %d bytes", ErrTrailing, len(d.b))
	}
	return nil
}

// Reader reads frames from a stream.
type Reader struct {
	br  *bufio.Reader
	buf []byte
	max int
}

// NewReader reads frames of at most max body bytes (MaxFrame if max <= 0).
func NewReader(r io.Reader, max int) *Reader {
	if max <= 0 || max > MaxFrame {
		max = MaxFrame
	}
	return &Reader{br: bufio.NewReaderSize(r, 64<<10), max: max}
}

// Next reads one frame and returns its type and a decoder for its fields.
// The decoder's data is valid until the next call. io.EOF means the peer
// closed the stream cleanly between frames.
func (r *Reader) Next() (byte, *Decoder, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r.br, hdr[:]); err != nil {
		if err == io.ErrUnexpectedEOF {
			return 0, nil, ErrShort
		}
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > uint32(r.max) {
		return 0, nil, fmt.Errorf("%w: frame of %d bytes", ErrTooLong, n)
	}
	if cap(r.buf) < int(n) {
		r.buf = make([]byte, n)
	}
	body := r.buf[:n]
	if _, err := io.ReadFull(r.br, body); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return 0, nil, ErrShort
		}
		return 0, nil, err
	}
	return NewDecoder(body)
}

// Buffered reports whether a further frame's bytes are already buffered.
func (r *Reader) Buffered() int { return r.br.Buffered() }
