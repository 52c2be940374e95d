package mailstore

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Dovecot keeps IMAP subscriptions in the Maildir's "subscriptions" file
// (src/lib-storage/list/subscription-file.c). Version 2, which Dovecot
// 2.2+ writes, starts with "V\t2\n\n" and has one mailbox per line, its
// name in modified UTF-7 with the hierarchy levels separated by a tab
// whatever the namespace separator; version 1 (no header) has the names
// with the separator itself, "." for Maildir++. Dovecot replaces the file
// under a dotlock, "subscriptions.lock", created exclusively, written and
// renamed over the file; we do the same so neither side loses the other's
// change. The file is updated only when it exists: a mailbox that never
// saw IMAP has no subscriptions to keep.
const (
	subsFile     = "subscriptions"
	subsLock     = "subscriptions.lock"
	subsHeaderV2 = "V\t2\n\n"
	// subsStaleLock is when a lock left by a crashed writer is broken:
	// Dovecot's own dotlock stale timeout for this file is 2 minutes.
	subsStaleLock = 2 * time.Minute
)

// Subscriptions returns the subscribed folder names (UTF-8, "."
// separated); nil when the mailbox has no subscriptions file.
func (s *Store) Subscriptions() ([]string, error) {
	b, err := os.ReadFile(filepath.Join(s.Root, subsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("mailstore: %w", err)
	}
	subs, _ := parseSubscriptions(b)
	return slices.DeleteFunc(subs, func(n string) bool { return strings.HasPrefix(n, "\x00") }), nil
}

func parseSubscriptions(b []byte) (names []string, v2 bool) {
	s := string(b)
	if rest, ok := strings.CutPrefix(s, subsHeaderV2); ok {
		s, v2 = rest, true
	}
	for _, line := range strings.Split(s, "\n") {
		if line == "" {
			continue
		}
		if v2 {
			line = strings.ReplaceAll(line, "\t", ".")
		}
		name, err := decodeUTF7(line)
		if err != nil || CheckFolderName(name) != nil && name != Inbox {
			// Not a name we make (Dovecot with mailbox_list_utf8, a
			// name with "/"): kept byte for byte, marked by a NUL no
			// folder name has.
			name = "\x00" + line
		}
		names = append(names, name)
	}
	return names, v2
}

func formatSubscriptions(names []string, v2 bool) []byte {
	var b bytes.Buffer
	if v2 {
		b.WriteString(subsHeaderV2)
	}
	for _, n := range names {
		if raw, ok := strings.CutPrefix(n, "\x00"); ok {
			if v2 {
				raw = strings.ReplaceAll(raw, ".", "\t")
			}
			b.WriteString(raw)
			b.WriteByte('\n')
			continue
		}
		enc := encodeUTF7(n)
		if v2 {
			enc = strings.ReplaceAll(enc, ".", "\t")
		}
		b.WriteString(enc)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// updateSubscriptions applies edit to the subscriptions file, if there
// is one, under Dovecot's dotlock.
func (s *Store) updateSubscriptions(edit func([]string) []string) error {
	path := filepath.Join(s.Root, subsFile)
	if !exists(path) {
		return nil
	}
	lock := filepath.Join(s.Root, subsLock)
	var f *os.File
	for try := 0; ; try++ {
		var err error
		f, err = os.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || try >= 50 {
			return fmt.Errorf("mailstore: lock %s: %w", lock, err)
		}
		if fi, err := os.Stat(lock); err == nil && time.Since(fi.ModTime()) > subsStaleLock {
			os.Remove(lock)
			continue
		}
		time.Sleep(100 * time.Millisecond)
	}
	fail := func(err error) error {
		f.Close()
		os.Remove(lock)
		return fmt.Errorf("mailstore: update %s: %w", path, err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fail(err)
	}
	names, v2 := parseSubscriptions(b)
	if len(b) == 0 {
		v2 = true // an empty file: write what Dovecot writes today
	}
	// Order is kept (Dovecot does not care); new names go last.
	seen := map[string]bool{}
	names = slices.DeleteFunc(edit(names), func(n string) bool {
		dup := seen[n]
		seen[n] = true
		return dup
	})
	if _, err := f.Write(formatSubscriptions(names, v2)); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(lock)
		return fmt.Errorf("mailstore: update %s: %w", path, err)
	}
	if err := os.Rename(lock, path); err != nil {
		os.Remove(lock)
		return fmt.Errorf("mailstore: update %s: %w", path, err)
	}
	return syncDir(s.Root)
}
