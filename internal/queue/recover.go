package queue

import (
	"fmt"
	"os"
	"sort"
)

// Recover brings the queue directory to a consistent state after a crash at
// any instant and returns the ids of the messages it holds. It runs at start,
// before the queue accepts anything. What each leftover means is in
// docs/queue.md; in short: a message exists once its envelope is in msg/,
// and nothing short of that was ever acknowledged.
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
	for _, e := range tmp {
		if err := os.Remove(l.Tmp(e.Name())); err != nil && !os.IsNotExist(err) {
			return nil, fmt.Errorf("recover: %w", err)
		}
		s.Log.Printf("recover: removed uncommitted tmp/%s", e.Name())
	}
	ents, err := os.ReadDir(l.MsgDir())
	if err != nil {
		return nil, fmt.Errorf("recover: %w", err)
	}
	type parts struct{ content, env, state bool }
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
		switch suf {
		case "":
			p.content = true
		case SufEnv:
			p.env = true
		case SufState:
			p.state = true
		}
	}
	var ids []string
	for id, p := range found {
		switch {
		case p.env && p.content:
			b, err := os.ReadFile(l.Env(id))
			if err == nil {
				_, err = UnmarshalEnvelope(b)
			}
			if err != nil {
				s.Log.Printf("alert: recover: msg %s: unreadable envelope (%v); moved to bad/", id, err)
				for _, name := range []string{id, id + SufEnv, id + SufState} {
					if err := os.Rename(l.MsgFile(name), l.Bad(name)); err != nil && !os.IsNotExist(err) {
						return nil, fmt.Errorf("recover: quarantine: %w", err)
					}
				}
				continue
			}
			ids = append(ids, id)
		case p.env:
			// Renames are content first, envelope second, and the reply waits
			// for the directory fsync: an envelope without content is a
			// commit that never completed, so no client saw 250 for it.
			s.Log.Printf("warning: recover: msg %s: envelope without content (crash during commit); removed", id)
			removeAll(l, id)
		default:
			// Content or state without envelope: a crash during commit or
			// during removal of a finished message.
			removeAll(l, id)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// removeAll deletes a message's files, the envelope (its existence) first.
func removeAll(l Layout, id string) error {
	var first error
	for _, p := range []string{l.Env(id), l.State(id), l.Content(id)} {
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) && first == nil {
			first = err
		}
	}
	return first
}
