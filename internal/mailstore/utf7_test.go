package mailstore

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// RFC 3501 5.1.3's examples and what Dovecot wrote for the same names
// (doveadm mailbox create, Dovecot 2.3).
func TestUTF7(t *testing.T) {
	for utf8, disk := range map[string]string{
		"INBOX":              "INBOX",
		"Café":               "Caf&AOk-",
		"R&D":                "R&-D",
		"Ünï":                "&ANw-n&AO8-",
		"~peter/mail/台北/日本語": "~peter/mail/&U,BTFw-/&ZeVnLIqe-",
		"a😀b":                "a&2D3eAA-b",
		"Archive.2026":       "Archive.2026",
	} {
		if got := encodeUTF7(utf8); got != disk {
			t.Errorf("encode %q = %q, want %q", utf8, got, disk)
		}
		if got, err := decodeUTF7(disk); err != nil || got != utf8 {
			t.Errorf("decode %q = %q, %v; want %q", disk, got, err, utf8)
		}
	}
	// Not modified UTF-7: no unique UTF-8 name, so not a folder.
	for _, bad := range []string{"&", "&AOk", "&AGE-", "&2D0-", "a\x7fb", "&A-", "é"} {
		if got, err := decodeUTF7(bad); !errors.Is(err, errUTF7) {
			t.Errorf("decode %q = %q, %v; want errUTF7", bad, got, err)
		}
	}
}

// Every UTF-8 name has one disk name and back; every disk name that
// decodes has exactly that one UTF-8 name (so no two folders collide).
func FuzzUTF7(f *testing.F) {
	for _, s := range []string{"Café", "R&D", "&AOk-", "&-", "a😀b", "&2D3eAA-", "&ANw-n&AO8-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if utf8.ValidString(s) {
			if got, err := decodeUTF7(encodeUTF7(s)); err != nil || got != s {
				t.Fatalf("%q: encoded %q, decoded %q, %v", s, encodeUTF7(s), got, err)
			}
		}
		if u, err := decodeUTF7(s); err == nil {
			if back := encodeUTF7(u); back != s {
				t.Fatalf("disk name %q decodes to %q, which encodes to %q", s, u, back)
			}
		}
	})
}

// The index file is the user's to damage: whatever it holds, loading it
// neither fails nor yields an entry a line did not fully describe.
func FuzzIndexLine(f *testing.F) {
	f.Add("1.x.h\t1700000000\t123\t1\tAlice <a@x>\tHello\tbob@x")
	f.Add("\t\t\t\t\t\t")
	f.Fuzz(func(t *testing.T, line string) {
		var e Entry
		if parseIndexLine(line, &e) && (e.ID == "" || e.Size < 0 || strings.Count(line, "\t") != 6) {
			t.Fatalf("%q accepted as %+v", line, e)
		}
	})
}
