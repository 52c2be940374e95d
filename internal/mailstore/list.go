package mailstore

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Sort keys of List.
const (
	SortDate    = "date"
	SortFrom    = "from"
	SortSubject = "subject"
	SortSize    = "size"
)

// ListOptions select and order a page of a folder's messages.
type ListOptions struct {
	Sort   string // SortDate (default), SortFrom, SortSubject, SortSize
	Asc    bool   // ascending; the default is descending (newest first)
	Offset int
	Limit  int // 0: all from Offset on
	// Query: words (split at white space) that must all appear,
	// case-insensitively, in From, To, Cc or Subject, or in the text of
	// the body (search.go; the first MaxSearchRead bytes of each message).
	Query string
}

// List returns the number of messages of folder that match opt.Query and
// the page opt selects. It reads the folder's directory names and its
// index (index.go), parsing the header of messages the index does not
// know yet; it moves nothing (a message in new/ stays there, unread,
// until SetFlags).
func (s *Store) List(folder string, opt ListOptions) (int, []*Entry, error) {
	if opt.Offset < 0 || opt.Limit < 0 {
		return 0, nil, fmt.Errorf("offset %d, limit %d: %w", opt.Offset, opt.Limit, ErrInvalid)
	}
	dir, err := s.Dir(folder)
	if err != nil {
		return 0, nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	idx, err := s.scan(folder, dir)
	if err != nil {
		return 0, nil, err
	}
	all := idx.order(opt.Sort, opt.Asc)
	if words := strings.Fields(strings.ToLower(opt.Query)); len(words) > 0 {
		all = s.search(dir, all, words) // keeps the order
	}
	total := len(all)
	if opt.Offset >= total {
		return total, nil, nil
	}
	page := all[opt.Offset:]
	if opt.Limit > 0 && len(page) > opt.Limit {
		page = page[:opt.Limit]
	}
	return total, slices.Clone(page), nil
}

// sortEntries orders by key, then by date, then by id, so that a page
// boundary is stable from one list to the next.
func sortEntries(es []*Entry, key string, asc bool) {
	var c func(a, b *Entry) int
	switch key {
	case SortFrom, SortSubject:
		for _, e := range es {
			e.setKeys()
		}
	}
	switch key {
	case SortFrom:
		c = func(a, b *Entry) int { return strings.Compare(a.fromKey, b.fromKey) }
	case SortSubject:
		c = func(a, b *Entry) int { return strings.Compare(a.subjKey, b.subjKey) }
	case SortSize:
		c = func(a, b *Entry) int { return cmp.Compare(a.Size, b.Size) }
	default:
		c = func(a, b *Entry) int { return 0 }
	}
	slices.SortFunc(es, func(a, b *Entry) int {
		r := c(a, b)
		if r == 0 {
			r = cmp.Compare(a.Date, b.Date)
		}
		if r == 0 {
			r = strings.Compare(a.ID, b.ID)
		}
		if !asc {
			r = -r
		}
		return r
	})
}
