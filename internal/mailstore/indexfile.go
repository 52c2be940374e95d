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

// loadIndex reads an index file; anything it cannot read is simply not
// in the index (and will be parsed again). The fields are substrings of
// one string holding the file, and the entries one allocation: a
// 100,000-message index loads in tens of milliseconds.
func loadIndex(path string) (map[string]*Entry, []*Entry) {
	b, err := os.ReadFile(path)
	if err != nil || !bytes.HasPrefix(b, []byte(indexHeader)) {
		return map[string]*Entry{}, nil
	}
	text := string(b[len(indexHeader):])
	n := strings.Count(text, "\n")
	out := make(map[string]*Entry, n)
	order := make([]*Entry, 0, n)
	es := make([]Entry, n)
	i := 0
	for i < n {
		j := strings.IndexByte(text, '\n')
		if j < 0 {
			break // a last line without its newline is cut short: drop it
		}
		if parseIndexLine(text[:j], &es[i]) {
			if _, dup := out[es[i].ID]; !dup {
				out[es[i].ID] = &es[i]
				order = append(order, &es[i])
			}
			i++
		}
		text = text[j+1:]
	}
	return out, order
}

func parseIndexLine(line string, e *Entry) bool {
	var f [7]string
	for i := 0; i < 6; i++ {
		j := strings.IndexByte(line, '\t')
		if j < 0 {
			return false
		}
		f[i], line = line[:j], line[j+1:]
	}
	f[6] = line
	// The id is not checked further: an entry is only ever used for a
	// name read from new/ or cur/ with the same id, never as a path.
	if f[0] == "" || strings.IndexByte(f[6], '\t') >= 0 || (f[3] != "0" && f[3] != "1") {
		return false
	}
	date, err1 := strconv.ParseInt(f[1], 10, 64)
	size, err2 := strconv.ParseInt(f[2], 10, 64)
	if err1 != nil || err2 != nil || size < 0 {
		return false
	}
	*e = Entry{ID: f[0], Date: date, Size: size, Attach: f[3] == "1", From: f[4], Subject: f[5], ToCc: f[6]}
	return true
}

// writeIndexLater writes the index in the background, so that the list
// that found it stale answers without waiting for a file of megabytes
// and its fsync. Writes are serialized; one that a newer snapshot has
// overtaken is skipped. A session that ends first loses the write, and
// the next session makes it again.
func (s *Store) writeIndexLater(path string, all []*Entry) {
	s.wmu.Lock()
	if s.wgen == nil {
		s.wgen = map[string]uint64{}
	}
	s.wgen[path]++
	gen := s.wgen[path]
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
		_ = writeIndex(path, es)
	}()
}

// WaitIndex waits for the index writes under way (tests, benchmarks).
func (s *Store) WaitIndex() { s.writes.Wait() }

// writeIndex replaces the index file at path with entries.
func writeIndex(path string, entries []*Entry) error {
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
