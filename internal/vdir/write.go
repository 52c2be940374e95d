package vdir

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"goqmail/internal/dirsync"
)

// lock serializes writers, across processes, on ROOT/vdir/.lock (flock
// locks belong to the open file, so two goroutines of one process exclude
// each other too). Readers never take it.
func (f *Files) lock() (unlock func(), err error) {
	if err := os.MkdirAll(f.vdir, 0o755); err != nil {
		return nil, fmt.Errorf("virtual directory: %w", err)
	}
	fh, err := os.OpenFile(filepath.Join(f.vdir, ".lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("virtual directory lock: %w", err)
	}
	for {
		err = syscall.Flock(int(fh.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("virtual directory lock: %w", err)
	}
	return func() { fh.Close() }, nil
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

// replaceFile atomically replaces path with data, like
// internal/atomicfile.WriteFile (temp file, fsync, rename, fsync of the
// directory), with two additions a reader relies on: the group is set
// before the rename, so passwd is never visible root-only for an instant,
// and the mtime is set to the current time with full nanoseconds, so
// that two versions written within one clock tick of the file system
// (ext4 stamps files with a coarse clock) never share a cache key.
func replaceFile(path string, data []byte, perm os.FileMode, gid int) error {
	dir := filepath.Dir(path)
	fh, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := fh.Name()
	fail := func(err error) error {
		fh.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := fh.Chmod(perm); err != nil {
		return fail(err)
	}
	if gid >= 0 {
		if err := fh.Chown(-1, gid); err != nil {
			return fail(err)
		}
	}
	if _, err := fh.Write(data); err != nil {
		return fail(err)
	}
	if err := fh.Sync(); err != nil {
		return fail(err)
	}
	if err := fh.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	now := time.Now()
	if err := os.Chtimes(tmp, now, now); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return dirsync.Dir(dir)
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
