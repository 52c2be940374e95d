package maildir

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
	"sync"
	"sync/atomic"
	"time"

	"goqmail/internal/durable"
	"goqmail/internal/plainfile"
)

// maxCreateTries bounds the retries after EEXIST in tmp/. Each retry has a
// new Q and 64 new random bits, so a second collision means something
// other than chance (a name planted by someone who can write the maildir);
// notqmail loops on open_excl for the same reason qmail 1.03 stat'ed and
// slept: never reuse a name.
const maxCreateTries = 5

// Deliverer writes messages into Maildirs on behalf of one long-running
// process. The zero value is ready to use; set Host before the first
// Deliver. A Deliverer must not be copied after first use. It is safe for
// concurrent use, and should be shared by all goroutines of the process so
// that their fsyncs of new/ are shared.
type Deliverer struct {
	// Host is the right part of unique names (the spec's gethostname()).
	// Empty means os.Hostname(). '/', ':' and ',' are escaped.
	Host string

	// Sync makes each file and its name in new/ durable (fsync or syncfs,
	// internal/durable), shared among concurrent deliveries.
	Sync durable.Syncer

	deliveries atomic.Uint64 // the spec's Q: deliveries by this process

	once    sync.Once
	pid     int
	host    string // Host, escaped
	initErr error

	// swept is when each maildir's tmp/ was last cleaned by this process
	// (sweepTmp).
	sweptMu sync.Mutex
	swept   map[string]time.Time

	// Test seams; nil means time.Now and crypto/rand.
	clock  func() time.Time
	random io.Reader
}

// Deliver writes prefix followed by body into maildir (the directory that
// holds tmp/, new/ and cur/) and returns the name of the file created in
// new/.
//
// It follows qmail-local's maildir_child (nq106:qmail-local.c): create
// tmp/X exclusively (a fresh name on EEXIST, as notqmail does), write,
// make it durable, move tmp/X to new/X without ever overwriting (qmail's
// link and unlink, in one renameat2). It then makes the name in new/
// durable, shared with concurrent callers through Sync, because on Linux
// a new directory entry is not durable until its directory is; qmail
// relied on synchronous BSD metadata instead. Only then is the delivery
// reported.
//
// Missing tmp/ or new/ is an error: like qmail-local, delivery never
// creates a maildir. On error nothing is left in tmp/ and the caller
// should defer (qmail exit 111). If the fsync of new/ fails the new file
// is removed again (best effort), since the queue still holds the
// message and a retry would otherwise deliver it twice.
//
// body may be an *os.File positioned at the message start; the copy then
// uses copy_file_range(2) where the kernel allows.
func (d *Deliverer) Deliver(maildir string, prefix []byte, body io.Reader) (string, error) {
	tmpDir := filepath.Join(maildir, "tmp")
	f, name, err := d.createTmp(tmpDir)
	if err != nil {
		return "", err
	}
	tmpPath := filepath.Join(tmpDir, name)
	size, err := write(f, prefix, body)
	if err == nil {
		err = d.Sync.File(f)
	}
	if err != nil {
		f.Close()
		removeTmp(tmpPath)
		return "", fmt.Errorf("maildir: write tmp/%s: %w", name, err)
	}

	final := newName(name, size)
	newDir := filepath.Join(maildir, "new")
	newPath := filepath.Join(newDir, final)
	if err := moveNoReplace(tmpPath, newPath); err != nil {
		f.Close()
		removeTmp(tmpPath)
		return "", fmt.Errorf("maildir: move tmp/%s into new/: %w", name, err)
	}
	err = d.Sync.Name(newDir, f)
	// Close can report a failed write-back on NFS ("NFS dorks", qmail-local).
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(newPath)
		return "", fmt.Errorf("maildir: make new/%s durable: %w", final, err)
	}
	d.sweepTmp(maildir)
	return final, nil
}

// sweepEvery is how often one process cleans a maildir's tmp/ it delivers
// to: a directory read per maildir per hour, off the path of most
// deliveries.
const sweepEvery = time.Hour

// sweepTmp removes what killed deliveries left in tmp/ more than
// DefaultTmpAge ago (CleanTmp), at most once per sweepEvery per maildir.
// qmail left this to qmail-pop3d, so a mailbox read only over IMAP or
// from the file system collected tmp/ files forever.
func (d *Deliverer) sweepTmp(maildir string) {
	now := d.now()
	d.sweptMu.Lock()
	if last, ok := d.swept[maildir]; ok && now.Sub(last) < sweepEvery {
		d.sweptMu.Unlock()
		return
	}
	if d.swept == nil {
		d.swept = map[string]time.Time{}
	}
	d.swept[maildir] = now
	d.sweptMu.Unlock()
	_, _ = CleanTmp(maildir, DefaultTmpAge, now) // best effort: a file left now goes next time
}

func (d *Deliverer) now() time.Time {
	if d.clock != nil {
		return d.clock()
	}
	return time.Now()
}

// createTmp opens a new file in tmpDir with O_EXCL and mode 0600 (the
// message is the recipient's alone), retrying with a fresh unique name when
// the name is taken.
func (d *Deliverer) createTmp(tmpDir string) (*os.File, string, error) {
	for try := 1; ; try++ {
		name, err := d.tmpName()
		if err != nil {
			return nil, "", err
		}
		f, err := plainfile.Open(filepath.Join(tmpDir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			return f, name, nil
		}
		if !errors.Is(err, fs.ErrExist) || try == maxCreateTries {
			return nil, "", fmt.Errorf("maildir: create file in tmp/: %w", err)
		}
	}
}

// write writes prefix and body to f and returns the number of bytes
// written. The byte count comes from the writes themselves, not from a
// wrapper around body, so that io.Copy can still hand an *os.File to
// copy_file_range.
func write(f *os.File, prefix []byte, body io.Reader) (int64, error) {
	if bf, ok := body.(*os.File); ok {
		n, err := f.Write(prefix)
		size := int64(n)
		if err == nil {
			var m int64
			m, err = io.Copy(f, bf) // copy_file_range where possible
			size += m
		}
		return size, err
	}
	// Prefix and a small message go out in one write. The 64 KB buffer is
	// reused: allocating and zeroing one per delivery was 5% of
	// goqmail-local's CPU under load (docs/bench.md).
	w := writers.Get().(*bufio.Writer)
	w.Reset(f)
	w.Write(prefix)
	m, err := io.Copy(w, body)
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	w.Reset(nil)
	writers.Put(w)
	return int64(len(prefix)) + m, err
}

var writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64<<10) }}

// moveNoReplace renames tmp/X to new/X without ever replacing an existing
// file: renameat2(RENAME_NOREPLACE) does in one step what qmail's link and
// unlink do in two. File systems without it fall back to link and unlink.
// Failing to unlink tmp/X after the link does not undo the delivery
// (qmail's tryunlinktmp ignores it too); CleanTmp collects the leftover.
func moveNoReplace(from, to string) error {
	err := unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, to, unix.RENAME_NOREPLACE)
	if err == unix.EINVAL || err == unix.ENOSYS {
		if err := os.Link(from, to); err != nil {
			return err
		}
		removeTmp(from)
		return nil
	}
	if err != nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	return nil
}

// removeTmp unlinks a tmp/ file on a path where the delivery has already
// failed or already succeeded; its own error changes nothing for the
// caller, and CleanTmp collects whatever is left.
func removeTmp(path string) { _ = os.Remove(path) }
