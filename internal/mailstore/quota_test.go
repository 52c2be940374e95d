package mailstore

import (
	"os"
	"path/filepath"
	"testing"
)

// Appends, removals from Trash and folder deletes keep the Maildir++
// quota file's totals right; moves do not touch it; a mailbox without
// one does not get one.
func TestQuotaLines(t *testing.T) {
	s := newStore(t)
	qf := filepath.Join(s.Root, quotaFile)
	msg := []byte("Subject: q\r\n\r\n0123456789\r\n") // 26 bytes
	if _, err := s.Append("Sent", msg, "S"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(qf); err == nil {
		t.Fatal("maildirsize created")
	}
	os.WriteFile(qf, []byte("1000000S,100C\n0 0\n"), 0o600)
	id, err := s.Append("Sent", msg, "S")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Delete("Sent", id); err != nil { // to Trash: no change
		t.Fatal(err)
	}
	if err := s.Delete("Trash", id); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateFolder("Old"); err != nil {
		t.Fatal(err)
	}
	put(t, s, "Old", "cur", "1.x.h,S=1000:2,S", "x")
	put(t, s, "Old", "new", "2.x.h", "0123456")
	if err := s.DeleteFolder("Old"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(qf)
	if want := "1000000S,100C\n0 0\n26 1\n-26 -1\n-1007 -2\n"; string(b) != want {
		t.Fatalf("maildirsize:\n got %q\nwant %q", b, want)
	}
}
