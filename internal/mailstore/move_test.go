package mailstore

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestMoveDelete(t *testing.T) {
	s := newStore(t)
	if err := s.CreateFolder("Archive"); err != nil {
		t.Fatal(err)
	}
	put(t, s, Inbox, "cur", "1.x.h:2,FS", "Subject: one\n\n")
	put(t, s, Inbox, "new", "2.x.h", "Subject: two\n\n")
	list(t, s, Inbox, ListOptions{}) // the cache knows the names
	id, err := s.Move(Inbox, "1.x.h", "Archive")
	if err != nil || id != "1.x.h" {
		t.Fatalf("move: %q %v", id, err)
	}
	if _, err := os.Stat(filepath.Join(s.Root, ".Archive", "cur", "1.x.h:2,FS")); err != nil {
		t.Fatalf("moved file: %v", err)
	}
	if _, err := s.Path(Inbox, "1.x.h"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("still in INBOX: %v", err)
	}
	// A message in new/ stays unread in the target's new/.
	if _, err := s.Move(Inbox, "2.x.h", "Archive"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.Root, ".Archive", "new", "2.x.h")); err != nil {
		t.Fatal(err)
	}
	// The same file name in the target is never replaced.
	put(t, s, Inbox, "cur", "1.x.h:2,FS", "Subject: another one\n\n")
	if _, err := s.Move(Inbox, "1.x.h", "Archive"); !errors.Is(err, ErrExists) {
		t.Fatalf("move onto an existing name: %v", err)
	}
	if _, err := s.Move(Inbox, "1.x.h", "Nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("move to a missing folder: %v", err)
	}
	// Delete moves to Trash (created on first use), then removes.
	if err := s.Delete("Archive", "1.x.h"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.Root, ".Trash", "cur", "1.x.h:2,FS")); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete("Trash", "1.x.h"); err != nil {
		t.Fatal(err)
	}
	if n, _ := list(t, s, "Trash", ListOptions{}); n != 0 {
		t.Fatalf("Trash has %d", n)
	}
	if err := s.Delete("Trash", "1.x.h"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

// SetFlags moves a message from new/ to cur/, and a list right after
// sees the new name (the cache follows).
func TestSetFlagsNewToCur(t *testing.T) {
	s := newStore(t)
	put(t, s, Inbox, "new", "9.x.h", "Subject: n\n\n")
	list(t, s, Inbox, ListOptions{})
	if err := s.SetFlags(Inbox, "9.x.h", "S", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.SetFlags(Inbox, "9.x.h", "F", "S"); err != nil {
		t.Fatal(err)
	}
	_, es := list(t, s, Inbox, ListOptions{})
	if len(es) != 1 || es[0].New || es[0].Flags() != "F" || es[0].Subject != "n" {
		t.Fatalf("after flags: %+v", es[0])
	}
	if _, err := os.Stat(filepath.Join(s.Root, "cur", "9.x.h:2,F")); err != nil {
		t.Fatal(err)
	}
}
