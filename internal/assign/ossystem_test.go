package assign

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

const testPasswd = `# comment:x:1:1::/c:/bin/sh
root:x:0:0:root:/root:/bin/bash

+nis:x:9:9::/nis:/bin/sh
-joe::::::
broken:x:12:12:/home/broken
badid:x:abc:13::/home/badid:/bin/sh
joe:x:507:100:Joe Shmoe:/home/joe:/bin/sh
joe:x:999:999:second joe:/home/joe2:/bin/sh
dup:x:notanumber:1::/bad:/bin/sh
dup:x:600:601::/home/dup:/bin/sh
Alice:x:705:705::/home/Alice:/bin/sh
nohome:x:706:706:::/bin/false
`

func writePasswd(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "passwd")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestOSSystemLookupUser(t *testing.T) {
	sys := OSSystem{PasswdFile: writePasswd(t, testPasswd)}
	tests := []struct {
		name string
		want PasswdEntry
		ok   bool
	}{
		{"root", PasswdEntry{Name: "root", UID: 0, GID: 0, Home: "/root"}, true},
		{"joe", PasswdEntry{Name: "joe", UID: 507, GID: 100, Home: "/home/joe"}, true}, // first line wins
		{"dup", PasswdEntry{Name: "dup", UID: 600, GID: 601, Home: "/home/dup"}, true}, // malformed line skipped
		{"Alice", PasswdEntry{Name: "Alice", UID: 705, GID: 705, Home: "/home/Alice"}, true},
		{"alice", PasswdEntry{}, false}, // names are case-sensitive
		{"nohome", PasswdEntry{Name: "nohome", UID: 706, GID: 706}, true},
		{"nis", PasswdEntry{}, false},
		{"+nis", PasswdEntry{}, false},
		{"-joe", PasswdEntry{}, false},
		{"broken", PasswdEntry{}, false},
		{"badid", PasswdEntry{}, false},
		{"# comment", PasswdEntry{}, false},
		{"jo", PasswdEntry{}, false},
		{"", PasswdEntry{}, false},
		{"joe:x", PasswdEntry{}, false},
	}
	for _, tt := range tests {
		got, ok, err := sys.LookupUser(tt.name)
		if err != nil {
			t.Errorf("LookupUser(%q) error: %v", tt.name, err)
			continue
		}
		if ok != tt.ok || got != tt.want {
			t.Errorf("LookupUser(%q) = %+v, %v; want %+v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestOSSystemLookupUserErrors(t *testing.T) {
	missing := OSSystem{PasswdFile: filepath.Join(t.TempDir(), "nope")}
	if _, _, err := missing.LookupUser("joe"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing passwd file: error = %v, want one wrapping fs.ErrNotExist", err)
	}
	huge := OSSystem{PasswdFile: writePasswd(t, "x:"+strings.Repeat("y", maxPasswdLine)+"\njoe:x:1:1::/h:/bin/sh\n")}
	if _, _, err := huge.LookupUser("joe"); err == nil {
		t.Error("over-long passwd line: want an error, got none")
	}
}

func TestOSSystemHomeOwner(t *testing.T) {
	dir := t.TempDir()
	owner, err := OSSystem{}.HomeOwner(dir)
	if err != nil {
		t.Fatal(err)
	}
	if owner != os.Getuid() {
		t.Errorf("HomeOwner(%s) = %d, want %d", dir, owner, os.Getuid())
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	if got, err := (OSSystem{}).HomeOwner(link); err != nil || got != owner {
		t.Errorf("HomeOwner(symlink) = %d, %v; want %d (stat follows links)", got, err, owner)
	}
	if _, err := (OSSystem{}).HomeOwner(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing home: error = %v, want fs.ErrNotExist", err)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := (OSSystem{}).HomeOwner(filepath.Join(file, "sub")); !errors.Is(err, syscall.ENOTDIR) {
		t.Errorf("home below a file: error = %v, want ENOTDIR", err)
	}
}

// TestOSSystemLookupPasswd runs the whole qmail-getpw logic against a real
// passwd file and real directories owned by the test's uid.
func TestOSSystemLookupPasswd(t *testing.T) {
	uid := os.Getuid()
	home := t.TempDir()
	if uid == 0 {
		// As root, give the home to an ordinary uid, as on a real system.
		uid = 4243
		if err := os.Chown(home, uid, -1); err != nil {
			t.Skipf("cannot chown the test home: %v", err)
		}
	}
	passwd := "me:x:" + strconv.Itoa(uid) + ":4242::" + home + ":/bin/sh\n" +
		"lost:x:" + strconv.Itoa(uid) + ":4242::" + filepath.Join(home, "missing") + ":/bin/sh\n" +
		"other:x:" + strconv.Itoa(uid+1) + ":4242::" + home + ":/bin/sh\n"
	sys := OSSystem{PasswdFile: writePasswd(t, passwd)}
	tests := []struct {
		local string
		want  Entry
		ok    bool
	}{
		{"me", Entry{User: "me", UID: uid, GID: 4242, Home: home}, true},
		{"ME-Box", Entry{User: "me", UID: uid, GID: 4242, Home: home, Dash: "-", Ext: "Box"}, true},
		{"lost", Entry{}, false},
		{"other", Entry{}, false},
	}
	for _, tt := range tests {
		got, ok, err := LookupPasswd(sys, tt.local)
		if err != nil || ok != tt.ok || got != tt.want {
			t.Errorf("LookupPasswd(%q) = %+v, %v, %v; want %+v, %v, nil", tt.local, got, ok, err, tt.want, tt.ok)
		}
	}
}
