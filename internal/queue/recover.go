package queue

import (
	"fmt"
	"os"
	"sort"
)

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
		}
		if err := s.recycle(l.Tmp(e.Name()), size); err != nil {
			return nil, fmt.Errorf("recover: %w", err)
		}
		s.Log.Printf("recover: dropped uncommitted tmp/%s", e.Name())
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
		if err != nil {
			s.Log.Printf("alert: recover: msg %s: unreadable (%v); moved to bad/ for the admin", id, err)
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
