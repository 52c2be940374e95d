// Package queue is the queue process: the only writer of goqmail's queue
// directory. It commits new messages durably (group commit), tells send
// about them, records per-recipient state for send, removes finished
// messages, and repairs the directory after a crash. It never parses
// addresses or headers: envelope fields are length-capped byte strings.
//
// The on-disk states and what recovery does at each are in docs/queue.md.
package queue

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Directory names under the queue root.
const (
	DirTmp  = "tmp"  // messages being received: <id>
	DirMsg  = "msg"  // committed messages: <id> (envelope and content), <id>.state
	DirBad  = "bad"  // messages recovery could not read, kept for the admin
	DirFree = "free" // finished message files kept for reuse (recycle.go)
	// DirJournal holds the journal's segments (journal.go), syncmode journal.
	DirJournal = "journal"
)

// FileLock is the queue's lock: the queue process holds an flock on it from
// before recovery until it exits (internal/pidlock).
const FileLock = "lock"

// SufState is the suffix of a message's delivery state log.
const SufState = ".state"

// Layout names the files of a queue rooted at Root.
type Layout struct{ Root string }

func (l Layout) Tmp(id string) string { return filepath.Join(l.Root, DirTmp, id) }

// Msg names a message file, or with SufState appended its state log.
func (l Layout) Msg(id string) string    { return filepath.Join(l.Root, DirMsg, id) }
func (l Layout) State(id string) string  { return filepath.Join(l.Root, DirMsg, id+SufState) }
func (l Layout) Free(name string) string { return filepath.Join(l.Root, DirFree, name) }
func (l Layout) FreeDir() string         { return filepath.Join(l.Root, DirFree) }
func (l Layout) MsgDir() string          { return filepath.Join(l.Root, DirMsg) }
func (l Layout) TmpDir() string          { return filepath.Join(l.Root, DirTmp) }
func (l Layout) BadDir() string          { return filepath.Join(l.Root, DirBad) }
func (l Layout) Bad(name string) string  { return filepath.Join(l.Root, DirBad, name) }
func (l Layout) Lock() string            { return filepath.Join(l.Root, FileLock) }
func (l Layout) JournalDir() string      { return filepath.Join(l.Root, DirJournal) }

// Make creates the queue directories (mode 0700: only the queue's uid
// enters them; the root spawner opens message files by name).
func (l Layout) Make() error {
	for _, d := range []string{l.Root, l.TmpDir(), l.MsgDir(), l.BadDir(), l.FreeDir()} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return fmt.Errorf("make queue directory: %w", err)
		}
	}
	// goqmail-remote (group goqmail) reads msg/: directories made before
	// remote delivery existed were 0700.
	for _, d := range []string{l.Root, l.MsgDir()} {
		if err := os.Chmod(d, 0o750); err != nil {
			return fmt.Errorf("queue directory mode: %w", err)
		}
	}
	return nil
}

// SplitName splits a file name in msg/ into the message id and its suffix
// ("" or SufState). ok is false for any other name.
func SplitName(name string) (id, suffix string, ok bool) {
	id = name
	if strings.HasSuffix(name, SufState) {
		id, suffix = strings.TrimSuffix(name, SufState), SufState
	}
	if !validID(id) {
		return "", "", false
	}
	return id, suffix, true
}

func validID(id string) bool {
	if len(id) != 16 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
