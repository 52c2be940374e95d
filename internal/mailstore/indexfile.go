package mailstore

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The index file's reading and writing (its format: index.go).

// indexFile is what an index file held.
type indexFile struct {
	entries map[string]*Entry
	order   []*Entry // the file's order (newest first)
	// stamps is the header's stampsLine; listing says the file may stand
	// in for the directories' names (format 2, stamps given, every line
	// read, no id twice).
	stamps  string
	listing bool
}

// parseIndex reads an index file's bytes; anything it cannot read is
// simply not in the index (and will be parsed again). The fields are
// substrings of one string holding the file, and the entries one
// allocation: a 100,000-message index loads in tens of milliseconds.
// Format 1 (no names, no stamps) is read too, so that an index written
// before format 2 spares its folder a cold rebuild.
func parseIndex(b []byte) indexFile {
	var text string
	v2 := false
	f := indexFile{entries: map[string]*Entry{}}
	switch {
	case bytes.HasPrefix(b, []byte(indexHeader1)):
		text = string(b[len(indexHeader1):])
	case bytes.HasPrefix(b, []byte(indexMagic2)):
		line, rest, ok := strings.Cut(string(b[len(indexMagic2):]), "\n")
		if !ok || checkStampsLine(line) != nil {
			return f
		}
		text, v2, f.stamps = rest, true, line
	default:
		return f
	}
	n := strings.Count(text, "\n")
	f.entries = make(map[string]*Entry, n)
	f.order = make([]*Entry, 0, n)
	f.listing = v2 && f.stamps != "- -"
	es := make([]Entry, n)
	i := 0
	dups := false
	for i < n {
		j := strings.IndexByte(text, '\n')
		if j < 0 {
			break // a last line without its newline is cut short: drop it
		}
		ok := false
		if v2 {
			ok = parseIndexLine2(text[:j], &es[i])
		} else {
			ok = parseIndexLine(text[:j], &es[i])
		}
		if ok {
			// One map operation per line: a second line with the same
			// id shows as a map that did not grow (then sorted out below).
			n0 := len(f.entries)
			f.entries[es[i].ID] = &es[i]
			if len(f.entries) == n0 {
				dups = true
			}
			f.order = append(f.order, &es[i])
			i++
		} else {
			f.listing = false
		}
		text = text[j+1:]
	}
	if text != "" {
		f.listing = false
	}
	if dups {
		// The first line of an id counts, as for any other reader.
		f.listing = false
		seen := make(map[string]bool, len(f.entries))
		kept := f.order[:0]
		for _, e := range f.order {
			if !seen[e.ID] {
				seen[e.ID] = true
				f.entries[e.ID] = e
				kept = append(kept, e)
			}
		}
		f.order = kept
	}
	return f
}

// parseIndexLine reads a line of format 1.
func parseIndexLine(line string, e *Entry) bool {
	id, rest, ok := strings.Cut(line, "\t")
	// The id is not checked further: an entry of format 1 is only ever
	// used for a name read from new/ or cur/ with the same id, never as
	// a path.
	return ok && id != "" && parseFields(id, rest, e)
}

// parseIndexLine2 reads a line of format 2: the file name (the id is
// its part before ":2,") and whether it is in new/, then the fields of
// format 1 after the id.
func parseIndexLine2(line string, e *Entry) bool {
	name, rest, ok1 := strings.Cut(line, "\t")
	isNew, rest, ok2 := strings.Cut(rest, "\t")
	id := nameID(name)
	if !ok1 || !ok2 || (isNew != "0" && isNew != "1") || id == "" || !parseFields(id, rest, e) {
		return false
	}
	e.Name, e.New = name, isNew == "1"
	return true
}

// parseFields reads "date size attach from subject to/cc" into e.
func parseFields(id, line string, e *Entry) bool {
	var f [6]string
	for i := 0; i < 5; i++ {
		j := strings.IndexByte(line, '\t')
		if j < 0 {
			return false
		}
		f[i], line = line[:j], line[j+1:]
	}
	f[5] = line
	if strings.IndexByte(f[5], '\t') >= 0 || (f[2] != "0" && f[2] != "1") {
		return false
	}
	date, err1 := strconv.ParseInt(f[0], 10, 64)
	size, err2 := strconv.ParseInt(f[1], 10, 64)
	if err1 != nil || err2 != nil || size < 0 {
		return false
	}
	*e = Entry{ID: id, Date: date, Size: size, Attach: f[2] == "1", From: f[3], Subject: f[4], ToCc: f[5]}
	return true
}

// writeIndexLater writes the index in the background, so that the list
// that found it stale answers without waiting for a file of megabytes
// and its fsync. stamps is stampsLine of the scan that made all. Writes
// are serialized; one that a newer snapshot has overtaken is skipped. A
// session that ends first loses the write, and the next session makes
// it again.
func (s *Store) writeIndexLater(path string, all []*Entry, stamps string) {
	s.wmu.Lock()
	if s.wgen == nil {
		s.wgen = map[string]uint64{}
		s.wrote = map[string]time.Time{}
	}
	s.wgen[path]++
	gen := s.wgen[path]
	s.wrote[path] = time.Now()
	s.wmu.Unlock()
	s.writes.Add(1)
	go func() {
		defer s.writes.Done()
		s.wlock.Lock()
		defer s.wlock.Unlock()
		s.wmu.Lock()
		latest := s.wgen[path] == gen
		s.wmu.Unlock()
		if !latest {
			return
		}
		es := slices.Clone(all)
		sortEntries(es, SortDate, false)
		// A failed write leaves the old index; it is rewritten when the
		// folder next changes, or by the next session.
		if writeIndex(path, es, stamps) == nil {
			s.noteOnDisk(path, stamps)
		}
	}()
}

// noteOnDisk records the stamps line of the index file at path, as read
// or written by this store.
func (s *Store) noteOnDisk(path, stamps string) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.onDisk == nil {
		s.onDisk = map[string]string{}
	}
	s.onDisk[path] = stamps
}

// indexRefresh bounds how often a folder whose messages stayed the same
// but whose names changed (flags: every message read) has its index
// rewritten so that it lists the current names: a write is megabytes.
var indexRefresh = time.Minute

// refreshDue says that the index at path should be rewritten for a
// stable scan with stamps: the file holds other stamps, and no write was
// started within indexRefresh.
func (s *Store) refreshDue(path, stamps string) bool {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.onDisk[path] != stamps && time.Since(s.wrote[path]) >= indexRefresh
}

// WaitIndex waits for the index writes under way (tests, benchmarks).
func (s *Store) WaitIndex() { s.writes.Wait() }

// writeIndex replaces the index file at path with entries and the
// header's stamps line.
func writeIndex(path string, entries []*Entry, stamps string) error {
	dir := filepath.Dir(path)
	removeStaleTemps(dir)
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
	for _, e := range entries {
		if strings.ContainsAny(e.Name, "\t\n\r") {
			stamps = "- -" // a name that cannot be written as it is: no listing
		}
	}
	w.WriteString(indexMagic2)
	w.WriteString(stamps)
	w.WriteByte('\n')
	for _, e := range entries {
		w.WriteString(field(e.Name))
		if e.New {
			w.WriteString("\t1\t")
		} else {
			w.WriteString("\t0\t")
		}
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

// staleTemp is when a temporary index file is surely one that a session
// that died (crash, kill) left behind rather than one being written.
const staleTemp = time.Hour

// removeStaleTemps removes the temporary index files of writes that
// never finished.
func removeStaleTemps(dir string) {
	old, _ := filepath.Glob(filepath.Join(dir, IndexFile+".tmp*"))
	for _, p := range old {
		if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() && time.Since(fi.ModTime()) > staleTemp {
			os.Remove(p)
		}
	}
}
