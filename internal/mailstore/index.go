package mailstore

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The listing index: one file per folder, IndexFile in the folder's
// Maildir directory, holding what the message list shows of each message
// (date, From, Subject, size, attachment guess, To/Cc for search) so that
// a list reads the directory names and this file, not 100,000 messages.
// It is a cache and never the only copy of anything: a message missing
// from it is parsed again, an entry whose message is gone is dropped, a
// damaged or foreign file is ignored and rebuilt. Flags are never taken
// from it; they are the current file name's.
//
// Format: a first line "goqmail-webindex 1", then one line per message,
// fields separated by tabs (which no field contains: header values have
// their white space folded to single spaces):
//
//	id  date  size  attach(0|1)  from  subject  to/cc
//
// It is replaced atomically (a temporary file, fsync, rename, fsync of
// the directory), by whichever session lists the folder and finds it
// stale; two sessions writing at once each write a whole, valid file.
// The temporary name has no leading dot: in the Maildir's root a dot
// name would look like a folder to Maildir++ readers.
const (
	IndexFile   = "goqmail-webindex"
	indexHeader = "goqmail-webindex 1\n"
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

	fromKey, subjKey string // lower-case sort keys (setKeys)
}

// setKeys makes the sort keys. An Entry is not changed once a list has
// returned it (a concurrent list may be sorting it).
func (e *Entry) setKeys() {
	e.fromKey = strings.ToLower(e.From)
	e.subjKey = strings.ToLower(e.Subject)
}

// Flags returns the message's Maildir flags.
func (e *Entry) Flags() string { return Flags(e.Name) }

// folderIndex is the index of one folder, kept in memory between lists
// of one session.
type folderIndex struct {
	entries map[string]*Entry
}

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
func (s *Store) renamed(folder, id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx := s.cache[folder]
	if idx == nil || idx.entries[id] == nil {
		return
	}
	e := *idx.entries[id]
	e.Name, e.New = name, false
	idx.entries[id] = &e
}

// scan brings the index of folder (Maildir dir) up to date with the
// directory and returns its entries, one per message file, in no order.
func (s *Store) scan(folder, dir string) ([]*Entry, error) {
	nw, err := readNames(filepath.Join(dir, "new"))
	if err != nil {
		return nil, fmt.Errorf("mailstore: %w", err)
	}
	cur, err := readNames(filepath.Join(dir, "cur"))
	if err != nil {
		return nil, fmt.Errorf("mailstore: %w", err)
	}
	// One scan at a time per store: the cached maps are read and replaced
	// under mu (a session answers one request at a time anyway).
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cache == nil {
		s.cache = map[string]*folderIndex{}
	}
	idx := s.cache[folder]
	if idx == nil {
		idx = &folderIndex{entries: loadIndex(filepath.Join(dir, IndexFile))}
	}
	// Entries are replaced, never changed in place: the caller of an
	// earlier list may still be reading the old ones.
	next := make(map[string]*Entry, len(nw)+len(cur))
	out := make([]*Entry, 0, len(nw)+len(cur))
	changed := false
	add := func(sub, name string, isNew bool) {
		id := ID(name)
		if _, dup := next[id]; dup {
			return // the same id twice (new/ and cur/ during a move): once is enough
		}
		old := idx.entries[id]
		if old != nil && old.Name == name && old.New == isNew {
			next[id] = old
			out = append(out, old)
			return
		}
		var e Entry
		if old != nil {
			e = *old
		} else {
			if !parseFile(filepath.Join(dir, sub, name), name, &e) {
				return // gone meanwhile (another client moved it): the next list sees its new name
			}
			e.setKeys()
			changed = true
		}
		e.ID, e.Name, e.New = id, name, isNew
		next[id] = &e
		out = append(out, &e)
	}
	for _, n := range nw {
		add("new", n, true)
	}
	for _, n := range cur {
		add("cur", n, false)
	}
	if len(next) != len(idx.entries) {
		changed = true // some vanished
	}
	if changed {
		// A failed write leaves the old index; the next list tries again.
		_ = writeIndex(filepath.Join(dir, IndexFile), out)
	}
	s.cache[folder] = &folderIndex{entries: next}
	return out, nil
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

// loadIndex reads an index file; anything it cannot read is simply not
// in the index (and will be parsed again).
func loadIndex(path string) map[string]*Entry {
	out := map[string]*Entry{}
	b, err := os.ReadFile(path)
	if err != nil || !bytes.HasPrefix(b, []byte(indexHeader)) {
		return out
	}
	b = b[len(indexHeader):]
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			break // a last line without its newline is cut short: drop it
		}
		e, ok := parseIndexLine(string(line))
		if ok {
			out[e.ID] = e
		}
	}
	return out
}

func parseIndexLine(line string) (*Entry, bool) {
	var f [7]string
	for i := 0; i < 6; i++ {
		j := strings.IndexByte(line, '\t')
		if j < 0 {
			return nil, false
		}
		f[i], line = line[:j], line[j+1:]
	}
	f[6] = line
	if checkID(f[0]) != nil || strings.IndexByte(f[6], '\t') >= 0 || (f[3] != "0" && f[3] != "1") {
		return nil, false
	}
	date, err1 := strconv.ParseInt(f[1], 10, 64)
	size, err2 := strconv.ParseInt(f[2], 10, 64)
	if err1 != nil || err2 != nil || size < 0 {
		return nil, false
	}
	e := &Entry{ID: f[0], Date: date, Size: size, Attach: f[3] == "1", From: f[4], Subject: f[5], ToCc: f[6]}
	e.setKeys()
	return e, true
}

// writeIndex replaces the index file at path with entries.
func writeIndex(path string, entries []*Entry) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, IndexFile+".tmp*")
	if err != nil {
		return err
	}
	fail := func(err error) error {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("mailstore: write %s: %w", path, err)
	}
	w := bufio.NewWriterSize(f, 256<<10)
	w.WriteString(indexHeader)
	for _, e := range entries {
		w.WriteString(e.ID)
		w.WriteByte('\t')
		w.WriteString(strconv.FormatInt(e.Date, 10))
		w.WriteByte('\t')
		w.WriteString(strconv.FormatInt(e.Size, 10))
		if e.Attach {
			w.WriteString("\t1\t")
		} else {
			w.WriteString("\t0\t")
		}
		w.WriteString(field(e.From))
		w.WriteByte('\t')
		w.WriteString(field(e.Subject))
		w.WriteByte('\t')
		w.WriteString(field(e.ToCc))
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("mailstore: write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("mailstore: write %s: %w", path, err)
	}
	return syncDir(dir)
}

// field keeps a value on its line and in its column.
func field(s string) string {
	if strings.ContainsAny(s, "\t\n\r") {
		return strings.Map(func(r rune) rune {
			if r == '\t' || r == '\n' || r == '\r' {
				return ' '
			}
			return r
		}, s)
	}
	return s
}
