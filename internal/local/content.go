package local

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// errShort reports a message that ended before its announced size: the
// spawner's copy broke off.
var errShort = errors.New("message ended early")

// textShort is the deferral for errShort; it must never become a delivery.
const textShort = "Unable to read message: it ended early. (#4.3.0)"

// exactReader passes on exactly the announced number of bytes and turns an
// early end into an error, so a copy that broke off in the spawner can never
// become a truncated message in new/.
type exactReader struct {
	r     io.Reader
	left  int64
	short bool
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if err == io.EOF && e.left > 0 {
		e.short = true
		return n, io.ErrUnexpectedEOF
	}
	if err == io.EOF {
		err = nil
	}
	return n, err
}

// copyContent copies the message from the spawner's pipe into an anonymous
// memory file, so that each instruction can read it from the start, as
// qmail-local rewinds its stdin (seek_begin) before each one; the pipe can
// be read only once. The copy must be exactly size bytes: fewer is
// errShort, never a delivery. Bytes after size are not read.
//
// The file is then sealed against any change of content or size, so a
// program that is handed it as stdin cannot alter what the next
// instruction delivers. Sealing is best effort: without it (a kernel that
// refuses seals) programs still get a read-only descriptor (programStdin).
func copyContent(msg io.Reader, size int64) (*os.File, error) {
	fd, err := unix.MemfdCreate("goqmail-message", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "memfd:goqmail-message")
	// A LimitedReader over the pipe lets File.ReadFrom splice in the kernel.
	n, err := io.Copy(f, io.LimitReader(msg, size))
	if err == nil && n < size {
		err = errShort
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	_, _ = unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE|unix.F_SEAL_SEAL)
	return f, nil
}

// programStdin gives a program its own read-only descriptor of the content,
// at offset 0: a new open of the memory file through /proc, so the
// program's reads move no offset we use and it cannot write. Without /proc
// it falls back to the content's own descriptor rewound (sealed, so still
// unwritable); our own reads use ReadAt and never depend on its offset.
func programStdin(content *os.File) (*os.File, error) {
	f, err := os.OpenFile("/proc/self/fd/"+strconv.Itoa(int(content.Fd())), os.O_RDONLY, 0)
	if err == nil {
		return f, nil
	}
	if _, err := content.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	// The caller closes what it gets; give it a duplicate.
	fd, err := unix.FcntlInt(content.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), content.Name()), nil
}
