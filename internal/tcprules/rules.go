// Package tcprules reads a tcpserver access rules file (the text that
// tcprules(1) of ucspi-tcp 0.88 compiles into /etc/tcp.smtp.cdb) and answers
// the question tcpserver asks for each connection: which rule applies to
// this client IP, may it connect, and which variables does it get
// (RELAYCLIENT, DATABYTES, RBLSMTPD, ...).
//
// A qmail site copies its /etc/tcp.smtp over unchanged, so the syntax is
// tcprules' own, plus the ucspi-tcp6 extensions (CIDR, IPv6). There is no
// cdb compile step: the text is parsed directly. Matching follows tcpserver's
// cdb lookup order (rules.c in ucspi-tcp): the client's exact IP first, then
// shorter and shorter prefixes, then the empty address that matches everyone.
// Rules keyed on a host name (=host) or on ident information (info@) are not
// supported because goqmail does no reverse DNS or ident lookups; they are
// dropped with a Warning rather than refused, so an existing file still loads.
package tcprules

import (
	"net/netip"
	"slices"
	"strconv"
)

// Var is one environment variable a rule sets, as in `,RELAYCLIENT=""`.
type Var struct{ Name, Value string }

// Rule is one accepted line of the rules file.
type Rule struct {
	// Allow is false for a deny rule: tcpserver drops such a client at once.
	Allow bool
	// Vars are the variables in file order. A deny rule's variables are
	// ignored by tcpserver, so they are validated and then discarded: Vars is
	// always empty when Allow is false.
	Vars []Var
	// Line is the 1-based line number in the file, for logs.
	Line int
	// Source is the address field as written ("" for the default rule).
	Source string
}

// Lookup returns the value of the variable name. When a rule sets the same
// name twice the last one wins, because tcpserver sets them into the
// environment in order and the later assignment overwrites the earlier.
func (r Rule) Lookup(name string) (value string, ok bool) {
	for i := len(r.Vars) - 1; i >= 0; i-- {
		if r.Vars[i].Name == name {
			return r.Vars[i].Value, true
		}
	}
	return "", false
}

// Warning reports a rule that is valid tcprules syntax but can never match
// in goqmail, and was therefore left out.
type Warning struct {
	Line int
	Text string
}

func (w Warning) String() string { return "line " + strconv.Itoa(w.Line) + ": " + w.Text }

// Rules is a parsed rules file. It is immutable after Parse, so Lookup may
// be called from any number of goroutines.
type Rules struct {
	rules []Rule // accepted rules in file order; the maps index into it

	// tcprules stores one cdb key per address (a range becomes one key per
	// member) and tcpserver's cdb_find returns the first record stored under
	// a key. The maps mirror that: the first rule to claim a key keeps it.
	exact  map[netip.Addr]int
	prefix map[netip.Prefix]int // keys are masked; IPv4 prefixes are 4-byte
	lens4  []int                // prefix lengths present, longest first
	lens6  []int
	dflt   int // index of the empty-address rule, or -1
}

func newRules() *Rules {
	return &Rules{
		exact:  make(map[netip.Addr]int),
		prefix: make(map[netip.Prefix]int),
		dflt:   -1,
	}
}

// Lookup returns the rule that applies to ip, and false if none matches
// (tcpserver then allows the connection with no variables; the caller does
// that). The order is tcpserver's: an exact address (or range member), then
// the longest matching prefix, dotted (`10.`) and CIDR alike, then the empty
// address. An exact address beats a /32 or /128 CIDR, as in ucspi-tcp6,
// which looks CIDR keys up after the exact IP.
//
// IPv4-mapped IPv6 addresses (::ffff:1.2.3.4, as a dual-stack listener
// reports IPv4 clients) are matched as IPv4. A zone is ignored.
func (rs *Rules) Lookup(ip netip.Addr) (Rule, bool) {
	if rs == nil || !ip.IsValid() {
		return Rule{}, false
	}
	ip = ip.Unmap().WithZone("")
	if i, ok := rs.exact[ip]; ok {
		return rs.rule(i), true
	}
	lens := rs.lens6
	if ip.Is4() {
		lens = rs.lens4
	}
	for _, bits := range lens {
		p, err := ip.Prefix(bits)
		if err != nil {
			continue // cannot happen: lens only holds lengths valid for the family
		}
		if i, ok := rs.prefix[p]; ok {
			return rs.rule(i), true
		}
	}
	if rs.dflt >= 0 {
		return rs.rule(rs.dflt), true
	}
	return Rule{}, false
}

// rule returns a copy whose Vars the caller may modify without racing other
// connections that share rs.
func (rs *Rules) rule(i int) Rule {
	r := rs.rules[i]
	r.Vars = slices.Clone(r.Vars)
	return r
}

// All returns the accepted rules in file order (for listing and tests).
func (rs *Rules) All() []Rule {
	out := make([]Rule, len(rs.rules))
	for i := range rs.rules {
		out[i] = rs.rule(i)
	}
	return out
}

// add indexes r under its keys. Keys already claimed by an earlier rule stay
// with that rule. If r claims no key at all it can never match; add then
// returns the line of a rule that shadows it and leaves r out.
func (rs *Rules) add(r Rule, k keys) (shadowedBy int, added bool) {
	idx := len(rs.rules)
	claimed := 0
	claim := func(prev int, taken bool) {
		if taken {
			if shadowedBy == 0 {
				shadowedBy = rs.rules[prev].Line
			}
			return
		}
		claimed++
	}
	if k.any {
		claim(rs.dflt, rs.dflt >= 0)
		if rs.dflt < 0 {
			rs.dflt = idx
		}
	}
	for _, a := range k.exact {
		prev, taken := rs.exact[a]
		claim(prev, taken)
		if !taken {
			rs.exact[a] = idx
		}
	}
	for _, p := range k.prefixes {
		prev, taken := rs.prefix[p]
		claim(prev, taken)
		if !taken {
			rs.prefix[p] = idx
			rs.addLen(p)
		}
	}
	if claimed == 0 {
		return shadowedBy, false
	}
	rs.rules = append(rs.rules, r)
	return 0, true
}

func (rs *Rules) addLen(p netip.Prefix) {
	lens := &rs.lens6
	if p.Addr().Is4() {
		lens = &rs.lens4
	}
	if slices.Contains(*lens, p.Bits()) {
		return
	}
	*lens = append(*lens, p.Bits())
	slices.SortFunc(*lens, func(a, b int) int { return b - a })
}
