package aliases

import (
	"sort"
	"strings"
)

// Table is a parsed aliases file. It is never modified after Parse or Load
// return it, so concurrent Lookups are safe. A nil *Table holds no alias.
type Table struct {
	aliases map[string][]entry // lower(name) -> targets, :include: already read
}

// Len is the number of aliases defined.
func (t *Table) Len() int {
	if t == nil {
		return 0
	}
	return len(t.aliases)
}

// Names lists the defined alias names, lowercased and sorted (for
// "goqmail check"-style listings).
func (t *Table) Names() []string {
	if t == nil {
		return nil
	}
	names := make([]string, 0, len(t.aliases))
	for n := range t.aliases {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Lookup expands the alias local (case-insensitively) into its final
// targets; ok is false when local is not an alias.
//
// Expansion follows sendmail: an Address target without '@' that names
// another alias is replaced by that alias's targets, recursively; a bare
// name that is no alias stays an Address without a domain for the caller
// to complete, as does "\name" (which is never expanded). name@host is
// never expanded here, even when host is local: the caller routes it.
//
// Loops cannot cause repeated deliveries: an alias that lists itself
// (john: \john or john: john, ...) delivers to the local name, as
// sendmail's self-reference rule does; an alias met again further down its
// own expansion (a: b and b: a) contributes nothing more, and each alias is
// expanded at most once per Lookup, which also bounds the work by the size
// of the table. Beyond 20 levels of nesting, deeper aliases are dropped.
//
// The result is deduplicated in first-seen order (addresses compared
// case-insensitively, programs and files exactly) and holds at most 10000
// targets. ok may be true with no targets when an alias only leads back
// into a loop; the caller should bounce that as a loop.
func (t *Table) Lookup(local string) (targets []Target, ok bool) {
	if t == nil {
		return nil, false
	}
	key := strings.ToLower(local)
	ents, ok := t.aliases[key]
	if !ok {
		return nil, false
	}
	x := expander{table: t, seen: map[Target]bool{}, expanded: map[string]bool{}}
	x.expand(key, ents, 1)
	return x.out, true
}

type expander struct {
	table    *Table
	out      []Target
	seen     map[Target]bool // dedup keys: addresses lowercased
	expanded map[string]bool // aliases already expanded in this Lookup
}

func (x *expander) expand(name string, ents []entry, depth int) {
	x.expanded[name] = true
	for _, e := range ents {
		if len(x.out) >= maxTargets {
			return
		}
		if e.Kind == Address && !e.noExpand && !strings.Contains(e.Value, "@") {
			sub := strings.ToLower(e.Value)
			if sub == name {
				x.add(e.Target) // self-reference: deliver to the local user
				continue
			}
			if subEnts, isAlias := x.table.aliases[sub]; isAlias {
				if !x.expanded[sub] && depth < maxExpandDepth {
					x.expand(sub, subEnts, depth+1)
				}
				continue
			}
		}
		x.add(e.Target)
	}
}

func (x *expander) add(t Target) {
	key := t
	if t.Kind == Address {
		key.Value = strings.ToLower(t.Value)
	}
	if x.seen[key] {
		return
	}
	x.seen[key] = true
	x.out = append(x.out, t)
}
