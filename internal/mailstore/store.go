// Package mailstore is a Maildir++ mailbox as the webmail sees it: folders
// (INBOX at the Maildir's root, others in ".Name" subdirectories, the
// layout Dovecot and Courier share), messages named by the unique part of
// their file name, flags kept in the file name (":2,FRST") so that
// Dovecot, POP3 and the webmail agree.
//
// It runs inside the mailbox session (goqmail-webmbox, as the mailbox
// owner), never in the web front.
//
// Names. The protocol names a folder by its Maildir++ name without the
// leading dot, in UTF-8, with "." separating levels ("Sent",
// "Archive.2026"); "INBOX" is the root. A message id is the part of its
// file name before ":2," (the same in new/ and cur/).
package mailstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"goqmail/internal/maildir"
)

var (
	ErrNotFound = errors.New("no such folder or message")
	ErrInvalid  = errors.New("invalid name")
	ErrExists   = errors.New("it exists already")
)

// Inbox is the root folder's name.
const Inbox = "INBOX"

// Store is one Maildir++ mailbox. Its methods are safe for concurrent
// use; other processes (Dovecot, POP3, deliveries) change the same
// Maildir at any time, so every call reads the directories again.
type Store struct {
	Root string // the Maildir (holds cur/, new/, tmp/ and the .Folder directories)
	del  maildir.Deliverer

	mu    sync.Mutex
	cache map[string]*folderIndex // the listing index of each folder read so far (index.go)
	scans uint64                  // scans made (index.go)

	// Background index writes (index.go, writeIndexLater).
	wmu    sync.Mutex
	wgen   map[string]uint64    // the latest snapshot of each index file
	wrote  map[string]time.Time // when the last write of each was started
	onDisk map[string]string    // each index file's stamps line, as last read or written
	wlock  sync.Mutex           // one write at a time
	writes sync.WaitGroup
}

// Open returns the store of the Maildir at root, which must exist.
func Open(root string) (*Store, error) {
	fi, err := os.Stat(filepath.Join(root, "cur"))
	if err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("mailstore: %s is not a Maildir: %w", root, ErrNotFound)
	}
	return &Store{Root: root}, nil // the zero durable.Syncer fsyncs
}

// Dir returns the Maildir directory of folder.
func (s *Store) Dir(folder string) (string, error) {
	if folder == Inbox {
		return s.Root, nil
	}
	if err := CheckFolderName(folder); err != nil {
		return "", err
	}
	dir := s.folderPath(folder)
	if isMaildir(dir) {
		return dir, nil
	}
	// Dovecot's special-use folders are created on first use
	// (folders.go), as Dovecot's auto = create does.
	if Role(folder) != "" {
		if err := s.makeFolder(folder); err != nil && !errors.Is(err, ErrExists) {
			return "", err
		}
		return dir, nil
	}
	return "", fmt.Errorf("folder %q: %w", folder, ErrNotFound)
}

// folderPath is the directory of folder: "." and its name in modified
// UTF-7 (utf7.go); "." separates levels both in the name and on disk.
func (s *Store) folderPath(folder string) string {
	return filepath.Join(s.Root, "."+encodeUTF7(folder))
}

func isMaildir(dir string) bool {
	fi, err := os.Stat(filepath.Join(dir, "cur"))
	return err == nil && fi.IsDir()
}

// CheckFolderName refuses names that could leave the Maildir or confuse
// Maildir++ (empty levels, "/", control characters, a leading dot).
func CheckFolderName(folder string) error {
	if folder == "" || len(folder) > 255 || strings.ContainsAny(folder, "/\\\x00") ||
		strings.HasPrefix(folder, ".") || strings.HasSuffix(folder, ".") || strings.Contains(folder, "..") ||
		strings.EqualFold(folder, Inbox) || !utf8.ValidString(folder) {
		return fmt.Errorf("folder %q: %w", folder, ErrInvalid)
	}
	for _, r := range folder {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("folder %q: %w", folder, ErrInvalid)
		}
	}
	// The directory name (a dot and the modified UTF-7 form, which is
	// longer than UTF-8 for most scripts) must fit NAME_MAX, 255 bytes.
	if 1+len(encodeUTF7(folder)) > 255 {
		return fmt.Errorf("folder %q: the name is too long: %w", folder, ErrInvalid)
	}
	return nil
}

// checkID refuses ids that are not a plain file name.
func checkID(id string) error {
	if id == "" || len(id) > 255 || strings.ContainsAny(id, "/\\:\x00") || id[0] == '.' {
		return fmt.Errorf("message id %q: %w", id, ErrInvalid)
	}
	return nil
}

// Path returns the current file of message id in folder (in new/ or cur/).
func (s *Store) Path(folder, id string) (string, error) {
	if err := checkID(id); err != nil {
		return "", err
	}
	dir, err := s.Dir(folder)
	if err != nil {
		return "", err
	}
	if p := filepath.Join(dir, "new", id); exists(p) {
		return p, nil
	}
	// The listing's index knows the name a list just showed: one lstat
	// instead of reading a large cur/.
	if p := s.cachedPath(folder, dir, id); p != "" && exists(p) {
		return p, nil
	}
	// cur/ names carry ":2,FLAGS"; the flags are not known here.
	matches, _ := filepath.Glob(filepath.Join(dir, "cur", globEscape(id)+":2,*"))
	if len(matches) > 0 {
		return matches[0], nil
	}
	if p := filepath.Join(dir, "cur", id); exists(p) {
		return p, nil
	}
	return "", fmt.Errorf("message %s in %s: %w", id, folder, ErrNotFound)
}

// Flags returns the Maildir flags of a message file's name ("" in new/).
func Flags(path string) string {
	base := filepath.Base(path)
	if i := strings.Index(base, ":2,"); i >= 0 {
		return base[i+3:]
	}
	return ""
}

// ID returns the message id of a file name.
func ID(path string) string {
	base := filepath.Base(path)
	if i := strings.Index(base, ":2,"); i >= 0 {
		return base[:i]
	}
	return base
}

// Append stores raw durably in folder's cur/ with flags (Maildir letters,
// e.g. "S" for a sent copy, "DS" for a draft) and returns its id.
func (s *Store) Append(folder string, raw []byte, flags string) (string, error) {
	dir, err := s.Dir(folder)
	if err != nil {
		return "", err
	}
	name, err := s.del.Deliver(dir, raw, strings.NewReader(""))
	if err != nil {
		return "", err
	}
	s.noteQuota(int64(len(raw)), 1) // quota.go
	if flags == "" {
		return name, nil
	}
	if err := s.rename(dir, filepath.Join(dir, "new", name), normFlags(flags)); err != nil {
		return "", err
	}
	return name, nil
}

// SetFlags adds and removes Maildir flags (letters) of a message; a
// message in new/ moves to cur/ (it has been seen by a client).
func (s *Store) SetFlags(folder, id, add, remove string) error {
	p, err := s.Path(folder, id)
	if err != nil {
		return err
	}
	dir, _ := s.Dir(folder)
	var fl []rune
	for _, r := range Flags(p) + add {
		if !strings.ContainsRune(remove, r) {
			fl = append(fl, r)
		}
	}
	flags := normFlags(string(fl))
	if err := s.rename(dir, p, flags); err != nil {
		return err
	}
	s.renamed(folder, id, id+":2,"+flags)
	return nil
}

// rename moves p into dir/cur with flags and makes the name durable.
func (s *Store) rename(dir, p, flags string) error {
	to := filepath.Join(dir, "cur", ID(p)+":2,"+flags)
	if to == p {
		return nil
	}
	if err := os.Rename(p, to); err != nil {
		return err
	}
	return syncDir(filepath.Join(dir, "cur"))
}

// normFlags sorts and deduplicates flag letters (Maildir wants them in
// ASCII order).
func normFlags(f string) string {
	rs := []rune(f)
	slices.Sort(rs)
	return string(slices.Compact(rs))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return !errors.Is(err, fs.ErrNotExist)
}

func globEscape(s string) string {
	r := strings.NewReplacer(`*`, `\*`, `?`, `\?`, `[`, `\[`, `\`, `\\`)
	return r.Replace(s)
}
