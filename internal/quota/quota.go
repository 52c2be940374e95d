package quota

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// staleAfter is how old an over-quota maildirsize may be before it is
// recounted: "if the timestamp on maildirsize indicated that it's at least
// 15 minutes old, throw out the totals" [Maildir++]; Courier's
// "15*60", Dovecot's MAILDIRSIZE_STALE_SECS.
const staleAfter = 15 * time.Minute

// Check reads (and when needed recalculates) the usage of the Maildir at dir
// with limits lim (which also become the file's first line when it is written),
// and says whether a message of size bytes fits.
//
// dir may also be a Maildir++ folder (it holds a "maildirfolder" file);
// the quota is then its parent's [Maildir++ "Calculating maildirsize"
// step 1]. A Maildir that does not exist yet is empty.
//
// maildirsize is rebuilt from a count of the Maildir when:
//   - it is missing or at least 5120 bytes long [Maildir++];
//   - it cannot be parsed, or a total saturated (see parseFile);
//   - its first line is not lim: lim is what the server is configured
//     with, and a changed quota must reach Courier and Dovecot, which read
//     it from the file (Courier's maildir_quota_add_start and Dovecot with
//     configured limits rebuild in the same case);
//   - the message does not fit and the file is not one fresh line: it has
//     more than one line after the definition or is at least 15 minutes
//     old [Maildir++; Courier's docheckquota, which tests the totals with
//     the new message added, as we do].
//
// The returned Usage is the Maildir before the message. An error (the
// file or the Maildir cannot be read, or the new file cannot be written)
// means the answer is unknown: delivery should be deferred.
func Check(dir string, lim Limits, size int64) (Usage, bool, error) {
	if err := lim.validate(); err != nil {
		return Usage{}, false, err
	}
	if size < 0 {
		return Usage{}, false, fmt.Errorf("%w message size %d", ErrInvalid, size)
	}
	root, err := maildirRoot(dir)
	if err != nil {
		return Usage{}, false, err
	}
	fc, mtime, trusted, err := readFile(root)
	if err != nil {
		return Usage{}, false, err
	}
	if trusted && fc.Limits == lim {
		fits := lim.Fits(fc.Usage, size)
		if fits || (fc.Lines == 1 && time.Since(mtime) < staleAfter) {
			return fc.Usage, fits, nil
		}
	}
	u, err := recalculate(root, lim)
	if err != nil {
		return Usage{}, false, err
	}
	return u, lim.Fits(u, size), nil
}

// Add records a delivered message (appends "size 1" with one write, O_APPEND).
//
// Call it after the message is in new/ ("after moving the file from tmp to
// new append a line to the file containing the message size, and '1'"
// [Maildir++ "Delivering to a Maildir++"]). The line goes out in a single
// write(2) on a descriptor opened with O_APPEND, so concurrent deliveries
// never interleave or overwrite each other's lines; the file is not
// created with O_CREAT, because an empty file would lack the definition.
// When there is no maildirsize the Maildir is counted instead and the file
// written with lim, as Dovecot does on an update without a file; the count
// already includes the message just delivered.
func Add(dir string, lim Limits, size int64) error {
	if err := lim.validate(); err != nil {
		return err
	}
	if size < 0 {
		return fmt.Errorf("%w message size %d", ErrInvalid, size)
	}
	root, err := maildirRoot(dir)
	if err != nil {
		return err
	}
	path := filepath.Join(root, fileName)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if errors.Is(err, fs.ErrNotExist) {
		_, err := recalculate(root, lim)
		return err
	}
	if err != nil {
		return fmt.Errorf("quota: add to %s: %w", path, err)
	}
	_, werr := f.Write(formatDelta(size))
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		return fmt.Errorf("quota: add to %s: %w", path, err)
	}
	return nil
}

// Recount counts the Maildir at dir (or the Maildir whose folder dir is)
// and makes its maildirsize the definition lim and those totals, whatever
// the file said before [Maildir++ "Calculating maildirsize"]. It is for a
// Maildir changed behind the deliveries' back, such as one filled by an
// import: its maildirsize, if any, no longer describes it, and Check
// trusts a file that says "under quota" (that is the point of the file).
//
// A file that already says exactly this is left alone (a second import
// changes nothing). The file is written only when the Maildir has a tmp/
// (see writeFile); the totals are returned either way. As in recalculate,
// a count that raced with a delivery is repeated.
func Recount(dir string, lim Limits) (Usage, error) {
	if err := lim.validate(); err != nil {
		return Usage{}, err
	}
	root, err := maildirRoot(dir)
	if err != nil {
		return Usage{}, err
	}
	return recount(root, lim, true)
}

// FileName is the name of the quota file at a Maildir's root.
const FileName = fileName

// maildirRoot returns the Maildir whose maildirsize governs dir: dir
// itself, or its parent when dir is a Maildir++ folder.
func maildirRoot(dir string) (string, error) {
	dir = filepath.Clean(dir)
	_, err := os.Lstat(filepath.Join(dir, "maildirfolder"))
	switch {
	case err == nil:
		return filepath.Dir(dir), nil
	case errors.Is(err, fs.ErrNotExist):
		return dir, nil
	}
	return "", fmt.Errorf("quota: %s: %w", dir, err)
}

// readFile reads root/maildirsize into a 5120-byte buffer, as Courier and
// Dovecot do. trusted is false when the file must be rebuilt: it is
// missing, fills the buffer, cannot be parsed or saturated. Other errors
// (permission, I/O) are returned.
func readFile(root string) (fc fileContents, mtime time.Time, trusted bool, err error) {
	path := filepath.Join(root, fileName)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fc, mtime, false, nil
	}
	if err != nil {
		return fc, mtime, false, fmt.Errorf("quota: read %s: %w", path, err)
	}
	defer f.Close()
	buf := make([]byte, maxFileSize)
	n, err := io.ReadFull(f, buf)
	switch {
	case err == nil: // the buffer filled: the file is at least 5120 bytes
		return fc, mtime, false, nil
	case err != io.EOF && err != io.ErrUnexpectedEOF:
		return fc, mtime, false, fmt.Errorf("quota: read %s: %w", path, err)
	}
	info, err := f.Stat()
	if err != nil {
		return fc, mtime, false, fmt.Errorf("quota: read %s: %w", path, err)
	}
	fc, err = parseFile(buf[:n])
	if err != nil || fc.Saturated {
		return fileContents{}, mtime, false, nil
	}
	return fc, info.ModTime(), true, nil
}
