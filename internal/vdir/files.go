package vdir

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"

	"goqmail/internal/pwhash"
)

// Files is the file-based Directory rooted at ROOT/vdir, mailboxes under
// ROOT/vmail. Layout, formats and permissions are in docs/virtual.md.
//
// Readers take no lock: every file is replaced by rename, and a reader
// re-reads a file only when its (device, inode, size, mtime, ctime) has
// changed, so a running server sees changes at its next lookup without
// a restart and without re-reading unchanged files. Writers (the admin
// commands, possibly several processes) serialize on ROOT/vdir/.lock.
type Files struct {
	vdir, vmail string
	vuid, vgid  int

	// Test hooks: the bcrypt cost of new hashes, the rename that puts a
	// new domain into place, and a call after load read one file.
	cost      int
	rename    func(oldpath, newpath string) error
	afterRead func(name string)

	mu    sync.Mutex
	cache map[string]cacheEntry // by path

	dummyOnce sync.Once
	dummy     string // a hash to verify against for unknown logins
}

var _ Directory = (*Files)(nil)

// OpenFiles returns the directory kept under vdirRoot (ROOT/vdir) whose
// mailboxes live under vmailRoot (ROOT/vmail); vuid/vgid go into the passwd
// lines Dovecot reads and own the mailboxes. Nothing is read until the
// first call; missing directories are created by the first change.
func OpenFiles(vdirRoot, vmailRoot string, vuid, vgid int) *Files {
	abs := func(p string) string {
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
		return p
	}
	return &Files{
		vdir: abs(vdirRoot), vmail: abs(vmailRoot), vuid: vuid, vgid: vgid,
		cost: pwhash.DefaultCost, rename: os.Rename,
		cache: map[string]cacheEntry{},
	}
}

// MailboxHome is ROOT/vmail/<domain>/<local>: the user's home, holding
// Maildir/ (Dovecot: mail_location = maildir:~/Maildir). local and domain
// must have passed CheckLocal and CheckDomain: they become path names.
func (f *Files) MailboxHome(local, domain string) string {
	return filepath.Join(f.vmail, strings.ToLower(domain), strings.ToLower(local))
}

// fileKey identifies one version of a file. Every write is a new inode
// with a nanosecond mtime set by the writer (replaceFile), so equal keys
// mean equal contents.
type fileKey struct {
	exists       bool
	dev, ino     uint64
	size         int64
	mtime, ctime int64
}

type cacheEntry struct {
	key fileKey
	val any
}

func keyOf(fi fs.FileInfo) fileKey {
	k := fileKey{exists: true, size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		k.dev, k.ino = uint64(st.Dev), st.Ino
		k.ctime = st.Ctim.Sec*1e9 + st.Ctim.Nsec
	}
	return k
}

func statKey(path string) (fileKey, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fileKey{}, nil
	}
	if err != nil {
		return fileKey{}, err
	}
	return keyOf(fi), nil
}

// maxFileSize bounds what a reader loads into memory: about a million
// users per domain.
const maxFileSize = 256 << 20

// readCached returns the parsed content of path (nil for a missing file)
// and the key of the version it parsed, re-reading only on change.
func (f *Files) readCached(path string, parse func([]byte) (any, error)) (fileKey, any, error) {
	fh, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fileKey{}, nil, nil
	}
	if err != nil {
		return fileKey{}, nil, err
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return fileKey{}, nil, err
	}
	key := keyOf(fi)
	f.mu.Lock()
	c, ok := f.cache[path]
	f.mu.Unlock()
	if ok && c.key == key {
		return key, c.val, nil
	}
	if fi.Size() > maxFileSize {
		return fileKey{}, nil, fmt.Errorf("%s: %d bytes, more than the %d a directory file may have", path, fi.Size(), maxFileSize)
	}
	b, err := io.ReadAll(fh)
	if err != nil {
		return fileKey{}, nil, err
	}
	val, err := parse(b)
	if err != nil {
		return fileKey{}, nil, fmt.Errorf("%s: %w", path, err)
	}
	f.mu.Lock()
	f.cache[path] = cacheEntry{key, val}
	f.mu.Unlock()
	return key, val, nil
}

// snapshot is one domain's tables as they were at one instant.
type snapshot struct {
	dom     Domain
	exists  bool
	boxes   map[string]box
	aliases map[string][]string
	hashes  map[string]string // only when loaded withPasswd
}

// load reads the domain's files so that the result is a state the
// directory really had: after reading, every file is stat'ed again, and
// if one was replaced meanwhile the whole read starts over. Writers keep
// each state meaningful on its own (a user's passwd line is written
// before its index line and removed after it).
//
// Only callers that need passwords read passwd (withPasswd), so
// delivery and smtpd need no read access to it.
func (f *Files) load(domain string, withPasswd bool) (*snapshot, error) {
	dir := filepath.Join(f.vdir, domain)
	names := []string{fileDomain, fileMailboxes, fileAliases}
	if withPasswd {
		names = append(names, filePasswd)
	}
	parsers := map[string]func([]byte) (any, error){
		fileDomain:    func(b []byte) (any, error) { return parseDomainFile(domain, b) },
		fileMailboxes: func(b []byte) (any, error) { return parseMailboxes(b) },
		fileAliases:   func(b []byte) (any, error) { return parseAliases(domain, b) },
		filePasswd:    func(b []byte) (any, error) { return parsePasswd(b) },
	}
	for try := 0; try < 50; try++ {
		keys := make([]fileKey, len(names))
		vals := make([]any, len(names))
		for i, n := range names {
			var err error
			if keys[i], vals[i], err = f.readCached(filepath.Join(dir, n), parsers[n]); err != nil {
				return nil, fmt.Errorf("read virtual domain %s: %w", domain, err)
			}
			if f.afterRead != nil {
				f.afterRead(n)
			}
		}
		stable := true
		for i, n := range names {
			k, err := statKey(filepath.Join(dir, n))
			if err != nil {
				return nil, fmt.Errorf("read virtual domain %s: %w", domain, err)
			}
			stable = stable && k == keys[i]
		}
		if !stable {
			continue
		}
		s := &snapshot{boxes: map[string]box{}, aliases: map[string][]string{}, hashes: map[string]string{}}
		if vals[0] != nil {
			s.dom, s.exists = vals[0].(Domain), true
		}
		if vals[1] != nil {
			s.boxes = vals[1].(map[string]box)
		}
		if vals[2] != nil {
			s.aliases = vals[2].(map[string][]string)
		}
		if withPasswd && vals[3] != nil {
			s.hashes = vals[3].(map[string]string)
		}
		return s, nil
	}
	return nil, fmt.Errorf("read virtual domain %s: its files kept changing while being read", domain)
}

// loadReal loads name and, for an alias domain, the domain it answers
// for. It returns (nil, nil) for a domain we do not serve.
func (f *Files) loadReal(name string, withPasswd bool) (*snapshot, error) {
	d, err := CheckDomain(name)
	if err != nil {
		return nil, nil // not a name we could be serving
	}
	s, err := f.load(d, withPasswd)
	if err != nil || !s.exists {
		return nil, err
	}
	if s.dom.AliasOf == "" {
		return s, nil
	}
	t, err := f.load(s.dom.AliasOf, withPasswd)
	if err != nil || !t.exists || t.dom.AliasOf != "" {
		return nil, err // a dangling or chained alias serves nothing
	}
	return t, nil
}

// IsDomain reports whether name is a domain or alias domain served here.
func (f *Files) IsDomain(name string) (bool, error) {
	_, ok, err := f.Domain(name)
	return ok, err
}

// Domain returns the settings of a domain or alias domain (not following
// the alias); false if name is not served here or not a valid name.
func (f *Files) Domain(name string) (Domain, bool, error) {
	d, err := CheckDomain(name)
	if err != nil {
		return Domain{}, false, nil
	}
	_, v, err := f.readCached(filepath.Join(f.vdir, d, fileDomain), func(b []byte) (any, error) { return parseDomainFile(d, b) })
	if err != nil || v == nil {
		return Domain{}, false, err
	}
	return v.(Domain), true, nil
}

// Domains lists every domain and alias domain, sorted by name. Entries of
// ROOT/vdir that are not domain names (.lock, .tmp-*, .deleted-*) are
// skipped.
func (f *Files) Domains() ([]Domain, error) {
	ents, err := os.ReadDir(f.vdir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list virtual domains: %w", err)
	}
	var out []Domain
	for _, e := range ents {
		if n, err := CheckDomain(e.Name()); err != nil || n != e.Name() || !e.IsDir() {
			continue
		}
		d, ok, err := f.Domain(e.Name())
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// User looks up local@domain (following an alias domain). Hash is filled
// in only when the caller may read passwd; without that permission (smtpd,
// delivery) it is "".
func (f *Files) User(local, domain string) (User, bool, error) {
	s, err := f.loadReal(domain, true)
	if errors.Is(err, fs.ErrPermission) {
		s, err = f.loadReal(domain, false)
	}
	if err != nil || s == nil {
		return User{}, false, err
	}
	l := strings.ToLower(local)
	bx, ok := s.boxes[l]
	if !ok {
		return User{}, false, nil
	}
	return User{Local: l, Domain: s.dom.Name, Hash: s.hashes[l], QuotaBytes: bx.bytes, QuotaMessages: bx.messages}, true, nil
}

// Users lists the users of a domain with their hashes, sorted.
func (f *Files) Users(domain string) ([]User, error) {
	s, err := f.loadOwn(domain, true)
	if err != nil {
		return nil, err
	}
	var out []User
	for _, l := range sortedKeys(s.boxes) {
		bx := s.boxes[l]
		out = append(out, User{Local: l, Domain: s.dom.Name, Hash: s.hashes[l], QuotaBytes: bx.bytes, QuotaMessages: bx.messages})
	}
	return out, nil
}

// Aliases lists the aliases of a domain, sorted, targets as full addresses.
func (f *Files) Aliases(domain string) ([]Alias, error) {
	s, err := f.loadOwn(domain, false)
	if err != nil {
		return nil, err
	}
	var out []Alias
	for _, l := range sortedKeys(s.aliases) {
		out = append(out, Alias{Local: l, Domain: s.dom.Name, Targets: append([]string(nil), s.aliases[l]...)})
	}
	return out, nil
}

// loadOwn loads a domain that must exist and not be an alias domain: the
// domains whose users and aliases can be listed or changed.
func (f *Files) loadOwn(domain string, withPasswd bool) (*snapshot, error) {
	d, err := CheckDomain(domain)
	if err != nil {
		return nil, err
	}
	s, err := f.load(d, withPasswd)
	if err != nil {
		return nil, err
	}
	if !s.exists {
		return nil, notFoundf("no virtual domain %s", d)
	}
	if s.dom.AliasOf != "" {
		return nil, invalidf("%s is an alias domain of %s: its users and aliases are those of %s", d, s.dom.AliasOf, s.dom.AliasOf)
	}
	return s, nil
}
