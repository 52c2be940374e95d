package mailstore

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// settle sets the mtimes of new/ and cur/ an hour back, as a folder
// untouched for a while has them (a list then finds them stable).
func settle(t *testing.T, s *Store) time.Time {
	t.Helper()
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	for _, d := range []string{"new", "cur"} {
		if err := os.Chtimes(filepath.Join(s.Root, d), old, old); err != nil {
			t.Fatal(err)
		}
	}
	return old
}

func readIndex(t *testing.T, s *Store) (header, body string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.Root, IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	header, body, _ = strings.Cut(string(b), "\n")
	return header, body
}

func newList(t *testing.T, root string) (int, []*Entry) {
	t.Helper()
	st, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	n, es := list(t, st, Inbox, ListOptions{})
	st.WaitIndex()
	return n, es
}

// A new session takes the names from the index while new/ and cur/
// have the stamps the index records (no readdir of 100,000 names); a
// change, even with the mtime set back, makes it read the directories.
func TestIndexStandsInForTheNames(t *testing.T) {
	s := newStore(t)
	put(t, s, Inbox, "cur", "1.a.host:2,S", "Date: Mon, 1 Dec 2026 10:00:00 +0000\nSubject: one\n\n")
	put(t, s, Inbox, "new", "2.a.host", "Date: Tue, 2 Dec 2026 10:00:00 +0000\nSubject: two\n\n")
	old := settle(t, s)
	list(t, s, Inbox, ListOptions{})
	s.WaitIndex()
	header, body := readIndex(t, s)
	if !strings.HasPrefix(header, strings.TrimSpace(indexMagic2)) || strings.HasSuffix(header, "- -") {
		t.Fatalf("index header %q: want the stamps of stable directories", header)
	}
	if !strings.Contains(body, "2.a.host\t1\t") || !strings.Contains(body, "1.a.host:2,S\t0\t") {
		t.Fatalf("index lines lack the names:\n%s", body)
	}
	// A line the directories do not have, under the same stamps: a new
	// session lists it, so it took the names from the index.
	ghost := "3.ghost.host:2,FS\t0\t1800000000\t5\t0\tghost\tfrom the index\t\n"
	if err := os.WriteFile(filepath.Join(s.Root, IndexFile), []byte(header+"\n"+ghost+body), 0o600); err != nil {
		t.Fatal(err)
	}
	n, es := newList(t, s.Root)
	if !reflect.DeepEqual(ids(es), []string{"3.ghost.host", "2.a.host", "1.a.host"}) || es[0].Subject != "from the index" ||
		es[0].Flags() != "FS" || !es[1].New {
		t.Fatalf("new session with matching stamps: %d %v", n, ids(es))
	}
	// A message arrives and new/'s mtime is set back as it was: its
	// ctime moved, so the names are read (the ghost goes, four comes).
	put(t, s, Inbox, "new", "4.a.host", "Subject: four\n\n")
	os.Chtimes(filepath.Join(s.Root, "new"), old, old)
	n, es = newList(t, s.Root)
	if got := ids(es); n != 3 || slicesIndex(got, "4.a.host") < 0 || slicesIndex(got, "3.ghost.host") >= 0 {
		t.Fatalf("after a change behind a restored mtime: %d %v", n, got)
	}
}

func slicesIndex(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// An index with a name that is not a plain file name, or without
// stamps, or of format 1, never stands in for the directories; format 1
// is still used for the headers (no cold rebuild after an upgrade) and
// replaced by format 2.
func TestIndexListingOnlyWhenSound(t *testing.T) {
	s := newStore(t)
	put(t, s, Inbox, "cur", "1.a.host:2,S", "Subject: one\n\n")
	settle(t, s)
	list(t, s, Inbox, ListOptions{})
	s.WaitIndex()
	header, body := readIndex(t, s)
	path := filepath.Join(s.Root, IndexFile)
	for name, content := range map[string]string{
		"path":      header + "\n" + body + "../../escape\t0\t1\t1\t0\tx\tx\t\n",
		"dot":       header + "\n" + body + ".hidden\t0\t1\t1\t0\tx\tx\t\n",
		"no stamps": indexMagic2 + "- -\n" + body + "9.ghost.host\t1\t1\t1\t0\tx\tx\t\n",
		"twice":     header + "\n" + body + body,
	} {
		os.WriteFile(path, []byte(content), 0o600)
		if n, es := newList(t, s.Root); n != 1 || es[0].ID != "1.a.host" {
			t.Errorf("%s: %d %v", name, n, ids(es))
		}
	}
	// Format 1: its header fields are used (the file's subject is not
	// the message's), then it is rewritten as format 2.
	os.WriteFile(path, []byte(indexHeader1+"1.a.host\t1800000000\t9\t0\told\tfrom format 1\t\n"), 0o600)
	if _, es := newList(t, s.Root); len(es) != 1 || es[0].Subject != "from format 1" || es[0].Flags() != "S" {
		t.Fatalf("format 1: %+v", es)
	}
	if h, _ := readIndex(t, s); !strings.HasPrefix(h, strings.TrimSpace(indexMagic2)) {
		t.Fatalf("format 1 not rewritten: %q", h)
	}
}

// When only names changed (flags), a stable scan rewrites the index (at
// most every indexRefresh), so the next session lists the new flags from
// it.
func TestIndexRefreshedForNewNames(t *testing.T) {
	defer func(d time.Duration) { indexRefresh = d }(indexRefresh)
	indexRefresh = 0
	s := newStore(t)
	put(t, s, Inbox, "cur", "1.a.host:2,", "Subject: one\n\n")
	put(t, s, Inbox, "cur", "2.a.host:2,", "Subject: two\n\n")
	settle(t, s)
	list(t, s, Inbox, ListOptions{})
	s.WaitIndex()
	if err := s.SetFlags(Inbox, "1.a.host", "S", ""); err != nil {
		t.Fatal(err)
	}
	settle(t, s)
	list(t, s, Inbox, ListOptions{})
	s.WaitIndex()
	header, body := readIndex(t, s)
	if strings.HasSuffix(header, "- -") || !strings.Contains(body, "1.a.host:2,S\t") {
		t.Fatalf("index after a flag change:\n%s\n%s", header, body)
	}
	_, es := newList(t, s.Root)
	flags := map[string]string{}
	for _, e := range es {
		flags[e.ID] = e.Flags()
	}
	if !reflect.DeepEqual(flags, map[string]string{"1.a.host": "S", "2.a.host": ""}) {
		t.Fatalf("flags in a new session: %v", flags)
	}
}

// After a delivery only new/ is read again: cur/, whose stamp is the one
// its names were read at (stable), keeps its names. A change to cur/
// makes it read.
func TestScanReadsOnlyTheChangedDirectory(t *testing.T) {
	s := newStore(t)
	put(t, s, Inbox, "cur", "1.a.host:2,S", "Subject: one\n\n")
	settle(t, s)
	list(t, s, Inbox, ListOptions{})
	// A name this store saw in cur/ that is not there (white box: the
	// only way to tell a reused listing from a read one).
	s.mu.Lock()
	idx := s.cache[Inbox]
	ghost := &Entry{ID: "0.ghost.host", Name: "0.ghost.host:2,S", Subject: "ghost"}
	idx.entries[ghost.ID] = ghost
	idx.all = append(idx.all, ghost)
	idx.sorted = nil
	s.mu.Unlock()
	put(t, s, Inbox, "new", "2.a.host", "Subject: two\n\n")
	n, es := list(t, s, Inbox, ListOptions{Sort: SortSubject})
	if got := ids(es); n != 3 || slicesIndex(got, "0.ghost.host") < 0 || slicesIndex(got, "2.a.host") < 0 {
		t.Fatalf("after a delivery to new/: %d %v, want cur/ reused (the ghost) and the new message", n, got)
	}
	put(t, s, Inbox, "cur", "3.a.host:2,S", "Subject: three\n\n")
	n, es = list(t, s, Inbox, ListOptions{Sort: SortSubject})
	if got := ids(es); n != 3 || slicesIndex(got, "0.ghost.host") >= 0 || slicesIndex(got, "3.a.host") < 0 {
		t.Fatalf("after a change to cur/: %d %v", n, got)
	}
}

// nameID is the one-pass form of checkID(ID(name)) plus "no path".
func TestNameID(t *testing.T) {
	for _, name := range []string{"1.a.host", "1.a.host:2,S", "1.a.host:2,FS:x", "a:b", ":2,S", ".hidden", "", "../x",
		"a/b:2,S", "a\\b", "a\x00b", "1.a.host:2,", strings.Repeat("x", 256), "1,S=3:2,RS", "a:2"} {
		want := ""
		if checkID(ID(name)) == nil && !strings.ContainsAny(name, "/\\\x00") {
			want = ID(name)
		}
		if got := nameID(name); got != want {
			t.Errorf("nameID(%q) = %q, want %q", name, got, want)
		}
	}
}

// Of two lines with one id the first counts, and the index does not
// stand in for the directories.
func TestIndexDuplicateLines(t *testing.T) {
	f := parseIndex([]byte(indexMagic2 + "1:2:3 4:5:6\n" +
		"1.a.host:2,S\t0\t1\t1\t0\tfirst\tx\t\n2.a.host\t1\t1\t1\t0\tb\tx\t\n1.a.host:2,\t0\t1\t1\t0\tsecond\tx\t\n"))
	if f.listing || len(f.order) != 2 || f.entries["1.a.host"].Subject != "x" || f.entries["1.a.host"].From != "first" || f.order[0] != f.entries["1.a.host"] {
		t.Fatalf("listing %v, order %d, entry %+v", f.listing, len(f.order), f.entries["1.a.host"])
	}
}
