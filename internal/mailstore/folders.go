package mailstore

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"goqmail/internal/dirsync"
	"goqmail/internal/maildir"
)

// ErrHasChildren refuses to delete a folder that has subfolders: deleting
// them with it would lose mail the user did not see (Dovecot too keeps a
// parent with children, as \Noselect).
var ErrHasChildren = errors.New("the folder has subfolders: delete or move them first")

// ErrSpecial refuses to rename or delete INBOX and the special folders.
var ErrSpecial = errors.New("INBOX and the special folders (Drafts, Sent, Junk, Trash) cannot be renamed or deleted")

// specialUse names Dovecot's default special-use folders (its
// 15-mailboxes.conf: Drafts \Drafts, Junk \Junk, Trash \Trash, Sent
// \Sent) and the role the webmail gives them.
var specialUse = map[string]string{"Drafts": "drafts", "Sent": "sent", "Junk": "junk", "Trash": "trash"}

// Role returns a folder's role: "inbox", "drafts", "sent", "junk",
// "trash" or "".
func Role(folder string) string {
	if folder == Inbox {
		return "inbox"
	}
	return specialUse[folder]
}

// Folder is one folder as Folders lists it.
type Folder struct {
	Name          string // UTF-8, "." between levels
	Role          string
	Total, Unread int
}

// Folders lists INBOX first, then the other folders by name, creating the
// special folders that do not exist yet. Directories whose names are not
// valid modified UTF-7 are not folders Dovecot would show either and are
// skipped.
func (s *Store) Folders() ([]Folder, error) {
	for name := range specialUse {
		if _, err := s.Dir(name); err != nil {
			return nil, err
		}
	}
	names, err := s.folderNames()
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	names = append([]string{Inbox}, names...)
	out := make([]Folder, 0, len(names))
	for _, n := range names {
		dir := s.Root
		if n != Inbox {
			dir = s.folderPath(n)
		}
		total, unread, err := s.count(n, dir)
		if err != nil {
			return nil, fmt.Errorf("folder %q: %w", n, err)
		}
		out = append(out, Folder{Name: n, Role: Role(n), Total: total, Unread: unread})
	}
	return out, nil
}

// folderNames returns the UTF-8 names of the folders below the root.
func (s *Store) folderNames() ([]string, error) {
	ents, err := os.ReadDir(s.Root)
	if err != nil {
		return nil, fmt.Errorf("mailstore: %w", err)
	}
	var names []string
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, deletedPrefix) {
			os.RemoveAll(filepath.Join(s.Root, n)) // a DeleteFolder that did not finish
			continue
		}
		if len(n) < 2 || n[0] != '.' || n == ".." {
			continue
		}
		name, err := decodeUTF7(n[1:])
		if err != nil || CheckFolderName(name) != nil || !isMaildir(filepath.Join(s.Root, n)) {
			continue
		}
		names = append(names, name)
	}
	return names, nil
}

// count returns the number of messages of folder and of those not seen.
// A folder this session has listed is answered from its scan (index.go)
// when new/ and cur/ kept the mtimes that scan saw, and either were
// stable then or the scan began less than stableAge ago: the page that
// lists a folder asks for the counts right after the list, and gets the
// list's own figures instead of reading 100,000 names a second time. A
// change made in the same clock tick as the one the scan saw is then
// counted at most stableAge late (the list itself reads the names again
// until the directories are stable). Any other listed folder is scanned
// again (which the next list reuses); a folder never listed is counted
// from its names.
func (s *Store) count(folder, dir string) (total, unread int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx := s.cache[folder]
	if idx == nil {
		return countDir(dir)
	}
	newTime, err1 := mtime(filepath.Join(dir, "new"))
	curTime, err2 := mtime(filepath.Join(dir, "cur"))
	if err1 != nil || err2 != nil || !newTime.Equal(idx.newTime) || !curTime.Equal(idx.curTime) ||
		(!idx.stable && time.Since(idx.started) >= stableAge) {
		if idx, err = s.scan(folder, dir); err != nil {
			return 0, 0, err
		}
	}
	return len(idx.all), idx.unread, nil
}

// countDir counts the messages of a Maildir and those not seen: every
// file in new/, and those in cur/ without the S flag.
func countDir(dir string) (total, unread int, err error) {
	nw, err := readNames(filepath.Join(dir, "new"))
	if err != nil {
		return 0, 0, err
	}
	cur, err := readNames(filepath.Join(dir, "cur"))
	if err != nil {
		return 0, 0, err
	}
	unread = len(nw)
	for _, n := range cur {
		if !strings.ContainsRune(Flags(n), 'S') {
			unread++
		}
	}
	return len(nw) + len(cur), unread, nil
}

// readNames returns the message file names of a new/ or cur/ directory,
// unsorted (readdir only: no stat per file), without dot files, which
// the Maildir spec says readers ignore.
func readNames(dir string) ([]string, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	out := names[:0]
	for _, n := range names {
		if n != "" && n[0] != '.' {
			out = append(out, n)
		}
	}
	return out, nil
}

// CreateFolder creates folder (a Maildir with a maildirfolder file, as
// Courier's maildirmake -f and Dovecot make them) and subscribes it when
// the mailbox has a subscriptions file. The parents of a new "A.B" are
// not created: Dovecot shows a missing parent as \NonExistent.
func (s *Store) CreateFolder(folder string) error {
	if folder == Inbox {
		return fmt.Errorf("folder %q: %w", folder, ErrExists)
	}
	if err := CheckFolderName(folder); err != nil {
		return err
	}
	return s.makeFolder(folder)
}

// makeFolder creates the Maildir of folder durably; ErrExists if it is
// there already.
func (s *Store) makeFolder(folder string) error {
	dir := s.folderPath(folder)
	if isMaildir(dir) {
		return fmt.Errorf("folder %q: %w", folder, ErrExists)
	}
	perm := os.FileMode(0o700)
	if fi, err := os.Stat(s.Root); err == nil {
		perm = fi.Mode().Perm()
	}
	if err := maildir.Make(dir, perm); err != nil {
		return fmt.Errorf("create folder %q: %w", folder, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "maildirfolder"), os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("create folder %q: %w", folder, err)
	}
	f.Close()
	if err := dirsync.Dir(dir); err != nil {
		return fmt.Errorf("create folder %q: %w", folder, err)
	}
	return s.updateSubscriptions(func(subs []string) []string {
		if !slices.Contains(subs, folder) {
			subs = append(subs, folder)
		}
		return subs
	})
}

// RenameFolder renames folder and every folder below it ("A" to "B" also
// makes "A.x" "B.x"), and their subscriptions. The renames are one per
// directory: a crash in between leaves some children under the old name,
// each a whole folder with all its mail.
func (s *Store) RenameFolder(folder, to string) error {
	if folder == Inbox || Role(folder) != "" || Role(to) != "" {
		return ErrSpecial
	}
	if err := CheckFolderName(to); err != nil {
		return err
	}
	if _, err := s.Dir(folder); err != nil {
		return err
	}
	if to == folder || strings.HasPrefix(to, folder+".") {
		return fmt.Errorf("folder %q cannot move below itself: %w", folder, ErrInvalid)
	}
	names, err := s.folderNames()
	if err != nil {
		return err
	}
	moves := [][2]string{{folder, to}}
	for _, n := range names {
		if rest, ok := strings.CutPrefix(n, folder+"."); ok {
			moves = append(moves, [2]string{n, to + "." + rest})
		}
	}
	for _, m := range moves {
		if exists(s.folderPath(m[1])) {
			return fmt.Errorf("folder %q: %w", m[1], ErrExists)
		}
	}
	for _, m := range moves {
		if err := os.Rename(s.folderPath(m[0]), s.folderPath(m[1])); err != nil {
			return fmt.Errorf("rename folder %q: %w", m[0], err)
		}
	}
	if err := dirsync.Dir(s.Root); err != nil {
		return fmt.Errorf("rename folder %q: %w", folder, err)
	}
	s.forget(folder)
	return s.updateSubscriptions(func(subs []string) []string {
		for i, n := range subs {
			if n == folder {
				subs[i] = to
			} else if rest, ok := strings.CutPrefix(n, folder+"."); ok {
				subs[i] = to + "." + rest
			}
		}
		return subs
	})
}

// deletedPrefix names a folder being deleted: no leading dot, so no
// Maildir++ reader takes it for a folder.
const deletedPrefix = "goqmail-deleted-"

// DeleteFolder deletes folder and the mail in it. The directory is first
// renamed out of the Maildir++ namespace (a name without the leading
// dot, which no Maildir++ reader lists) and made durable, then removed:
// a crash leaves no half-deleted folder, only a directory to remove.
func (s *Store) DeleteFolder(folder string) error {
	if folder == Inbox || Role(folder) != "" {
		return ErrSpecial
	}
	dir, err := s.Dir(folder)
	if err != nil {
		return err
	}
	names, err := s.folderNames()
	if err != nil {
		return err
	}
	for _, n := range names {
		if strings.HasPrefix(n, folder+".") {
			return fmt.Errorf("folder %q: %w", folder, ErrHasChildren)
		}
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	gone := filepath.Join(s.Root, deletedPrefix+hex.EncodeToString(rnd[:]))
	if err := os.Rename(dir, gone); err != nil {
		return fmt.Errorf("delete folder %q: %w", folder, err)
	}
	if err := dirsync.Dir(s.Root); err != nil {
		return fmt.Errorf("delete folder %q: %w", folder, err)
	}
	s.forget(folder)
	bytes, count := folderUsage(gone)
	s.noteQuota(-bytes, -count)
	if err := os.RemoveAll(gone); err != nil {
		return fmt.Errorf("delete folder %q: %w", folder, err)
	}
	return s.updateSubscriptions(func(subs []string) []string {
		return slices.DeleteFunc(subs, func(n string) bool { return n == folder })
	})
}
