// Package webrpc is the protocol between goqmail-web (the HTTP front,
// internal/web) and the session processes it talks to on a logged-in
// user's behalf: the mailbox session (goqmail-webmbox, as the mailbox
// owner, internal/webmbox) and the admin session (`goqmail admin-session`,
// internal/webadmin). goqmail-auth starts both after a password check and
// passes the front one end of a stream socketpair for each (as it does for
// POP3 sessions), so the front never holds more than the logged-in user's
// powers and never opens a mailbox, a password file or control/.
//
// One request, one response, strictly in turn. A request is an operation
// name, string arguments and attached files (uploads); a response is a
// status, a text for the user, rows of strings and one byte blob (a
// message part, a raw message). Frames are internal/ipc's; bulk bytes
// travel in chunk frames after the head so that no frame exceeds
// ipc.MaxFrame. Every count and length is bounded before anything is
// allocated, and leftover bytes are an error (DESIGN.md "Processes and
// trust").
package webrpc

import (
	"errors"
	"fmt"
	"io"

	"goqmail/internal/ipc"
)

// Frame types (0x70-0x7f are this protocol's).
const (
	tRequest  byte = 0x70
	tResponse byte = 0x71
	tChunk    byte = 0x72
)

// Bounds. A web session moves at most a message's worth of bytes at once;
// MaxBlob matches the largest databytes the web front accepts plus MIME
// overhead.
const (
	MaxOp       = 64
	MaxArgs     = 64
	MaxArg      = 1 << 20 // a composed body or a settings text
	MaxFiles    = 32
	MaxFileName = 1024
	MaxBlob     = 64 << 20 // all files of a request together, or a response blob
	MaxRows     = 200000   // a folder listing of a large mailbox, a queue listing
	MaxCols     = 64
	MaxCell     = 1 << 20
	MaxText     = 4096
	chunkSize   = 512 << 10
)

// Status says how a request ended. The front maps it to an HTTP status.
type Status uint8

const (
	OK        Status = 0
	Invalid   Status = 1 // the request's arguments are wrong (HTTP 400); Text says why
	NotFound  Status = 2 // no such folder, message, user, ... (404)
	Forbidden Status = 3 // the session's role may not do this (403)
	Failed    Status = 4 // a temporary or internal failure (500/503); Text says what to try
	Conflict  Status = 5 // it exists already, or changed meanwhile (409)
	maxStatus        = Conflict
)

func (s Status) String() string {
	switch s {
	case OK:
		return "ok"
	case Invalid:
		return "invalid"
	case NotFound:
		return "not found"
	case Forbidden:
		return "forbidden"
	case Failed:
		return "failed"
	case Conflict:
		return "conflict"
	}
	return fmt.Sprintf("status %d", uint8(s))
}

// File is an uploaded file travelling with a request (a compose
// attachment). Name and Type are as the browser sent them: hostile.
type File struct {
	Name string
	Type string
	Data []byte
}

// Request asks a session to do one operation (the op tables are in
// internal/webmbox/ops.go and internal/webadmin/ops.go).
type Request struct {
	Op    string
	Args  []string
	Files []File
}

// Arg returns argument i, or "" when there are fewer.
func (r *Request) Arg(i int) string {
	if i < len(r.Args) {
		return r.Args[i]
	}
	return ""
}

// Response is a session's answer.
type Response struct {
	Status Status
	Text   string     // for the user: why it failed, or what was done
	Rows   [][]string // the operation's table (see the op tables)
	Blob   []byte     // bulk bytes: a message part, a raw message
}

// Errorf builds a failed response.
func Errorf(st Status, format string, a ...any) *Response {
	return &Response{Status: st, Text: fmt.Sprintf(format, a...)}
}

// ErrProtocol marks a malformed or out-of-bounds frame: the peer is
// confused or hostile and the connection must be closed.
var ErrProtocol = errors.New("webrpc: protocol error")

// ErrTooLarge marks a request that exceeds the bounds ReadRequest
// applies (an argument, a file name, the frame, the files). WriteRequest
// refuses it before writing anything, so the connection stays usable:
// a browser's 2 MiB compose text is the user's mistake to be told about,
// not a reason to end the session. Before, the over-long frame was
// written, the session refused it and exited, and the user was logged
// out with the mail lost (found in the security review of issue 15).
var ErrTooLarge = errors.New("webrpc: request too large")

// WriteRequest writes r to w. A request the reader would refuse is
// ErrTooLarge, and nothing is written.
func WriteRequest(w io.Writer, r *Request) error {
	if len(r.Args) > MaxArgs || len(r.Files) > MaxFiles {
		return fmt.Errorf("%w: %d args, %d files", ErrTooLarge, len(r.Args), len(r.Files))
	}
	if len(r.Op) > MaxOp {
		return fmt.Errorf("%w: operation name of %d bytes", ErrTooLarge, len(r.Op))
	}
	e := ipc.New(tRequest, nil).String(r.Op).Uint(uint64(len(r.Args)))
	for i, a := range r.Args {
		if len(a) > MaxArg {
			return fmt.Errorf("%w: argument %d is %d bytes, at most %d", ErrTooLarge, i, len(a), MaxArg)
		}
		e.String(a)
	}
	e.Uint(uint64(len(r.Files)))
	total := 0
	for _, f := range r.Files {
		if len(f.Name) > MaxFileName || len(f.Type) > MaxFileName {
			return fmt.Errorf("%w: a file name or type of more than %d bytes", ErrTooLarge, MaxFileName)
		}
		e.String(f.Name).String(f.Type).Uint(uint64(len(f.Data)))
		total += len(f.Data)
	}
	if total > MaxBlob {
		return fmt.Errorf("%w: files of %d bytes", ErrTooLarge, total)
	}
	if n := len(e.Body()); n > ipc.MaxFrame {
		return fmt.Errorf("%w: %d bytes of arguments, at most %d", ErrTooLarge, n, ipc.MaxFrame)
	}
	if _, err := w.Write(e.Frame()); err != nil {
		return err
	}
	for _, f := range r.Files {
		if err := writeChunks(w, f.Data); err != nil {
			return err
		}
	}
	return nil
}

// ReadRequest reads one request; io.EOF means the peer closed between
// requests.
func ReadRequest(rd *ipc.Reader) (*Request, error) {
	typ, d, err := rd.Next()
	if err != nil {
		return nil, err
	}
	if typ != tRequest {
		return nil, fmt.Errorf("%w: frame type %#x, want a request", ErrProtocol, typ)
	}
	r := &Request{Op: d.String(MaxOp)}
	n := d.UintMax(MaxArgs)
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		r.Args = append(r.Args, d.String(MaxArg))
	}
	nf := d.UintMax(MaxFiles)
	sizes := make([]int, 0, nf)
	total := 0
	for i := uint64(0); i < nf && d.Err() == nil; i++ {
		r.Files = append(r.Files, File{Name: d.String(MaxFileName), Type: d.String(MaxFileName)})
		sz := int(d.UintMax(MaxBlob))
		total += sz
		sizes = append(sizes, sz)
	}
	if err := d.End(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	if total > MaxBlob {
		return nil, fmt.Errorf("%w: files of %d bytes", ErrProtocol, total)
	}
	for i, sz := range sizes {
		if r.Files[i].Data, err = readChunks(rd, sz); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// WriteResponse writes s to w.
func WriteResponse(w io.Writer, s *Response) error {
	if len(s.Rows) > MaxRows || len(s.Blob) > MaxBlob || s.Status > maxStatus {
		return fmt.Errorf("%w: response of %d rows, %d bytes", ErrProtocol, len(s.Rows), len(s.Blob))
	}
	text := s.Text
	if len(text) > MaxText {
		text = text[:MaxText]
	}
	e := ipc.New(tResponse, nil).Uint(uint64(s.Status)).String(text).Uint(uint64(len(s.Rows))).Uint(uint64(len(s.Blob)))
	if _, err := w.Write(e.Frame()); err != nil {
		return err
	}
	// Rows travel in frames of their own, as many per frame as fit.
	e = ipc.New(tChunk, nil)
	for _, row := range s.Rows {
		if len(row) > MaxCols {
			return fmt.Errorf("%w: row of %d columns", ErrProtocol, len(row))
		}
		size := 0
		for _, c := range row {
			size += len(c) + 10
		}
		if len(e.Body()) > 2 && len(e.Body())+size > chunkSize {
			if _, err := w.Write(e.Frame()); err != nil {
				return err
			}
			e = ipc.New(tChunk, nil)
		}
		if size > ipc.MaxFrame-64 {
			return fmt.Errorf("%w: row of %d bytes", ErrProtocol, size)
		}
		e.Uint(uint64(len(row)))
		for _, c := range row {
			e.String(c)
		}
	}
	if len(s.Rows) > 0 {
		if _, err := w.Write(e.Frame()); err != nil {
			return err
		}
	}
	return writeChunks(w, s.Blob)
}

// ReadResponse reads one response.
func ReadResponse(rd *ipc.Reader) (*Response, error) {
	typ, d, err := rd.Next()
	if err != nil {
		return nil, err
	}
	if typ != tResponse {
		return nil, fmt.Errorf("%w: frame type %#x, want a response", ErrProtocol, typ)
	}
	s := &Response{Status: Status(d.UintMax(uint64(maxStatus))), Text: d.String(MaxText)}
	nrows := int(d.UintMax(MaxRows))
	nblob := int(d.UintMax(MaxBlob))
	if err := d.End(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	for len(s.Rows) < nrows {
		typ, d, err := rd.Next()
		if err != nil {
			return nil, unexpectedEOF(err)
		}
		if typ != tChunk {
			return nil, fmt.Errorf("%w: frame type %#x, want rows", ErrProtocol, typ)
		}
		for d.Err() == nil && len(s.Rows) < nrows {
			nc := d.UintMax(MaxCols)
			row := make([]string, 0, nc)
			for i := uint64(0); i < nc && d.Err() == nil; i++ {
				row = append(row, d.String(MaxCell))
			}
			s.Rows = append(s.Rows, row)
			if err := d.End(); err == nil {
				break
			}
		}
		if err := d.End(); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrProtocol, err)
		}
	}
	if s.Blob, err = readChunks(rd, nblob); err != nil {
		return nil, err
	}
	return s, nil
}

func writeChunks(w io.Writer, p []byte) error {
	for len(p) > 0 {
		n := min(len(p), chunkSize)
		if _, err := w.Write(ipc.New(tChunk, nil).Bytes(p[:n]).Frame()); err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

func readChunks(rd *ipc.Reader, size int) ([]byte, error) {
	if size == 0 {
		return nil, nil
	}
	out := make([]byte, 0, size)
	for len(out) < size {
		typ, d, err := rd.Next()
		if err != nil {
			return nil, unexpectedEOF(err)
		}
		if typ != tChunk {
			return nil, fmt.Errorf("%w: frame type %#x, want data", ErrProtocol, typ)
		}
		p := d.Bytes(min(chunkSize, size-len(out)))
		if err := d.End(); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrProtocol, err)
		}
		if len(p) == 0 {
			return nil, fmt.Errorf("%w: empty data frame", ErrProtocol)
		}
		out = append(out, p...)
	}
	return out, nil
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return fmt.Errorf("%w: the peer closed in the middle of a message", ErrProtocol)
	}
	return err
}
