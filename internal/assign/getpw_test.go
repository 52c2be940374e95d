package assign

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"
)

// fakeSystem is an in-memory System. homes maps a home to its owner; a home
// missing from it does not exist; homeErr makes HomeOwner fail for a home.
type fakeSystem struct {
	users   map[string]PasswdEntry
	homes   map[string]int
	homeErr map[string]error
	userErr map[string]error
	asked   []string // names passed to LookupUser, in order
}

func (s *fakeSystem) LookupUser(name string) (PasswdEntry, bool, error) {
	s.asked = append(s.asked, name)
	if err := s.userErr[name]; err != nil {
		return PasswdEntry{}, false, err
	}
	pw, ok := s.users[name]
	return pw, ok, nil
}

func (s *fakeSystem) HomeOwner(home string) (int, error) {
	if err := s.homeErr[home]; err != nil {
		return -1, err
	}
	uid, ok := s.homes[home]
	if !ok {
		return -1, &fs.PathError{Op: "stat", Path: home, Err: syscall.ENOENT}
	}
	return uid, nil
}

func newFakeSystem() *fakeSystem {
	long31 := strings.Repeat("a", 31)
	long32 := strings.Repeat("b", 32)
	return &fakeSystem{
		users: map[string]PasswdEntry{
			"joe":      {Name: "joe", UID: 507, GID: 100, Home: "/home/joe"},
			"joe-list": {Name: "joe-list", UID: 600, GID: 600, Home: "/home/joe-list"},
			"root":     {Name: "root", UID: 0, GID: 0, Home: "/root"},
			"toor":     {Name: "toor", UID: 0, GID: 0, Home: "/home/toor"},
			"squat":    {Name: "squat", UID: 701, GID: 701, Home: "/home/victim"},
			"gone":     {Name: "gone", UID: 702, GID: 702, Home: "/home/gone"},
			"file":     {Name: "file", UID: 703, GID: 703, Home: "/etc/passwd/x"},
			"rel":      {Name: "rel", UID: 704, GID: 704, Home: "home/rel"},
			"Alice":    {Name: "Alice", UID: 705, GID: 705, Home: "/home/Alice"},
			"nfs":      {Name: "nfs", UID: 706, GID: 706, Home: "/nfs/home"},
			"acl":      {Name: "acl", UID: 707, GID: 707, Home: "/squashed/home"},
			long31:     {Name: long31, UID: 708, GID: 708, Home: "/home/long31"},
			long32:     {Name: long32, UID: 709, GID: 709, Home: "/home/long32"},
		},
		homes: map[string]int{
			"/home/joe": 507, "/home/joe-list": 600, "/root": 0, "/home/toor": 0,
			"/home/victim": 999, "/home/Alice": 705, "/home/long31": 708, "/home/long32": 709,
			"home/rel": 704,
		},
		homeErr: map[string]error{
			"/etc/passwd/x":  &fs.PathError{Op: "stat", Path: "/etc/passwd/x", Err: syscall.ENOTDIR},
			"/nfs/home":      &fs.PathError{Op: "stat", Path: "/nfs/home", Err: syscall.EIO},
			"/squashed/home": &fs.PathError{Op: "stat", Path: "/squashed/home", Err: syscall.EACCES},
		},
		userErr: map[string]error{"flaky": errors.New("passwd unreadable")},
	}
}

func TestLookupPasswd(t *testing.T) {
	joe := Entry{User: "joe", UID: 507, GID: 100, Home: "/home/joe"}
	withExt := func(e Entry, ext string) Entry { e.Dash, e.Ext = "-", ext; return e }
	list := Entry{User: "joe-list", UID: 600, GID: 600, Home: "/home/joe-list"}
	long31 := strings.Repeat("a", 31)
	long31Entry := Entry{User: long31, UID: 708, GID: 708, Home: "/home/long31"}
	tests := []struct {
		name  string
		local string
		want  Entry
		ok    bool
		asked []string
	}{
		{"whole name", "joe", joe, true, []string{"joe"}},
		{"prefix at dash", "joe-foo", withExt(joe, "foo"), true, []string{"joe-foo", "joe"}},
		{"trailing dash", "joe-", withExt(joe, ""), true, []string{"joe-", "joe"}},
		{"longest prefix first", "joe-list-x-y", withExt(list, "x-y"), true,
			[]string{"joe-list-x-y", "joe-list-x", "joe-list"}},
		{"whole name containing dash", "joe-list", list, true, []string{"joe-list"}},
		{"upper-case local part lower-cased", "JOE-Foo", withExt(joe, "Foo"), true, []string{"joe-foo", "joe"}},
		{"upper-case account unreachable", "Alice", Entry{}, false, []string{"alice"}},
		{"uid 0 refused", "root", Entry{}, false, []string{"root"}},
		{"uid 0 refused, prefix", "toor-x", Entry{}, false, []string{"toor-x", "toor"}},
		{"home owned by another uid", "squat", Entry{}, false, []string{"squat"}},
		{"home missing", "gone-x", Entry{}, false, []string{"gone-x", "gone"}},
		{"home path through a file", "file", Entry{}, false, []string{"file"}},
		{"relative home", "rel", Entry{}, false, []string{"rel"}},
		{"no such account", "nobody-here", Entry{}, false, []string{"nobody-here", "nobody"}},
		{"leading dash: empty candidate not tried", "-joe", Entry{}, false, []string{"-joe"}},
		{"empty local part", "", Entry{}, false, nil},
		{"31 bytes accepted", long31, long31Entry, true, []string{long31}},
		{"31 bytes and extension", long31 + "-ext", withExt(long31Entry, "ext"), true, []string{long31}},
		{"32 bytes refused", strings.Repeat("b", 32), Entry{}, false, nil},
		{"32 bytes refused, shorter prefix used", "joe-" + strings.Repeat("c", 28), withExt(joe, strings.Repeat("c", 28)), true, []string{"joe"}},
		{"skipped candidates fall back", "squat-joe", Entry{}, false, []string{"squat-joe", "squat"}},
		{"dots are not breaks", "joe.foo", Entry{}, false, []string{"joe.foo"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sys := newFakeSystem()
			got, ok, err := LookupPasswd(sys, tt.local)
			if err != nil {
				t.Fatalf("LookupPasswd(%q) error: %v", tt.local, err)
			}
			if ok != tt.ok || got != tt.want {
				t.Errorf("LookupPasswd(%q) = %+v, %v; want %+v, %v", tt.local, got, ok, tt.want, tt.ok)
			}
			if fmt.Sprint(sys.asked) != fmt.Sprint(tt.asked) {
				t.Errorf("asked for %q, want %q", sys.asked, tt.asked)
			}
		})
	}
}

func TestLookupPasswdTemporary(t *testing.T) {
	tests := []struct {
		name  string
		local string
		is    error
	}{
		{"stat EIO", "nfs", syscall.EIO},
		{"stat EIO after longer candidates", "nfs-x-y", syscall.EIO},
		{"stat EACCES", "acl", syscall.EACCES},
		{"passwd unreadable", "flaky-joe", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := LookupPasswd(newFakeSystem(), tt.local)
			if err == nil {
				t.Fatalf("LookupPasswd(%q) = %+v, %v, nil; want an error", tt.local, got, ok)
			}
			if ok || got != (Entry{}) {
				t.Errorf("LookupPasswd(%q) returned %+v, %v alongside the error", tt.local, got, ok)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v does not wrap %v", err, tt.is)
			}
		})
	}
}

// A temporary failure on a longer candidate must not be skipped in favour of
// a shorter one: qmail-getpw exits QLX_NFS at once.
func TestLookupPasswdTemporaryStopsSearch(t *testing.T) {
	sys := newFakeSystem()
	sys.users["joe-nfs"] = PasswdEntry{Name: "joe-nfs", UID: 710, GID: 710, Home: "/nfs/home"}
	if _, _, err := LookupPasswd(sys, "joe-nfs-x"); err == nil {
		t.Fatal("want an error, got none")
	}
	if fmt.Sprint(sys.asked) != "[joe-nfs-x joe-nfs]" {
		t.Errorf("asked %q, want the search to stop at joe-nfs", sys.asked)
	}
}
