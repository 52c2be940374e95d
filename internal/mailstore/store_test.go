package mailstore

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"goqmail/internal/maildir"
)

func newStore(t *testing.T) *Store {
	t.Helper()
	return newStoreAt(t, filepath.Join(t.TempDir(), "Maildir"))
}

func newStoreAt(t *testing.T, root string) *Store {
	t.Helper()
	for _, d := range []string{root, filepath.Join(root, ".Sent")} {
		if err := maildir.Make(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.WaitIndex)
	return s
}

func TestAppendPathFlags(t *testing.T) {
	s := newStore(t)
	id, err := s.Append("Sent", []byte("Subject: x\r\n\r\nhi\r\n"), "S")
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Path("Sent", id)
	if err != nil || Flags(p) != "S" || ID(p) != id {
		t.Fatalf("Path %q %v flags %q", p, err, Flags(p))
	}
	if err := s.SetFlags("Sent", id, "FS", "S"); err != nil {
		t.Fatal(err)
	}
	p, _ = s.Path("Sent", id)
	if Flags(p) != "F" {
		t.Fatalf("flags after +FS -S: %q", Flags(p))
	}
	if b, _ := os.ReadFile(p); string(b) != "Subject: x\r\n\r\nhi\r\n" {
		t.Fatalf("content %q", b)
	}
}

func TestNamesRefused(t *testing.T) {
	s := newStore(t)
	for _, f := range []string{"", "../x", ".Sent", "a/b", "a..b", "inbox", "x\x01", strings.Repeat("aé", 60)} {
		if _, err := s.Dir(f); !errors.Is(err, ErrInvalid) {
			t.Errorf("Dir(%q): %v, want ErrInvalid", f, err)
		}
	}
	for _, id := range []string{"", "../../etc/passwd", "a:2,S", ".hidden"} {
		if _, err := s.Path(Inbox, id); !errors.Is(err, ErrInvalid) {
			t.Errorf("Path(%q): %v, want ErrInvalid", id, err)
		}
	}
	if _, err := s.Dir("Nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing folder: %v", err)
	}
}
