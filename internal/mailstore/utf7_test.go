package mailstore

import (
	"errors"
	"testing"
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
