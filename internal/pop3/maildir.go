package pop3

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"goqmail/internal/dirsync"
)

// ErrLocked means another POP3 session holds the mailbox: the client gets
// RFC 2449's [IN-USE] and may try again later.
var ErrLocked = errors.New("mailbox locked by another session")

// LockName is the lock file in the Maildir's top directory. Maildir readers
// ignore dot-files and never look outside new/ and cur/, so it disturbs
// nobody; flock(2) is released by the kernel when the session dies, so a
// crash never leaves a stale lock.
const LockName = ".pop3lock"

// message is one file listed when the session started. Message numbers are
// indexes into the list and never change during a session (RFC 1939 section 3).
type message struct {
	dir       string // "new" or "cur"
	name      string // file name inside dir
	uid       string
	mtime     time.Time
	size      int64 // CRLF octets; -1 until first needed
	deleted   bool
	retrieved bool
	gone      bool // the file vanished during the session
}

type mailbox struct {
	root string
	lock *os.File
	msgs []*message
}

// openMailbox locks the Maildir and lists new/ and cur/. Like qmail-pop3d
// the listing is every message in both, oldest mtime first; files delivered
// after this moment are ignored until the next session.
func openMailbox(root string) (*mailbox, error) {
	lf, err := os.OpenFile(filepath.Join(root, LockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock: %w", err)
	}
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lf.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrLocked
		}
		return nil, fmt.Errorf("lock %s: %w", root, err)
	}
	mb := &mailbox{root: root, lock: lf}
	for _, dir := range []string{"new", "cur"} {
		entries, err := os.ReadDir(filepath.Join(root, dir))
		if err != nil {
			mb.close()
			return nil, fmt.Errorf("list mailbox: %w", err)
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") || !e.Type().IsRegular() {
				continue
			}
			info, err := e.Info()
			if err != nil {
				continue // vanished between readdir and stat
			}
			mb.msgs = append(mb.msgs, &message{dir: dir, name: e.Name(), uid: uidOf(e.Name()), mtime: info.ModTime(), size: -1})
		}
	}
	sort.SliceStable(mb.msgs, func(i, j int) bool {
		a, b := mb.msgs[i], mb.msgs[j]
		if !a.mtime.Equal(b.mtime) {
			return a.mtime.Before(b.mtime)
		}
		return a.name < b.name
	})
	return mb, nil
}

func (mb *mailbox) close() {
	if mb.lock != nil {
		mb.lock.Close() // releases the flock
		mb.lock = nil
	}
}

func (mb *mailbox) path(m *message) string { return filepath.Join(mb.root, m.dir, m.name) }

// uidOf derives the UIDL from the part of the file name before ':', which
// survives the move from new/ to cur/ and every flag change, so a client
// keeping mail on the server sees the same id in every session. RFC 1939
// section 7 wants 1-70 characters in 0x21-0x7E; a name outside that gets a
// hash of itself, which is just as stable.
func uidOf(name string) string {
	unique, _, _ := strings.Cut(name, ":")
	ok := len(unique) >= 1 && len(unique) <= 70
	for i := 0; ok && i < len(unique); i++ {
		ok = unique[i] >= 0x21 && unique[i] <= 0x7e
	}
	if ok {
		return unique
	}
	sum := sha256.Sum256([]byte(unique))
	return "h" + hex.EncodeToString(sum[:16])
}

// seenName returns the name a retrieved message gets in cur/: the maildir
// info "2," with the flags it had plus S, in ASCII order as maildir(5) asks.
// An info of another version is left alone.
func seenName(name string) string {
	unique, info, hasInfo := strings.Cut(name, ":")
	if !hasInfo {
		return unique + ":2,S"
	}
	flags, ok := strings.CutPrefix(info, "2,")
	if !ok || strings.Contains(flags, "S") {
		return name
	}
	b := []byte(flags + "S")
	sort.Slice(b, func(i, j int) bool { return b[i] < b[j] })
	return unique + ":2," + string(b)
}

// commit is RFC 1939's UPDATE state, entered only by QUIT: deleted messages
// are unlinked, retrieved ones move to cur/ marked seen. Messages that were
// only listed stay where they are. A file that vanished meanwhile is not an
// error: somebody else already did something with it.
func (mb *mailbox) commit() error {
	var errs []error
	touched := map[string]bool{}
	for _, m := range mb.msgs {
		switch {
		case m.gone:
		case m.deleted:
			if err := os.Remove(mb.path(m)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
				continue
			}
			touched[m.dir] = true
		case m.retrieved:
			to := seenName(m.name)
			if m.dir == "cur" && to == m.name {
				continue
			}
			if err := os.Rename(mb.path(m), filepath.Join(mb.root, "cur", to)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
				continue
			}
			touched[m.dir], touched["cur"] = true, true
		}
	}
	for dir := range touched {
		if err := dirsync.Dir(filepath.Join(mb.root, dir)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
