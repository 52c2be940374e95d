package queue

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"syscall"

	"goqmail/internal/dirsync"
	"goqmail/internal/durable"
)

// links is a file's hard link count.
func links(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 1
}

// Recover brings the queue directory to a consistent state after a crash at
// any instant, fills the index of the messages it holds and returns their
// ids. It runs at start,
// before the queue accepts anything. What each leftover means is in
// docs/queue.md; in short: a message exists once its file is in msg/, and
// nothing short of that was ever acknowledged.
func (s *Server) Recover() ([]string, error) {
	l := s.Layout
	if err := l.Make(); err != nil {
		return nil, err
	}
	// tmp/ holds only submissions that never committed: no client got 250.
	tmp, err := os.ReadDir(l.TmpDir())
	if err != nil {
		return nil, fmt.Errorf("recover: %w", err)
	}
	if err := s.loadFree(); err != nil {
		return nil, err
	}
	for _, e := range tmp {
		var size int64
		if info, err := e.Info(); err == nil {
			size = info.Size()
			if links(info) > 1 {
				// Another name (msg/) shares this file: never reuse it.
				os.Remove(l.Tmp(e.Name()))
				s.Log.Printf("recover: dropped uncommitted tmp/%s (a second name of a queued file)", e.Name())
				continue
			}
		}
		if err := s.recycle(l.Tmp(e.Name()), size); err != nil {
			return nil, fmt.Errorf("recover: %w", err)
		}
		s.Log.Printf("recover: dropped uncommitted tmp/%s", e.Name())
	}
	if err := s.recoverJournal(); err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(l.MsgDir())
	if err != nil {
		return nil, fmt.Errorf("recover: %w", err)
	}
	type parts struct{ msg, state bool }
	found := map[string]*parts{}
	for _, e := range ents {
		id, suf, ok := SplitName(e.Name())
		if !ok {
			s.Log.Printf("warning: recover: unexpected file msg/%s left alone", e.Name())
			continue
		}
		p := found[id]
		if p == nil {
			p = &parts{}
			found[id] = p
		}
		if suf == "" {
			p.msg = true
		} else {
			p.state = true
		}
	}
	var ids []string
	s.ids = make(map[string]int64, len(found))
	s.withState = map[string]bool{}
	for id, p := range found {
		if !p.msg {
			// A state log without its message: a crash while removing a
			// finished message (the message file goes first).
			os.Remove(l.State(id))
			continue
		}
		env, err := ReadEnvelope(l.Msg(id))
		if err == nil {
			err = verifyFile(l.Msg(id), id)
		}
		if errors.Is(err, ErrStale) && s.staleName(id, err) {
			continue
		}
		if err != nil {
			hint := ""
			if errors.Is(err, ErrStale) {
				// The usual cause is harmless; say so, but keep the file:
				// recovery cannot prove it.
				hint = "; most likely msg " + id + " was finished before a power loss and its file reused, and the power loss undid the removal of its name"
			}
			s.Log.Printf("alert: recover: msg %s: unreadable (%v); moved to bad/ for the admin, never delivered%s", id, err, hint)
			for _, name := range []string{id, id + SufState} {
				if err := os.Rename(l.Msg(name), l.Bad(name)); err != nil && !os.IsNotExist(err) {
					return nil, fmt.Errorf("recover: quarantine: %w", err)
				}
			}
			continue
		}
		ids = append(ids, id)
		s.ids[id] = env.FileSize
		s.withState[id] = p.state
	}
	sort.Strings(ids)
	return ids, nil
}

// verifyFile checks that msg/ID is the whole message ID (Verify).
func verifyFile(path, id string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	return Verify(f, id, st.Size())
}

// staleName handles msg/ID that holds another message: a file finished,
// renamed to free/ and reused for a new message, whose old name came back
// after a power loss because that rename never reached the disk. If the
// new message's own name is the same file, this name is only an extra
// link and goes; otherwise it is not handled here (the caller moves it to
// bad/). It reports whether it removed the name.
func (s *Server) staleName(id string, why error) bool {
	l := s.Layout
	owner := ""
	if f, err := os.Open(l.Msg(id)); err == nil {
		if st, err := f.Stat(); err == nil {
			if h, err := readHeader(f, st.Size()); err == nil {
				owner = h.id
			}
		}
		f.Close()
	}
	if _, _, ok := SplitName(owner); !ok || owner == id {
		return false
	}
	a, err1 := os.Stat(l.Msg(id))
	b, err2 := os.Stat(l.Msg(owner))
	if err1 != nil || err2 != nil || !os.SameFile(a, b) {
		return false
	}
	os.Remove(l.Msg(id))
	os.Remove(l.State(id))
	s.Log.Printf("recover: msg/%s was an old name of the file that now holds msg %s (%v); removed", id, owner, why)
	return true
}

// recoverJournal applies the queue journal (journal.go) before the scan of
// msg/: every message it recorded and did not see finished is put back in
// msg/ unless msg/ID already holds it whole, and the names of messages it
// saw finished are removed (a power loss kept the name; the message was
// delivered or deleted). Then each recorded message still queued is made
// durable on its own (after a kill -9 its file may be only in the page
// cache) and the journal is emptied. A queue that runs in another
// syncmode still applies a journal left by an earlier run.
func (s *Server) recoverJournal() error {
	l := s.Layout
	want := s.Durable.Mode == durable.Journal
	if !want {
		if _, err := os.Stat(l.JournalDir()); os.IsNotExist(err) {
			return nil
		}
	}
	segSize := s.JournalSegSize
	if segSize <= 0 {
		segSize = JournalSegmentSize
	}
	j, recs, err := openJournal(l.JournalDir(), segSize, want)
	if err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	r := replay(recs)
	if r.bad > 0 {
		s.Log.Printf("warning: recover: queue journal: %d message records do not verify; ignored", r.bad)
	}
	ids := make([]string, 0, len(r.live))
	for id := range r.live {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	restored, finished := 0, 0
	for _, id := range ids {
		why := verifyFile(l.Msg(id), id)
		if why == nil {
			continue
		}
		if err := s.restore(id, r.live[id]); err != nil {
			j.close()
			return fmt.Errorf("recover: msg %s: put back from the queue journal: %w", id, err)
		}
		restored++
		s.Log.Printf("recover: msg %s put back from the queue journal (msg/%s: %v)", id, id, why)
	}
	for id := range r.done {
		if _, err := os.Lstat(l.Msg(id)); err != nil {
			continue
		}
		os.Remove(l.Msg(id))
		os.Remove(l.State(id))
		finished++
		s.Log.Printf("recover: msg/%s removed: the queue journal says that message was finished before the power loss", id)
	}
	if err := s.syncMessages(ids); err != nil {
		j.close()
		return fmt.Errorf("recover: %w", err)
	}
	// The removals must be durable before the journal that records them
	// is emptied (syncMessages fsyncs msg/ only when it has messages).
	if len(ids) == 0 && finished > 0 {
		if err := dirsync.Dir(l.MsgDir()); err != nil {
			j.close()
			return fmt.Errorf("recover: %w", err)
		}
	}
	if len(recs) > 0 {
		s.Log.Printf("recover: queue journal: %d queued messages recorded (%d put back), %d finished messages' names removed", len(ids), restored, finished)
	}
	if !want {
		// Another syncmode: the journal goes, durably, before anything
		// is finished without a record of it.
		j.close()
		for i := range j.files {
			if err := os.Remove(j.segPath(i)); err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("recover: queue journal: %w", err)
			}
		}
		if err := dirsync.Dir(l.JournalDir()); err != nil {
			return fmt.Errorf("recover: queue journal: %w", err)
		}
		return nil
	}
	if err := j.reset(r.maxSeq); err != nil {
		j.close()
		if len(recs) > 0 {
			// Its records must not be read again after what follows
			// (finished messages would come back): fail closed.
			return fmt.Errorf("recover: %w", err)
		}
		// A journal that held nothing and cannot be made (a full disk: it
		// needs 64 MB): run without it rather than not at all.
		for i := range j.files {
			os.Remove(j.segPath(i))
		}
		s.Log.Printf("alert: %v; committing each message with its own fsync (syncmode fsync) until the queue restarts", err)
		return nil
	}
	j.retire = s.syncMessages
	j.image = s.readImage
	j.logf = s.Log.Printf
	s.journal = j
	return nil
}

// restore writes a message file from its journal image: a new file,
// fsynced, renamed over whatever msg/ID was (missing, torn, or an old name
// of a reused file; the rename drops only that name).
func (s *Server) restore(id string, img []byte) error {
	tmp := s.Layout.Tmp(id)
	os.Remove(tmp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o640)
	if err != nil {
		return err
	}
	_, err = f.Write(img)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.Layout.Msg(id))
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// syncMessages makes queued messages durable on their own: an fsync of
// each msg/ID that still exists (a few at a time), then of msg/. The
// journal calls it before it reuses a segment that recorded them.
func (s *Server) syncMessages(ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  = make(chan string)
	)
	for w := 0; w < min(8, len(ids)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range next {
				f, err := os.Open(s.Layout.Msg(id))
				if os.IsNotExist(err) {
					continue // finished meanwhile
				}
				if err == nil {
					err = f.Sync()
					f.Close()
				}
				if err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("msg %s: %w", id, err)
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, id := range ids {
		next <- id
	}
	close(next)
	wg.Wait()
	if first != nil {
		return first
	}
	return dirsync.Dir(s.Layout.MsgDir())
}

// readImage reads msg/ID whole and checks that it is message id's.
func (s *Server) readImage(id string) ([]byte, error) {
	b, err := os.ReadFile(s.Layout.Msg(id))
	if err != nil {
		return nil, err
	}
	if err := Verify(bytes.NewReader(b), id, int64(len(b))); err != nil {
		return nil, err
	}
	return b, nil
}
