package mailstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func ids(es []*Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func list(t *testing.T, s *Store, folder string, opt ListOptions) (int, []*Entry) {
	t.Helper()
	n, es, err := s.List(folder, opt)
	if err != nil {
		t.Fatal(err)
	}
	return n, es
}

func TestListFields(t *testing.T) {
	s := newStore(t)
	put(t, s, Inbox, "new", "100.a.host,S=1234", "From: =?UTF-8?Q?J=C3=B6rg?= <j@example.org>\r\nTo: bob@example.com\r\nSubject: =?ISO-8859-1?Q?caf=E9?= plans\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x--\r\n")
	put(t, s, Inbox, "cur", "200.b.host:2,FS", "From: a@example.org\nSubject: folded\n  subject\tline\nContent-Disposition: attachment; filename=a.pdf\n\nbody\n")
	put(t, s, Inbox, "cur", "300.c.host:2,", "Subject: no date\nContent-Type: multipart/alternative; boundary=y\n\n")
	mtime := time.Unix(1700000000, 0)
	os.Chtimes(filepath.Join(s.Root, "cur", "300.c.host:2,"), mtime, mtime)
	n, es := list(t, s, Inbox, ListOptions{})
	// 200 has no Date: its mtime (now) makes it the newest.
	if n != 3 || !reflect.DeepEqual(ids(es), []string{"200.b.host", "100.a.host,S=1234", "300.c.host"}) {
		t.Fatalf("list: %d %v", n, ids(es))
	}
	e := es[1]
	if e.From != "Jörg <j@example.org>" || e.Subject != "café plans" || e.Date != 1796119200 || e.Size != 1234 ||
		!e.Attach || !e.New || e.Flags() != "" || e.ToCc != "bob@example.com" {
		t.Errorf("first: %+v", e)
	}
	if e := es[2]; e.Date != 1700000000 || e.Attach || e.Subject != "no date" {
		t.Errorf("no date (mtime), alternative is no attachment: %+v", e)
	}
	if e := es[0]; e.Subject != "folded subject line" || !e.Attach || e.Flags() != "FS" || e.Size != 105 || e.Date < time.Now().Unix()-60 {
		t.Errorf("folded, attachment, size by stat: %+v", e)
	}
	// Listing moved nothing: new/ is still new/.
	if _, err := os.Stat(filepath.Join(s.Root, "new", "100.a.host,S=1234")); err != nil {
		t.Fatal(err)
	}
}

// The index is written beside cur/, reused (the header is not read
// again, by this store or a new one), follows renames (flags from the
// name, never the index) and drops vanished messages.
func TestIndexReused(t *testing.T) {
	s := newStore(t)
	put(t, s, Inbox, "cur", "1.a.host:2,", "Subject: first\n\n")
	put(t, s, Inbox, "cur", "2.a.host:2,", "Subject: second\n\n")
	list(t, s, Inbox, ListOptions{})
	s.WaitIndex()
	idx := filepath.Join(s.Root, IndexFile)
	b, err := os.ReadFile(idx)
	if err != nil || !strings.HasPrefix(string(b), indexMagic2) || !strings.Contains(string(b), "\tsecond\t") {
		t.Fatalf("index: %q %v", b, err)
	}
	// Change a file's content behind the index's back: the list still
	// shows what the index says, proving it did not parse again.
	os.WriteFile(filepath.Join(s.Root, "cur", "1.a.host:2,"), []byte("Subject: changed\n\n"), 0o600)
	fresh, _ := Open(s.Root)
	for _, st := range []*Store{s, fresh} {
		_, es := list(t, st, Inbox, ListOptions{Sort: SortSubject, Asc: true})
		if es[0].Subject != "first" {
			t.Fatalf("index not reused: %q", es[0].Subject)
		}
	}
	// Flags come from the name; a vanished message is dropped and the
	// index rewritten without it.
	os.Rename(filepath.Join(s.Root, "cur", "1.a.host:2,"), filepath.Join(s.Root, "cur", "1.a.host:2,RS"))
	os.Remove(filepath.Join(s.Root, "cur", "2.a.host:2,"))
	n, es := list(t, fresh, Inbox, ListOptions{})
	if n != 1 || es[0].Flags() != "RS" || es[0].Subject != "first" {
		t.Fatalf("after rename and remove: %d %+v", n, es)
	}
	fresh.WaitIndex()
	b, _ = os.ReadFile(idx)
	if strings.Contains(string(b), "second") || strings.Count(string(b), "\n") != 2 {
		t.Fatalf("index not rewritten: %q", b)
	}
	// A damaged index is ignored and rebuilt; no temporary file stays,
	// and one that a killed session left behind is removed.
	stale := filepath.Join(s.Root, IndexFile+".tmp12345")
	os.WriteFile(stale, []byte("half"), 0o600)
	os.Chtimes(stale, time.Now().Add(-2*staleTemp), time.Now().Add(-2*staleTemp))
	os.WriteFile(idx, []byte(indexHeader1+"1.a.host\tnot a number\n2\tgarbage"), 0o600)
	third, _ := Open(s.Root)
	_, es = list(t, third, Inbox, ListOptions{})
	if es[0].Subject != "changed" {
		t.Fatalf("damaged index used: %q", es[0].Subject)
	}
	third.WaitIndex()
	ents, _ := os.ReadDir(s.Root)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary left: %s", e.Name())
		}
	}
}

func TestListSortPage(t *testing.T) {
	s := newStore(t)
	msgs := []struct{ id, from, subj, date, body string }{
		{"1.x.h", "carol@x", "Banana", "Mon, 1 Jun 2026 10:00:00 +0000", "0123456789"},
		{"2.x.h", "Alice@x", "apple", "Mon, 1 Jun 2026 09:00:00 +0000", "01"},
		{"3.x.h", "bob@x", "cherry", "Mon, 1 Jun 2026 11:00:00 +0000", "01234"},
	}
	for _, m := range msgs {
		put(t, s, Inbox, "cur", m.id+":2,S", "From: "+m.from+"\nSubject: "+m.subj+"\nDate: "+m.date+"\n\n"+m.body)
	}
	for _, c := range []struct {
		opt  ListOptions
		want []string
	}{
		{ListOptions{}, []string{"3.x.h", "1.x.h", "2.x.h"}},
		{ListOptions{Asc: true}, []string{"2.x.h", "1.x.h", "3.x.h"}},
		{ListOptions{Sort: SortFrom, Asc: true}, []string{"2.x.h", "3.x.h", "1.x.h"}},
		{ListOptions{Sort: SortSubject}, []string{"3.x.h", "1.x.h", "2.x.h"}},
		{ListOptions{Sort: SortSize, Asc: true}, []string{"2.x.h", "3.x.h", "1.x.h"}},
		{ListOptions{Offset: 1, Limit: 1}, []string{"1.x.h"}},
		{ListOptions{Offset: 2, Limit: 5}, []string{"2.x.h"}},
		{ListOptions{Offset: 3, Limit: 5}, nil},
	} {
		n, es := list(t, s, Inbox, c.opt)
		if n != 3 || !reflect.DeepEqual(ids(es), c.want) {
			t.Errorf("%+v: %d %v, want %v", c.opt, n, ids(es), c.want)
		}
	}
	if _, _, err := s.List(Inbox, ListOptions{Offset: -1}); !errors.Is(err, ErrInvalid) {
		t.Errorf("negative offset: %v", err)
	}
	if _, _, err := s.List("Nope", ListOptions{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing folder: %v", err)
	}
}

func TestSearch(t *testing.T) {
	s := newStore(t)
	put(t, s, Inbox, "cur", "1.x.h:2,S", "From: Alice <alice@example.org>\nTo: bob@example.com\nCc: Dave <dave@example.net>\nSubject: Quarterly report\n\nplain words here\n")
	put(t, s, Inbox, "cur", "2.x.h:2,S", "From: carol@example.org\nSubject: hello\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\nthe zebra cro=\nssed the r=C3=BCbe\n--b\nContent-Type: text/html\nContent-Transfer-Encoding: base64\n\nPGI+Z2lyYWZmZTwvYj4=\n--b\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\naGlkZGVud29yZA==\n--b--\n")
	put(t, s, Inbox, "cur", "3.x.h:2,S", "Subject: big\n\n"+strings.Repeat("x", MaxSearchRead)+" needle\n")
	put(t, s, Inbox, "cur", "4.x.h:2,S", "garbage without header\x00 hayword")
	for q, want := range map[string][]string{
		"alice":                 {"1.x.h"},
		"DAVE quarterly":        {"1.x.h"},
		"example.org":           {"1.x.h", "2.x.h"},
		"report zebra":          nil,
		"zebra crossed rübe":    {"2.x.h"},
		"giraffe hello":         {"2.x.h"},
		"hiddenword":            nil, // not a text part
		"needle":                nil, // beyond MaxSearchRead
		"hayword":               {"4.x.h"},
		"bob@example.com plain": {"1.x.h"},
	} {
		n, es := list(t, s, Inbox, ListOptions{Query: q, Sort: SortSubject, Asc: true})
		got := ids(es)
		slicesSort(got)
		if n != len(want) || !reflect.DeepEqual(got, want) {
			t.Errorf("search %q: %d %v, want %v", q, n, got, want)
		}
	}
}

func slicesSort(s []string) {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
}

// A hostile header block is read only up to 64 KB.
func TestHugeHeader(t *testing.T) {
	s := newStore(t)
	put(t, s, Inbox, "cur", "1.x.h:2,", "Subject: "+strings.Repeat("a", 200<<10)+"\n\n")
	put(t, s, Inbox, "cur", "2.x.h:2,", "X-Pad: "+strings.Repeat("b", 70<<10)+"\nSubject: late\n\n")
	_, es := list(t, s, Inbox, ListOptions{Sort: SortSubject})
	for _, e := range es {
		if len(e.Subject) > maxShown || e.Subject == "late" {
			t.Errorf("%s: subject of %d bytes %q", e.ID, len(e.Subject), clip(e.Subject, 20))
		}
	}
}

// A list finds new/ and cur/ unchanged by their mtimes and reads no
// names again once those are older than stableAge; a change to either
// directory is seen at once.
func TestListStableDirs(t *testing.T) {
	s := newStore(t)
	put(t, s, Inbox, "cur", "1.x.h:2,S", "Subject: one\n\n")
	old := time.Now().Add(-time.Hour)
	back := func() {
		for _, d := range []string{"new", "cur"} {
			os.Chtimes(filepath.Join(s.Root, d), old, old)
		}
	}
	back()
	if n, _ := list(t, s, Inbox, ListOptions{}); n != 1 {
		t.Fatalf("first list: %d", n)
	}
	// A message arrives: new/'s mtime changes, the list sees it.
	put(t, s, Inbox, "new", "2.x.h", "Subject: two\n\n")
	if n, _ := list(t, s, Inbox, ListOptions{}); n != 2 {
		t.Fatalf("after a delivery: %d", n)
	}
	fs, _ := s.Folders()
	if fs[0].Total != 2 || fs[0].Unread != 1 {
		t.Fatalf("counts: %+v", fs[0])
	}
	// With the mtimes set back as they were, the cached listing is used:
	// this proves the shortcut (a real change always moves the mtime).
	back()
	list(t, s, Inbox, ListOptions{}) // sees the dirs stable now
	put(t, s, Inbox, "new", "3.x.h", "Subject: three\n\n")
	back()
	if n, _ := list(t, s, Inbox, ListOptions{}); n != 2 {
		t.Fatalf("unchanged mtimes: %d, want the cached 2", n)
	}
	if fs, _ := s.Folders(); fs[0].Total != 2 {
		t.Fatalf("unchanged mtimes, counts: %+v", fs[0])
	}
	// Our own flag change is seen at once, whatever the mtimes.
	if err := s.SetFlags(Inbox, "1.x.h", "F", ""); err != nil {
		t.Fatal(err)
	}
	back()
	_, es := list(t, s, Inbox, ListOptions{Sort: SortSubject})
	if len(es) != 3 || es[0].Subject != "two" || es[2].Flags() != "FS" {
		t.Fatalf("after SetFlags: %v", ids(es))
	}
}

// A sort order is reused only while the folder holds the same names: a
// flag changed by another client (a rename this store did not make) shows
// in the next list in every order.
func TestSortedOrderFollowsRenames(t *testing.T) {
	s := newStore(t)
	put(t, s, Inbox, "cur", "1.x.h:2,", "Subject: a\n\n")
	put(t, s, Inbox, "cur", "2.x.h:2,", "Subject: b\n\n")
	for i := 0; i < 2; i++ {
		list(t, s, Inbox, ListOptions{Sort: SortSubject})
	}
	os.Rename(filepath.Join(s.Root, "cur", "1.x.h:2,"), filepath.Join(s.Root, "cur", "1.x.h:2,S"))
	_, es := list(t, s, Inbox, ListOptions{Sort: SortSubject})
	if len(es) != 2 || es[1].ID != "1.x.h" || es[1].Flags() != "S" {
		t.Fatalf("after another client's rename: %s %q", es[1].ID, es[1].Flags())
	}
}

// The folders' counts of a folder just listed are the list's own, even
// while new/ and cur/ are too fresh for a list to trust (a page asks for
// both at once after a delivery): no second read of its names. Once
// stableAge has passed since that scan, or a directory's mtime moved,
// the names are read again; our own flag changes count at once.
func TestCountReusesTheListsScan(t *testing.T) {
	s := newStore(t)
	put(t, s, Inbox, "cur", "1.x.h:2,S", "Subject: one\n\n")
	put(t, s, Inbox, "new", "2.x.h", "Subject: two\n\n")
	// Fresh mtimes (too young to be stable), and distinct from any that
	// a change made during the test stamps.
	fresh := func() time.Time {
		ts := time.Now().Add(-stableAge / 2)
		for _, d := range []string{"new", "cur"} {
			os.Chtimes(filepath.Join(s.Root, d), ts, ts)
		}
		return ts
	}
	restore := func(ts time.Time) {
		for _, d := range []string{"new", "cur"} {
			os.Chtimes(filepath.Join(s.Root, d), ts, ts)
		}
	}
	inbox := func() Folder {
		t.Helper()
		fs, err := s.Folders()
		if err != nil {
			t.Fatal(err)
		}
		return fs[0]
	}
	seen := fresh()
	if n, _ := list(t, s, Inbox, ListOptions{}); n != 2 {
		t.Fatalf("first list: %d", n)
	}
	// A message that arrives in the same clock tick as the list's mtimes:
	// the counts are the list's (reading the names would find 3).
	put(t, s, Inbox, "new", "3.x.h", "Subject: three\n\n")
	restore(seen)
	if f := inbox(); f.Total != 2 || f.Unread != 1 {
		t.Fatalf("counts right after the list: %+v, want the list's 2 and 1", f)
	}
	// Our own flag change moves the mtimes: the names are read (3
	// messages, 2.x.h now seen).
	if err := s.SetFlags(Inbox, "2.x.h", "S", ""); err != nil {
		t.Fatal(err)
	}
	if f := inbox(); f.Total != 3 || f.Unread != 1 {
		t.Fatalf("after SetFlags: %+v, want 3 and 1", f)
	}
	// The same-tick trick again, then the scan grows old: the names are
	// read again, not trusted for longer than stableAge.
	seen = fresh()
	if f := inbox(); f.Total != 3 { // the mtimes moved: a scan
		t.Fatalf("after new mtimes: %+v", f)
	}
	put(t, s, Inbox, "new", "4.x.h", "Subject: four\n\n")
	restore(seen)
	if f := inbox(); f.Total != 3 {
		t.Fatalf("within stableAge of the scan: %+v, want the scan's 3", f)
	}
	s.mu.Lock()
	s.cache[Inbox].started = s.cache[Inbox].started.Add(-stableAge)
	s.mu.Unlock()
	if f := inbox(); f.Total != 4 || f.Unread != 2 {
		t.Fatalf("stableAge after the scan: %+v, want 4 and 2", f)
	}
}

// A scan keeps the last order by following replaced entries (repl), not
// by looking each id up: a message renamed by us (SetFlags) and then by
// another client, twice between lists, is listed once, in its date's
// place, with its current flags; a vanished one is gone.
func TestOrderFollowsReplacedEntries(t *testing.T) {
	s := newStore(t)
	for i, d := range []string{"Mon, 1 Dec 2026 10:00:00 +0000", "Tue, 2 Dec 2026 10:00:00 +0000", "Wed, 3 Dec 2026 10:00:00 +0000"} {
		put(t, s, Inbox, "cur", fmt.Sprintf("%d.x.h:2,", i+1), "Date: "+d+"\nSubject: m\n\n")
	}
	if _, es := list(t, s, Inbox, ListOptions{}); !reflect.DeepEqual(ids(es), []string{"3.x.h", "2.x.h", "1.x.h"}) {
		t.Fatalf("first list: %v", ids(es))
	}
	if err := s.SetFlags(Inbox, "2.x.h", "S", ""); err != nil {
		t.Fatal(err)
	}
	list(t, s, Inbox, ListOptions{Sort: SortSize}) // another order made in between
	cur := filepath.Join(s.Root, "cur")
	if err := os.Rename(filepath.Join(cur, "2.x.h:2,S"), filepath.Join(cur, "2.x.h:2,FS")); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(cur, "3.x.h:2,"))
	_, es := list(t, s, Inbox, ListOptions{})
	if !reflect.DeepEqual(ids(es), []string{"2.x.h", "1.x.h"}) || es[0].Flags() != "FS" {
		t.Fatalf("after renames: %v, flags %q", ids(es), es[0].Flags())
	}
	if err := s.SetFlags(Inbox, "1.x.h", "S", ""); err != nil {
		t.Fatal(err)
	}
	if n, es := list(t, s, Inbox, ListOptions{}); n != 2 || es[1].Flags() != "S" {
		t.Fatalf("after a second SetFlags: %d %v", n, ids(es))
	}
	if f, _ := s.Folders(); f[0].Unread != 0 {
		t.Fatalf("unread: %+v", f[0])
	}
}
