// Package relaygrant keeps the POP-before-SMTP grants: after a successful
// POP3 login, the client's IP may relay for a while
// (relay-ctrl's RELAY_CTRL_EXPIRY, default 900 s; qmail.md section 7).
//
// The grants live in one small file, ROOT/relay/grants, one line per
// address: "IP EXPIRY-UNIX SOURCE". The auth service writes it (atomic
// replace: temp file, fsync, rename, directory fsync) under a flock on
// ROOT/relay/grants.lock, so two writers never lose each other's grants;
// expired lines are dropped at every write. The SMTP server only reads it
// and re-reads it only when its stat changes, so the check it makes per
// connection costs one stat(2). Being a file, grants survive restarts.
//
// Who may read it: the grants say which addresses relay and which user
// logged in from where, so the file is mode 0400 and, in a root
// installation, owned by the SMTP server's account (Store.Reader), its only
// reader; the writers are root. Nobody else, local users and their
// .qmail programs included, can read it (issue 11, item 6). It used to be
// 0644.
package relaygrant

import (
	"errors"
	"fmt"
	"goqmail/internal/atomicfile"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Store is the grant file at one path. It is safe for concurrent use by
// goroutines, and processes coordinate through the lock file.
type Store struct {
	path string
	now  func() time.Time // the clock Grant and Revoke expire lines by
	// Reader is the uid of the file's one reader (the SMTP server's
	// account), which owns it; <= 0: the file stays the writer's, as
	// without root, where every program runs as one user.
	Reader int

	mu     sync.Mutex
	key    statKey
	grants map[netip.Addr]Grant
}

// Open returns the store kept at path (ROOT/relay/grants). Nothing is read
// or created until first use; a missing file holds no grants.
func Open(path string) *Store { return &Store{path: path, now: time.Now, Reader: -1} }

// FileMode is the grant file's mode: its owner (the reader) reads it; the
// writers (root) replace it whole, which needs no permission on the file.
const FileMode = 0o400

// Protect gives an existing grant file its owner and mode, so that one
// written by an older version (0644, readable by every local user) is
// closed at once, not at the next login. A missing file is fine.
func (s *Store) Protect() error {
	fi, err := os.Lstat(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("relay grants: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("relay grants: %s is not a regular file", s.path)
	}
	if s.Reader > 0 {
		if err := os.Lchown(s.path, s.Reader, -1); err != nil {
			return fmt.Errorf("relay grants: %w", err)
		}
	}
	if fi.Mode().Perm() != FileMode {
		if err := os.Chmod(s.path, FileMode); err != nil {
			return fmt.Errorf("relay grants: %w", err)
		}
	}
	return nil
}

// OwnerOf returns the uid that owns the grant file at path, or -1 when it
// does not exist: a writer that does not know the SMTP server's uid (the
// admin's `goqmail relay revoke`) keeps the file's reader.
func OwnerOf(path string) int {
	fi, err := os.Lstat(path)
	if err != nil {
		return -1
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}

// statKey identifies one version of the file: every write is a new inode
// (rename), so an unchanged key means unchanged content.
type statKey struct {
	exists   bool
	dev, ino uint64
	size     int64
	mtime    int64
	ctime    int64
}

func keyOf(fi fs.FileInfo) statKey {
	k := statKey{exists: true, size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		k.dev, k.ino = uint64(st.Dev), st.Ino
		k.ctime = st.Ctim.Sec*1e9 + st.Ctim.Nsec
	}
	return k
}

// current returns the grants as the file holds them now, re-reading it
// only when its stat changed. The caller must not modify the map.
func (s *Store) current() (map[netip.Addr]Grant, error) {
	fi, err := os.Stat(s.path)
	var k statKey
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("relay grants: %w", err)
	default:
		k = keyOf(fi)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.grants != nil && k == s.key {
		return s.grants, nil
	}
	m, err := readGrants(s.path)
	if err != nil {
		return nil, err
	}
	s.key, s.grants = k, m
	return m, nil
}

func readGrants(path string) (map[netip.Addr]Grant, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[netip.Addr]Grant{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("relay grants: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return nil, fmt.Errorf("relay grants: %w", err)
	}
	if len(data) > maxFile {
		return nil, fmt.Errorf("relay grants: %s is larger than %d bytes", path, maxFile)
	}
	m, _ := parseFile(data)
	return m, nil
}

// Allowed reports whether ip holds a grant that is live at now: now is
// strictly before its expiry.
func (s *Store) Allowed(ip netip.Addr, now time.Time) (bool, error) {
	m, err := s.current()
	if err != nil {
		return false, err
	}
	g, ok := m[Normalize(ip)]
	return ok && now.Before(g.Expires), nil
}

// List returns the grants not yet expired, sorted by address.
func (s *Store) List() ([]Grant, error) {
	m, err := s.current()
	if err != nil {
		return nil, err
	}
	now := s.now()
	live := map[netip.Addr]Grant{}
	for ip, g := range m {
		if now.Before(g.Expires) {
			live[ip] = g
		}
	}
	return sorted(live), nil
}

// Grant lets ip relay for d from now, recording source (e.g. "pop3:bob").
// A longer grant already held is kept. The expiry is rounded up to a
// whole second so that a grant is never shorter than asked.
func (s *Store) Grant(ip netip.Addr, d time.Duration, source string) error {
	if !ip.IsValid() {
		return fmt.Errorf("relay grant: invalid address")
	}
	if d <= 0 {
		return fmt.Errorf("relay grant: lifetime %v is not positive", d)
	}
	ip = Normalize(ip)
	exp := s.now().Add(d)
	if exp.Nanosecond() != 0 {
		exp = exp.Truncate(time.Second).Add(time.Second)
	}
	return s.update(func(m map[netip.Addr]Grant) bool {
		if old, ok := m[ip]; ok && !exp.After(old.Expires) {
			return false
		}
		m[ip] = Grant{IP: ip, Expires: exp, Source: CleanSource(source)}
		return true
	})
}

// Revoke ends ip's grant and reports whether it held a live one.
func (s *Store) Revoke(ip netip.Addr) (bool, error) {
	ip = Normalize(ip)
	var had bool
	err := s.update(func(m map[netip.Addr]Grant) bool {
		_, had = m[ip]
		delete(m, ip)
		return had
	})
	return had, err
}

// update runs change on the current grants under the writers' lock and
// writes the result when change says it changed something or when expired
// lines can be dropped.
func (s *Store) update(change func(map[netip.Addr]Grant) bool) error {
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("relay grants: %w", err)
	}
	unlock, err := atomicfile.Lock(s.path + ".lock")
	if err != nil {
		return err
	}
	defer unlock()
	m, err := readGrants(s.path)
	if err != nil {
		return err
	}
	now := s.now()
	dirty := false
	for ip, g := range m {
		if !now.Before(g.Expires) {
			delete(m, ip)
			dirty = true
		}
	}
	if change(m) {
		dirty = true
	}
	if !dirty {
		return nil
	}
	// Given to its reader before it is visible, 0400 (see the package
	// comment); a nanosecond mtime so two versions never share a stat key
	// (Allowed caches by stat).
	return atomicfile.Write(s.path, formatFile(sorted(m)), atomicfile.Options{Perm: FileMode, Group: -1, UID: s.Reader, StampNow: true})
}
