package mailstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// put writes a message file into folder's sub ("new" or "cur") under
// name, as a delivery or another client would.
func put(t *testing.T, s *Store, folder, sub, name, content string) {
	t.Helper()
	dir, err := s.Dir(folder)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, sub, name), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func folderRows(t *testing.T, s *Store) []string {
	t.Helper()
	fs, err := s.Folders()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s/%s/%d/%d", f.Name, f.Role, f.Total, f.Unread))
	}
	return out
}

func TestFoldersCreateListCounts(t *testing.T) {
	s := newStore(t)
	put(t, s, Inbox, "new", "1.a.host", "Subject: a\n\nx\n")
	put(t, s, Inbox, "cur", "2.a.host:2,S", "Subject: b\n\nx\n")
	put(t, s, Inbox, "cur", "3.a.host:2,", "Subject: c\n\nx\n")
	put(t, s, Inbox, "cur", ".hidden", "not a message")
	if err := s.CreateFolder("Café.Sub"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateFolder("Archive"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateFolder("Archive"); !errors.Is(err, ErrExists) {
		t.Fatalf("second create: %v, want ErrExists", err)
	}
	if err := s.CreateFolder("Sent"); !errors.Is(err, ErrExists) {
		t.Fatalf("create Sent: %v, want ErrExists", err)
	}
	// A directory that is not a Maildir, and one whose name is not
	// modified UTF-7, are no folders.
	os.Mkdir(filepath.Join(s.Root, ".junkdir"), 0o700)
	os.MkdirAll(filepath.Join(s.Root, ".Bad&AOk", "cur"), 0o700)
	got := folderRows(t, s)
	want := []string{"INBOX/inbox/3/2", "Archive//0/0", "Café.Sub//0/0", "Drafts/drafts/0/0", "Junk/junk/0/0", "Sent/sent/0/0", "Trash/trash/0/0"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("folders:\n got %v\nwant %v", got, want)
	}
	// On disk as Dovecot names them, each with maildirfolder.
	for _, d := range []string{".Caf&AOk-.Sub", ".Archive", ".Trash", ".Drafts"} {
		if _, err := os.Stat(filepath.Join(s.Root, d, "maildirfolder")); err != nil {
			t.Errorf("%s: %v", d, err)
		}
		for _, sub := range []string{"cur", "new", "tmp"} {
			if fi, err := os.Stat(filepath.Join(s.Root, d, sub)); err != nil || !fi.IsDir() {
				t.Errorf("%s/%s: %v", d, sub, err)
			}
		}
	}
}

func TestRenameFolderMovesChildren(t *testing.T) {
	s := newStore(t)
	for _, f := range []string{"A", "A.x", "A.x.y", "AB"} {
		if err := s.CreateFolder(f); err != nil {
			t.Fatal(err)
		}
	}
	put(t, s, "A.x", "cur", "1.a.host:2,S", "Subject: kept\n\nx\n")
	if err := s.RenameFolder("A", "Zürich"); err != nil {
		t.Fatal(err)
	}
	got := folderRows(t, s)
	want := []string{"INBOX/inbox/0/0", "AB//0/0", "Drafts/drafts/0/0", "Junk/junk/0/0", "Sent/sent/0/0", "Trash/trash/0/0",
		"Zürich//0/0", "Zürich.x//1/0", "Zürich.x.y//0/0"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after rename:\n got %v\nwant %v", got, want)
	}
	if _, err := os.Stat(filepath.Join(s.Root, ".Z&APw-rich.x", "cur", "1.a.host:2,S")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		from, to string
		want     error
	}{
		{"AB", "Zürich", ErrExists},
		{"Zürich", "Zürich.x.new", ErrInvalid},
		{"Nope", "Other", ErrNotFound},
		{"Sent", "Outbox", ErrSpecial},
		{"AB", "Trash", ErrSpecial},
		{Inbox, "Old", ErrSpecial},
		{"AB", "../x", ErrInvalid},
		{"AB", "inbox", ErrInvalid},
	} {
		if err := s.RenameFolder(c.from, c.to); !errors.Is(err, c.want) {
			t.Errorf("rename %q to %q: %v, want %v", c.from, c.to, err, c.want)
		}
	}
}

func TestDeleteFolder(t *testing.T) {
	s := newStore(t)
	for _, f := range []string{"P", "P.c", "Q"} {
		if err := s.CreateFolder(f); err != nil {
			t.Fatal(err)
		}
	}
	put(t, s, "Q", "cur", "1.a.host:2,S", "Subject: gone\n\nx\n")
	if err := s.DeleteFolder("P"); !errors.Is(err, ErrHasChildren) {
		t.Fatalf("delete with children: %v", err)
	}
	for _, f := range []string{Inbox, "Trash", "Sent", "Drafts", "Junk"} {
		if err := s.DeleteFolder(f); !errors.Is(err, ErrSpecial) {
			t.Errorf("delete %s: %v, want ErrSpecial", f, err)
		}
	}
	if err := s.DeleteFolder("Nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete missing: %v", err)
	}
	if err := s.DeleteFolder("Q"); err != nil {
		t.Fatal(err)
	}
	// A delete cut short by a crash (renamed away, not yet removed) is
	// finished by the next folder list.
	os.MkdirAll(filepath.Join(s.Root, deletedPrefix+"0123", "cur"), 0o700)
	if _, err := s.Folders(); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteFolder("P.c"); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(s.Root)
	for _, e := range ents {
		if e.Name() == ".Q" || e.Name() == ".P.c" || strings.HasPrefix(e.Name(), deletedPrefix) {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

// Dovecot's subscriptions file (version 2) follows creates, renames and
// deletes; a mailbox without one does not get one.
func TestSubscriptions(t *testing.T) {
	s := newStore(t)
	if err := s.CreateFolder("NoFile"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.Root, subsFile)); err == nil {
		t.Fatal("a subscriptions file was created")
	}
	// As Dovecot 2.3 wrote it after "doveadm mailbox subscribe": levels
	// separated by tabs, names in modified UTF-7, plus one we do not make.
	orig := "V\t2\n\nArc&-h\nOld\nOld\tkid\nodd/name\n"
	os.WriteFile(filepath.Join(s.Root, subsFile), []byte(orig), 0o600)
	for _, f := range []string{"Old", "Old.kid"} {
		if err := s.CreateFolder(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateFolder("Ünï.x"); err != nil {
		t.Fatal(err)
	}
	if err := s.RenameFolder("Old", "New"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteFolder("NoFile"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(s.Root, subsFile))
	want := "V\t2\n\nArc&-h\nNew\nNew\tkid\nodd/name\n&ANw-n&AO8-\tx\n"
	if string(b) != want {
		t.Fatalf("subscriptions:\n got %q\nwant %q", b, want)
	}
	subs, _ := s.Subscriptions()
	if !reflect.DeepEqual(subs, []string{"Arc&h", "New", "New.kid", "Ünï.x"}) {
		t.Fatalf("Subscriptions() = %q", subs)
	}
	if _, err := os.Stat(filepath.Join(s.Root, subsLock)); err == nil {
		t.Fatal("lock left behind")
	}
}
