package vdir

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"goqmail/internal/atomicfile"
	"os"
	"path/filepath"
	"time"
)

// lock serializes writers, across processes, on ROOT/vdir/.lock.
// Readers never take it.
func (f *Files) lock() (unlock func(), err error) {
	if err := os.MkdirAll(f.vdir, 0o755); err != nil {
		return nil, fmt.Errorf("virtual directory: %w", err)
	}
	return atomicfile.Lock(filepath.Join(f.vdir, ".lock"))
}

// isRoot says whether files must be given their owners explicitly.
func isRoot() bool { return os.Geteuid() == 0 }

// passwdMode is passwd's mode and group: 0640 root:<virtual group> when
// root (Dovecot and goqmail's login code read it; delivery and smtpd never
// need it), else 0600 for the single user who runs everything.
func (f *Files) passwdMode() (os.FileMode, int) {
	if isRoot() {
		return 0o640, f.vgid
	}
	return 0o600, -1
}

// replaceFile atomically replaces path with data: the group is set before
// the rename (passwd is never root-only for an instant) and the mtime is
// stamped with nanoseconds (readers cache by inode, size and mtime).
func replaceFile(path string, data []byte, perm os.FileMode, gid int) error {
	return atomicfile.Write(path, data, atomicfile.Options{Perm: perm, Group: gid, StampNow: true})
}

func (f *Files) writeDomainFile(dir string, d Domain) error {
	return replaceFile(filepath.Join(dir, fileDomain), formatDomainFile(d), 0o644, -1)
}

func (f *Files) writeMailboxes(dir string, boxes map[string]box) error {
	return replaceFile(filepath.Join(dir, fileMailboxes), formatMailboxes(boxes), 0o644, -1)
}

func (f *Files) writeAliases(dir string, aliases map[string][]string) error {
	return replaceFile(filepath.Join(dir, fileAliases), formatAliases(aliases), 0o644, -1)
}

func (f *Files) writePasswd(dir, domain string, boxes map[string]box, hashes map[string]string) error {
	perm, gid := f.passwdMode()
	home := func(l string) string { return f.MailboxHome(l, domain) }
	return replaceFile(filepath.Join(dir, filePasswd), formatPasswd(boxes, hashes, f.vuid, f.vgid, home), perm, gid)
}

// randomSuffix names temporary and deleted directories uniquely.
func randomSuffix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// aside is the name a deleted thing is kept under in parent:
// .deleted-<name>-<UTC time>, never a valid domain or local part (both
// cannot start with '.'), so it can never be mistaken for a live one.
func aside(parent, name string) string {
	return filepath.Join(parent, ".deleted-"+name+"-"+time.Now().UTC().Format("20060102T150405.000000000Z"))
}

func copyMap[V any](m map[string]V) map[string]V {
	out := make(map[string]V, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}
