package control

import "strings"

// DomainSet matches domains the way qmail's rcpthosts does: an entry `host`
// matches exactly, an entry `.host` matches any subdomain of host (not host
// itself), all ASCII case-insensitive (qmail constmap).
type DomainSet struct {
	exact  map[string]bool
	suffix []string // with leading dot
}

// NewDomainSet builds a set from list entries.
func NewDomainSet(entries []string) *DomainSet {
	d := &DomainSet{exact: make(map[string]bool, len(entries))}
	for _, e := range entries {
		e = strings.ToLower(strings.TrimSpace(e))
		if e == "" {
			continue
		}
		if e[0] == '.' {
			d.suffix = append(d.suffix, e)
		} else {
			d.exact[e] = true
		}
	}
	return d
}

// Exact reports whether domain is listed itself (locals semantics).
func (d *DomainSet) Exact(domain string) bool { return d.exact[strings.ToLower(domain)] }

// Match reports whether domain is listed itself or under a `.suffix` entry.
func (d *DomainSet) Match(domain string) bool {
	domain = strings.ToLower(domain)
	if domain == "" {
		return false
	}
	if d.exact[domain] {
		return true
	}
	for _, s := range d.suffix {
		if strings.HasSuffix(domain, s) {
			return true
		}
	}
	return false
}

// Len returns the number of entries.
func (d *DomainSet) Len() int { return len(d.exact) + len(d.suffix) }
