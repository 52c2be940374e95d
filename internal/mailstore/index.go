package mailstore

import (
	"bytes"
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The listing index: one file per folder, IndexFile in the folder's
// Maildir directory, holding what the message list shows of each message
// (date, From, Subject, size, attachment guess, To/Cc for search) so that
// a list reads the directory names and this file, not 100,000 messages.
// It is a cache and never the only copy of anything: a message missing
// from it is parsed again, an entry whose message is gone is dropped, a
// damaged or foreign file is ignored and rebuilt. Flags are the current
// file names': the names the directories hold, or, for a new session,
// the names the index lists while new/ and cur/ have exactly the stamps
// (mtime, ctime, inode: stamp.go) they had when those names were read,
// and those were stable then (stableAge) -- the rule a session applies
// to its own scan in memory, kept across sessions.
//
// Format 2: a first line "goqmail-webindex 2 NEW CUR" (the stamps of
// new/ and cur/ as MTIME:CTIME:INODE, or "- -" when the names may not
// stand in for the directories), then one line per message, fields
// separated by tabs (which no field contains: header values have their
// white space folded to single spaces):
//
//	name  new(0|1)  date  size  attach(0|1)  from  subject  to/cc
//
// Format 1 ("goqmail-webindex 1", lines without name and new, the id
// first) is still read, never written.
//
// It is replaced atomically (a temporary file, fsync, rename, fsync of
// the directory), by whichever session lists the folder and finds it
// stale; two sessions writing at once each write a whole, valid file.
// The temporary name has no leading dot: in the Maildir's root a dot
// name would look like a folder to Maildir++ readers.
const (
	IndexFile    = "goqmail-webindex"
	indexHeader1 = "goqmail-webindex 1\n"
	indexMagic2  = "goqmail-webindex 2 "
)

// Entry is one message as the list shows it.
type Entry struct {
	ID      string
	Name    string // its current file name (flags after ":2,")
	New     bool   // in new/ (not yet seen by any client)
	Date    int64  // Unix seconds: the Date header, else the file's mtime
	Size    int64
	Attach  bool
	From    string
	Subject string
	ToCc    string

	// Lower-case sort keys, made by the first sort that needs them
	// (under Store.mu; nothing else of an Entry changes once a list has
	// returned it).
	fromKey, subjKey string
	keys             bool

	scan, order uint64 // the last scan that saw it, and that ordered it (Store.scans)
	// repl is the entry that replaced this one in the index (a new
	// name: flags, new/ to cur/), so that a scan finds an entry of the
	// last order in its current form without a map lookup.
	repl *Entry
}

// current follows e's replacements to the entry the index holds now.
func (e *Entry) current() *Entry {
	for e.repl != nil {
		e = e.repl
	}
	return e
}

func (e *Entry) setKeys() {
	if !e.keys {
		e.fromKey, e.subjKey, e.keys = strings.ToLower(e.From), strings.ToLower(e.Subject), true
	}
}

// Flags returns the message's Maildir flags.
func (e *Entry) Flags() string { return Flags(e.Name) }

// folderIndex is the index of one folder, kept in memory between lists
// of one session.
type folderIndex struct {
	entries map[string]*Entry
	all     []*Entry // the entries, in directory order

	// newTime and curTime are the mtimes of new/ and cur/ that the last
	// readdir saw; stable says they were older than stableAge when it
	// started, so that any later change to either directory gives it a
	// later mtime. A list that finds both unchanged then reuses all
	// (unchanged) instead of reading 100,000 names again: every message
	// arriving, leaving or changing its flags renames or creates a name
	// in one of them. Dovecot trusts maildir mtimes the same way.
	newTime, curTime time.Time
	stable           bool
	// newSt and curSt are the stamps of new/ and cur/ when their names
	// were last read, newStable and curStable that each was stable then:
	// a later scan that finds one of them with the same stamp reuses its
	// names (a delivery changes new/ only, and cur/ holds most mail).
	newSt, curSt         dirStamp
	newStable, curStable bool
	// started is when the scan that made it began (it read the mtimes
	// then); unread counts the entries of all in new/ or without S.
	started time.Time
	unread  int

	sorted map[sortOrder][]*Entry // all, in the orders asked so far
}

type sortOrder struct {
	key string
	asc bool
}

// stableAge is how old a directory's mtime must be before an unchanged
// mtime proves an unchanged directory: file systems stamp with a clock
// of coarse ticks (and some, whole seconds), so a change made in the
// same tick as the one seen can leave the mtime as it was.
const stableAge = 2 * time.Second

// forget drops the cached index of folder and its subfolders (renamed
// or deleted).
func (s *Store) forget(folder string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.cache {
		if k == folder || strings.HasPrefix(k, folder+".") {
			delete(s.cache, k)
		}
	}
}

// cachedPath returns the file of id as the last list of folder saw it,
// or "".
func (s *Store) cachedPath(folder, dir, id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx := s.cache[folder]
	if idx == nil {
		return ""
	}
	e := idx.entries[id]
	if e == nil || e.Name == "" || e.New {
		return ""
	}
	return filepath.Join(dir, "cur", e.Name)
}

// renamed tells the cached index that message id of folder is now the
// file name in cur/ (SetFlags), so that the next Path finds it at once.
// The next list reads the directories again.
func (s *Store) renamed(folder, id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx := s.cache[folder]
	if idx == nil || idx.entries[id] == nil {
		return
	}
	old := idx.entries[id]
	e := *old
	e.Name, e.New, e.repl = name, false, nil
	idx.entries[id] = &e
	old.repl = &e
	idx.unread += unreadOf(&e) - unreadOf(old)
	idx.stable, idx.sorted = false, nil
}

// unreadOf is 1 for a message no client has seen: in new/, or in cur/
// without the S flag.
func unreadOf(e *Entry) int {
	if e.New {
		return 1
	}
	// e.Name is a base name: no filepath.Base per message (Flags).
	if i := strings.Index(e.Name, ":2,"); i >= 0 && strings.IndexByte(e.Name[i+3:], 'S') >= 0 {
		return 0
	}
	return 1
}

// scan brings the index of folder (Maildir dir) up to date with the
// directory and returns it. The caller holds s.mu: one scan at a time
// per store (a session answers one request at a time anyway).
func (s *Store) scan(folder, dir string) (*folderIndex, error) {
	started := time.Now()
	newSt, newTime, err1 := statDir(filepath.Join(dir, "new"))
	curSt, curTime, err2 := statDir(filepath.Join(dir, "cur"))
	if s.cache == nil {
		s.cache = map[string]*folderIndex{}
	}
	idx := s.cache[folder]
	if idx != nil && idx.stable && err1 == nil && err2 == nil && newTime.Equal(idx.newTime) && curTime.Equal(idx.curTime) {
		return idx, nil
	}
	newStable := err1 == nil && started.Sub(newTime) > stableAge
	curStable := err2 == nil && started.Sub(curTime) > stableAge
	stable := newStable && curStable
	stamps := stampsLine(newSt, curSt, stable)
	path := filepath.Join(dir, IndexFile)
	fresh := idx == nil // entries loaded from the file: nobody else holds them yet
	var file indexFile
	var loading chan struct{}
	if fresh {
		b, _ := os.ReadFile(path)
		if stable && bytes.HasPrefix(b, []byte(indexMagic2+stamps+"\n")) {
			// The directories are as the index's names were read:
			// they are the listing, no 100,000 names to read.
			if file = parseIndex(b); file.listing && file.stamps == stamps {
				idx = &folderIndex{newTime: newTime, curTime: curTime, newSt: newSt, curSt: curSt, started: started}
				return s.fromIndex(folder, path, file, idx), nil
			}
		}
		// The index parses while the names are read: a new session's
		// first list of a large folder is the two, and there are cores.
		loading = make(chan struct{})
		go func() {
			defer close(loading)
			file = parseIndex(b)
		}()
	}
	// A directory whose stamp is the one its names were read at, then
	// stable, holds the same names: they are not read again.
	reuseNew := !fresh && err1 == nil && idx.newStable && newSt == idx.newSt
	reuseCur := !fresh && err2 == nil && idx.curStable && curSt == idx.curSt
	var nw, cur []string
	var rerr1, rerr2 error
	if !reuseNew {
		nw, rerr1 = readNames(filepath.Join(dir, "new"))
	}
	if !reuseCur {
		cur, rerr2 = readNames(filepath.Join(dir, "cur"))
	}
	var last []*Entry // the last scan's entries (a reused directory's names)
	if !fresh {
		last = idx.all
	}
	if loading != nil {
		<-loading
		idx = &folderIndex{entries: file.entries}
		if file.stamps != "" {
			s.noteOnDisk(path, file.stamps)
		}
	}
	loaded := file.order // in the file's order
	if err := cmp.Or(rerr1, rerr2); err != nil {
		return nil, fmt.Errorf("mailstore: %w", err)
	}
	// The map is brought up to date in place (only scans, under s.mu,
	// use it). Entries that a list has returned are replaced, never
	// changed, since its caller may still be reading them; only their
	// scan mark changes, which nothing outside scan reads.
	s.scans++
	gen := s.scans
	entries := idx.entries
	all := make([]*Entry, 0, len(nw)+len(cur))
	var parsed []*Entry
	renames := 0 // entries whose file name changed (flags, new/ to cur/)
	add := func(sub, name string, isNew bool) {
		id := ID(name)
		old := entries[id]
		var e *Entry
		switch {
		case old != nil && old.scan == gen:
			return // the same id twice (new/ and cur/ during a move): once is enough
		case old != nil && old.Name == name && old.New == isNew:
			e = old
		case old != nil && fresh: // loaded just now: nobody else holds it
			e = old
			e.ID, e.Name, e.New = id, name, isNew
		case old != nil:
			c := *old
			e = &c
			e.ID, e.Name, e.New, e.repl = id, name, isNew, nil
			entries[id] = e
			old.repl = e
			renames++
		default:
			e = &Entry{}
			if !parseFile(filepath.Join(dir, sub, name), name, e) {
				return // gone meanwhile (another client moved it): the next list sees its new name
			}
			e.ID, e.Name, e.New = id, name, isNew
			entries[id] = e
			parsed = append(parsed, e)
		}
		e.scan = gen
		all = append(all, e)
	}
	reuse := func(isNew bool) {
		for _, e := range last {
			if e = e.current(); e.New == isNew && e.scan != gen {
				e.scan = gen
				all = append(all, e)
			}
		}
	}
	if reuseNew {
		reuse(true)
	}
	for _, n := range nw {
		add("new", n, true)
	}
	if reuseCur {
		reuse(false)
	}
	for _, n := range cur {
		add("cur", n, false)
	}
	changed := len(parsed) > 0
	if len(all) != len(entries) {
		changed = true // some vanished
		for id, e := range entries {
			if e.scan != gen {
				delete(entries, id)
			}
		}
	}
	// Keep the order the entries had (the file's, newest first, or the
	// last list's by date) and put what is new last: the usual sort then
	// finds its input sorted, or nearly, and costs about a pass instead
	// of a full sort of 100,000 entries.
	prev := loaded
	if !fresh {
		prev = idx.sorted[sortOrder{SortDate, false}]
		if prev == nil {
			prev = idx.all
		}
	}
	if len(prev) > 0 {
		ordered := make([]*Entry, 0, len(all))
		// Entries of prev are the map's or were replaced in it (repl):
		// no lookup by id for each of 100,000.
		for _, e := range prev {
			if n := e.current(); n.scan == gen && n.order != gen {
				n.order = gen
				ordered = append(ordered, n)
			}
		}
		for _, e := range parsed {
			if e.order != gen {
				e.order = gen
				ordered = append(ordered, e)
			}
		}
		if len(ordered) == len(all) { // always; but never lose an entry to a slip here
			all = ordered
		}
	}
	// Rewrite the index when messages came or went, and, at most every
	// indexRefresh, when only names changed (flags) and the directories
	// are stable: the next session then takes the names from it.
	if changed || (stable && s.refreshDue(path, stamps)) {
		s.writeIndexLater(path, all, stamps)
	}
	var sorted map[sortOrder][]*Entry
	if !fresh && !changed && renames == 0 {
		// The same messages under the same names: the orders made so
		// far still hold (a folder listed again and again within 2
		// seconds of a change is read again, but not sorted again).
		sorted = idx.sorted
	}
	unread := 0
	for _, e := range all {
		unread += unreadOf(e)
	}
	idx = &folderIndex{entries: entries, all: all, sorted: sorted, newTime: newTime, curTime: curTime,
		stable: stable, started: started, unread: unread,
		newSt: newSt, curSt: curSt, newStable: newStable, curStable: curStable}
	s.cache[folder] = idx
	return idx, nil
}

// fromIndex completes idx (the directories' times and stamps) with a new
// session's listing of folder from its index file, whose stamps are the
// directories' (scan).
func (s *Store) fromIndex(folder, path string, file indexFile, idx *folderIndex) *folderIndex {
	s.noteOnDisk(path, file.stamps)
	s.scans++
	gen := s.scans
	unread := 0
	for _, e := range file.order {
		e.scan, e.order = gen, gen
		unread += unreadOf(e)
	}
	idx.entries, idx.all, idx.unread = file.entries, file.order, unread
	idx.stable, idx.newStable, idx.curStable = true, true, true
	s.cache[folder] = idx
	return idx
}

func mtime(dir string) (time.Time, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return time.Time{}, err
	}
	return fi.ModTime(), nil
}

// order returns all entries in the order asked, sorted once per order
// while the folder does not change.
func (idx *folderIndex) order(key string, asc bool) []*Entry {
	o := sortOrder{key, asc}
	if es, ok := idx.sorted[o]; ok {
		return es
	}
	es := slices.Clone(idx.all)
	sortEntries(es, key, asc)
	if idx.sorted == nil {
		idx.sorted = map[sortOrder][]*Entry{}
	}
	idx.sorted[o] = es
	return es
}

// parseFile fills e from the message file at path; false if it is gone.
func parseFile(path, name string, e *Entry) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	e.Size = sizeOf(name)
	if e.Size < 0 {
		e.Size = fi.Size()
	}
	parseHead(f, fi.ModTime().Unix(), e)
	return true
}
