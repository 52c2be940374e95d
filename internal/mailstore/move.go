package mailstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Trash is the folder Delete moves messages to.
const Trash = "Trash"

// Move moves message id from folder to another folder, keeping its file
// name (so its id and flags) and its place (new/ or cur/): a rename from
// one folder's directory to the other's, never replacing a file there.
// A rename is atomic, so after a crash the message is in one folder or
// the other, never in neither; the fsync of the target directory, then
// the source's, makes it stay where it went. It returns the id, which
// does not change.
func (s *Store) Move(folder, id, to string) (string, error) {
	p, err := s.Path(folder, id)
	if err != nil {
		return "", err
	}
	if folder == to {
		return id, nil
	}
	toDir, err := s.Dir(to)
	if err != nil {
		return "", err
	}
	sub := filepath.Base(filepath.Dir(p)) // "new" or "cur"
	dst := filepath.Join(toDir, sub, filepath.Base(p))
	if err := unix.Renameat2(unix.AT_FDCWD, p, unix.AT_FDCWD, dst, unix.RENAME_NOREPLACE); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("message %s in %s: %w", id, to, ErrExists)
		}
		return "", fmt.Errorf("move %s to %s: %w", id, to, err)
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return "", fmt.Errorf("move %s to %s: %w", id, to, err)
	}
	if err := syncDir(filepath.Dir(p)); err != nil {
		return "", fmt.Errorf("move %s to %s: %w", id, to, err)
	}
	return id, nil
}

// Delete moves a message to Trash; in Trash it removes the file for good
// (and makes the removal durable).
func (s *Store) Delete(folder, id string) error {
	if folder != Trash {
		_, err := s.Move(folder, id, Trash)
		return err
	}
	p, err := s.Path(folder, id)
	if err != nil {
		return err
	}
	size := messageSize(p)
	if err := os.Remove(p); err != nil {
		return fmt.Errorf("delete %s: %w", id, err)
	}
	s.noteQuota(-size, -1)
	return syncDir(filepath.Dir(p))
}
