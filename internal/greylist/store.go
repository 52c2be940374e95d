// Package greylist keeps the greylisting state of smtpd: one entry per
// (client network, sender, recipient) triplet, decided by
// policy.CheckGreylist, held in memory and written to one file so it
// survives restarts (ROOT/greylist/state, owned by smtpd's account).
//
// Writing: the whole table, with atomicfile (a temporary file, fsync,
// rename, directory fsync), at most once a minute and only when it
// changed, and when smtpd stops. A crash loses at most the last minute of
// new triplets; they are greylisted again, which delays mail and loses
// none (every refusal here is a 4xx). Writing on every change would cost
// an fsync per new triplet, which is to say per spam message.
//
// The file keeps no addresses: each triplet is a 128-bit SHA-256 prefix of
// its parts, which is all the decision needs, and all a reader of the file
// learns.
package greylist

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"goqmail/internal/atomicfile"
	"goqmail/internal/policy"
)

// Key identifies a triplet.
type Key [16]byte

// KeyOf is the triplet of a client address, an envelope sender ("" for
// <>) and a recipient: the client's IPv4 /24 or IPv6 /64 (a provider
// retries from another address of its pool), the addresses lower-cased.
func KeyOf(client netip.Addr, sender, rcpt string) Key {
	client = client.Unmap()
	bits := 64
	if client.Is4() {
		bits = 24
	}
	p, _ := client.Prefix(bits)
	h := sha256.Sum256([]byte(p.String() + "\x00" + strings.ToLower(sender) + "\x00" + strings.ToLower(rcpt)))
	var k Key
	copy(k[:], h[:])
	return k
}

// DefaultMaxEntries bounds the table: about 100 bytes each in memory and
// 60 in the file.
const DefaultMaxEntries = 500000

// header is the file's first line: a version to refuse what we cannot read.
const header = "goqmail greylist 1"

// Store is the table. Safe for concurrent use.
type Store struct {
	path       string
	maxEntries int

	wmu   sync.Mutex // one Flush at a time: a later table is never overwritten by an earlier one
	mu    sync.Mutex
	m     map[Key]policy.GreyState
	dirty bool
}

// Open reads the state file at path; a missing file is an empty table.
// Lines that do not parse are skipped and returned as warnings (a
// triplet forgotten is only greylisted again); an unreadable file or a
// foreign header is an error.
func Open(path string, maxEntries int) (*Store, []string, error) {
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	s := &Store{path: path, maxEntries: maxEntries, m: map[Key]policy.GreyState{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("greylist state: %w", err)
	}
	var warnings []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if n == 1 {
			if line != header {
				return nil, nil, fmt.Errorf("greylist state %s: line 1 is %q, not %q: not a state file of this version; move it away", path, line, header)
			}
			continue
		}
		k, st, err := parseLine(line)
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("greylist state %s line %d: %v; the line is skipped", path, n, err))
			continue
		}
		s.m[k] = st
	}
	return s, warnings, nil
}

// parseLine reads "KEY FIRST LAST PASSED": 32 hex digits, two Unix times,
// 0 or 1.
func parseLine(line string) (Key, policy.GreyState, error) {
	var k Key
	var st policy.GreyState
	f := strings.Fields(line)
	if len(f) != 4 || len(f[0]) != 32 {
		return k, st, fmt.Errorf("%q is not KEY FIRST LAST PASSED", line)
	}
	if _, err := hex.Decode(k[:], []byte(f[0])); err != nil {
		return k, st, fmt.Errorf("bad key %q", f[0])
	}
	first, err1 := strconv.ParseInt(f[1], 10, 64)
	last, err2 := strconv.ParseInt(f[2], 10, 64)
	if err1 != nil || err2 != nil || first <= 0 || last < first || (f[3] != "0" && f[3] != "1") {
		return k, st, fmt.Errorf("%q: bad times or flag", line)
	}
	st = policy.GreyState{First: time.Unix(first, 0), Last: time.Unix(last, 0), Passed: f[3] == "1"}
	return k, st, nil
}

// Check decides the triplet k at now and records its new state.
func (s *Store) Check(k Key, now time.Time, c policy.GreyConfig) policy.Verdict {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, known := s.m[k]
	st, v := policy.CheckGreylist(old, now, c)
	if !known && len(s.m) >= s.maxEntries {
		s.evict(now, c)
	}
	// Times are kept to the second, as the file keeps them.
	st.First, st.Last = st.First.Truncate(time.Second), st.Last.Truncate(time.Second)
	if st != old {
		s.m[k] = st
		s.dirty = true
	}
	return v
}

// expired reports whether an entry would start over anyway.
func expired(st policy.GreyState, now time.Time, c policy.GreyConfig) bool {
	if st.Passed {
		return now.Sub(st.Last) > c.Lifetime
	}
	return now.Sub(st.First) > c.Delay+c.Retry
}

// evict makes room: expired entries first; if that is not a tenth of the
// table, the least recently used tenth (their triplets are greylisted
// again; the batch keeps this rare under a flood of new triplets).
func (s *Store) evict(now time.Time, c policy.GreyConfig) {
	before := len(s.m)
	for k, st := range s.m {
		if expired(st, now, c) {
			delete(s.m, k)
		}
	}
	s.dirty = true
	if before-len(s.m) >= s.maxEntries/10 {
		return
	}
	type aged struct {
		k    Key
		last time.Time
	}
	all := make([]aged, 0, len(s.m))
	for k, st := range s.m {
		all = append(all, aged{k, st.Last})
	}
	slices.SortFunc(all, func(a, b aged) int { return a.last.Compare(b.last) })
	for _, a := range all[:max(len(all)/10, 1)] {
		delete(s.m, a.k)
	}
}

// Len is the number of triplets held.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// Flush writes the table if it changed since the last write, leaving out
// entries that expired by now.
func (s *Store) Flush(now time.Time, c policy.GreyConfig) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	if !s.dirty {
		s.mu.Unlock()
		return nil
	}
	var b bytes.Buffer
	b.WriteString(header + "\n")
	for k, st := range s.m {
		if expired(st, now, c) {
			delete(s.m, k)
			continue
		}
		passed := '0'
		if st.Passed {
			passed = '1'
		}
		fmt.Fprintf(&b, "%x %d %d %c\n", k[:], st.First.Unix(), st.Last.Unix(), passed)
	}
	s.dirty = false
	s.mu.Unlock()
	if err := atomicfile.WriteFile(s.path, b.Bytes(), 0o600); err != nil {
		s.mu.Lock()
		s.dirty = true
		s.mu.Unlock()
		return fmt.Errorf("greylist state: %w", err)
	}
	return nil
}
