package maildir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"goqmail/internal/dirsync"
)

// DefaultTmpAge is how long a file may sit in tmp/ unaccessed before
// CleanTmp may remove it: 36 hours, as man maildir.5 and qmail-pop3d's
// maildir_clean (129600 seconds) say.
const DefaultTmpAge = 36 * time.Hour

// Make creates the Maildir dir with its tmp/, new/ and cur/
// subdirectories, like maildirmake. Unlike maildirmake, whose mkdir fails
// on an existing directory, Make keeps parts that already exist as
// directories untouched, so it is idempotent. The parent of
// dir must exist. Newly created directories get exactly perm (maildirmake
// sets umask 077 for an exact 0700), and their entries are fsync'd so a
// maildir reported as made survives a crash.
func Make(dir string, perm os.FileMode) error {
	parts := []string{dir, filepath.Join(dir, "tmp"), filepath.Join(dir, "new"), filepath.Join(dir, "cur")}
	var syncParent, syncDir bool
	for i, p := range parts {
		created, err := mkdirExact(p, perm.Perm())
		if err != nil {
			return err
		}
		if created && i == 0 {
			syncParent = true
		} else if created {
			syncDir = true
		}
	}
	if syncDir {
		if err := dirsync.Dir(dir); err != nil {
			return fmt.Errorf("maildir: make %s: %w", dir, err)
		}
	}
	if syncParent {
		if err := dirsync.Dir(filepath.Dir(dir)); err != nil {
			return fmt.Errorf("maildir: make %s: %w", dir, err)
		}
	}
	return nil
}

// mkdirExact creates path with mode perm regardless of the umask and
// reports whether it did; an existing directory (or symlink to one) is
// accepted.
func mkdirExact(path string, perm os.FileMode) (bool, error) {
	err := os.Mkdir(path, perm)
	if err == nil {
		if err := os.Chmod(path, perm); err != nil {
			return true, fmt.Errorf("maildir: make: %w", err)
		}
		return true, nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return false, fmt.Errorf("maildir: make: %w", err)
	}
	fi, serr := os.Stat(path)
	if serr != nil {
		return false, fmt.Errorf("maildir: make: %w", serr)
	}
	if !fi.IsDir() {
		return false, fmt.Errorf("maildir: make: %s is not a directory: %w", path, fs.ErrExist)
	}
	return false, nil
}

// CleanTmp removes the regular files in maildir's tmp/ that were last
// accessed more than age before now (DefaultTmpAge in qmail) and returns
// how many it removed. Such files are left by deliveries that crashed;
// a delivery still running has touched its file recently. Dot-files are
// skipped, as qmail-pop3d's maildir_clean does, and so is anything that
// is not a regular file. Errors on single files do not stop the sweep;
// they are returned joined.
func CleanTmp(maildir string, age time.Duration, now time.Time) (int, error) {
	tmpDir := filepath.Join(maildir, "tmp")
	entries, err := os.ReadDir(tmpDir)
	if err != nil {
		return 0, fmt.Errorf("maildir: clean tmp/: %w", err)
	}
	removed := 0
	var errs []error
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // finished or removed meanwhile
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("maildir: clean tmp/: %w", err))
			continue
		}
		if now.Sub(accessTime(fi)) <= age {
			continue
		}
		err = os.Remove(filepath.Join(tmpDir, e.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("maildir: clean tmp/: %w", err))
			continue
		}
		removed++
	}
	return removed, errors.Join(errs...)
}
