package inject

import (
	"fmt"
	"strings"
)

// This file finds the addr-specs in an RFC 5322 3.4 address list and
// completes them in place, as qmail-inject's token rewriting does
// (rwnoat: no '@' gets "@defaulthost"; rwnodot: a host without a dot gets
// ".defaultdomain"), but without reformatting the field: the edits are
// insertions at byte offsets, so comments, display names, folding and
// spacing stay exactly as written. The caller then checks the result with
// net/mail, which decides what the addresses are.

// tokKind classifies the lexical tokens of RFC 5322 3.2 that matter here;
// white space, folding and comments are skipped.
type tokKind uint8

const (
	tAtom    tokKind = iota // atext and '.', and 8-bit bytes (RFC 6532)
	tQuoted                 // "..." with its quotes
	tLiteral                // [...] with its brackets
	tSpecial                // one of < > @ , ; :
)

type token struct {
	kind       tokKind
	start, end int // byte offsets in the value
}

// errList is the parse failure of an address list; the field is then left
// as it is.
const errList Error = "not an address list this program understands"

func lexList(v []byte) ([]token, error) {
	var toks []token
	for i := 0; i < len(v); {
		c := v[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			end, err := skipComment(v, i)
			if err != nil {
				return nil, err
			}
			i = end
		case c == '"' || c == '[':
			closing := byte('"')
			kind := tQuoted
			if c == '[' {
				closing, kind = ']', tLiteral
			}
			end, err := skipDelimited(v, i, closing)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind, i, end})
			i = end
		case strings.IndexByte("<>@,;:", c) >= 0:
			toks = append(toks, token{tSpecial, i, i + 1})
			i++
		case isAtomByte(c):
			j := i
			for j < len(v) && isAtomByte(v[j]) {
				j++
			}
			toks = append(toks, token{tAtom, i, j})
			i = j
		default:
			return nil, fmt.Errorf("%w: unexpected %q at offset %d", errList, c, i)
		}
	}
	return toks, nil
}

func isAtomByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c >= 0x80:
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~.", c) >= 0
}

// skipComment returns the offset after the comment starting at v[i] ('('),
// which may nest and may hold quoted-pairs (RFC 5322 3.2.2).
func skipComment(v []byte, i int) (int, error) {
	depth := 0
	for ; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i + 1, nil
			}
		}
	}
	return 0, fmt.Errorf("%w: unterminated comment", errList)
}

// skipDelimited returns the offset after a quoted string or domain literal
// starting at v[i], honouring quoted-pairs.
func skipDelimited(v []byte, i int, closing byte) (int, error) {
	for i++; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case closing:
			return i + 1, nil
		}
	}
	return 0, fmt.Errorf("%w: unterminated %q", errList, closing)
}

// insertion is text to insert at an offset of the value.
type insertion struct {
	at   int
	text string
}

// listParser walks the tokens of one address list and collects insertions.
type listParser struct {
	v      []byte
	toks   []token
	i      int
	noHost string // inserted after a local part without '@'
	noDot  string // inserted after a domain without a dot
	ins    []insertion
}

// completeList returns v with every address completed, and whether
// anything changed.
func completeList(v []byte, noHost, noDot string) ([]byte, bool, error) {
	toks, err := lexList(v)
	if err != nil {
		return nil, false, err
	}
	p := &listParser{v: v, toks: toks, noHost: noHost, noDot: noDot}
	if err := p.list(); err != nil {
		return nil, false, err
	}
	if len(p.ins) == 0 {
		return v, false, nil
	}
	out := make([]byte, 0, len(v)+len(p.ins)*len(noHost))
	prev := 0
	for _, in := range p.ins {
		out = append(out, v[prev:in.at]...)
		out = append(out, in.text...)
		prev = in.at
	}
	return append(out, v[prev:]...), true, nil
}

func (p *listParser) is(c byte) bool {
	return p.i < len(p.toks) && p.toks[p.i].kind == tSpecial && p.v[p.toks[p.i].start] == c
}

func (p *listParser) fail(what string) error {
	if p.i < len(p.toks) {
		return fmt.Errorf("%w: %s at offset %d", errList, what, p.toks[p.i].start)
	}
	return fmt.Errorf("%w: %s at the end", errList, what)
}

// list: address *("," address), with the empty elements of RFC 5322 4.4.
func (p *listParser) list() error {
	for p.i < len(p.toks) {
		if p.is(',') {
			p.i++
			continue
		}
		if err := p.address(); err != nil {
			return err
		}
		if p.i < len(p.toks) && !p.is(',') {
			return p.fail("expected ','")
		}
	}
	return nil
}

// address: a group when a ':' comes before any other special, else a mailbox.
func (p *listParser) address() error {
	for j := p.i; j < len(p.toks); j++ {
		if p.toks[j].kind != tSpecial {
			continue
		}
		if p.v[p.toks[j].start] == ':' {
			p.i = j + 1
			return p.groupBody()
		}
		break
	}
	return p.mailbox()
}

// groupBody: [mailbox *("," mailbox)] ";" after "display-name :".
func (p *listParser) groupBody() error {
	for {
		switch {
		case p.i >= len(p.toks):
			return p.fail("group without ';'")
		case p.is(';'):
			p.i++
			return nil
		case p.is(','):
			p.i++
		default:
			if err := p.mailbox(); err != nil {
				return err
			}
			if !p.is(',') && !p.is(';') {
				return p.fail("expected ',' or ';' in group")
			}
		}
	}
}

// mailbox: name-addr when a '<' comes before any other special, else addr-spec.
func (p *listParser) mailbox() error {
	for j := p.i; j < len(p.toks); j++ {
		if p.toks[j].kind != tSpecial {
			continue
		}
		if p.v[p.toks[j].start] == '<' {
			p.i = j + 1
			return p.angleAddr()
		}
		break
	}
	return p.addrSpec()
}

// angleAddr: the part after '<': "" (the null address), an obsolete route
// "@a,@b:" (RFC 5322 4.4) and an addr-spec, then '>'.
func (p *listParser) angleAddr() error {
	if p.is('>') {
		p.i++
		return nil
	}
	if p.is('@') {
		for p.i < len(p.toks) && !p.is(':') {
			if p.is('>') {
				return p.fail("bad route")
			}
			p.i++
		}
		if p.i >= len(p.toks) {
			return p.fail("bad route")
		}
		p.i++
	}
	if err := p.addrSpec(); err != nil {
		return err
	}
	if !p.is('>') {
		return p.fail("expected '>'")
	}
	p.i++
	return nil
}

// addrSpec: local-part ["@" domain]; the '@' and domain are what gets
// completed when missing.
func (p *listParser) addrSpec() error {
	if _, err := p.dotJoined(true); err != nil {
		return err
	}
	if !p.is('@') {
		if p.noHost != "" {
			p.ins = append(p.ins, insertion{p.toks[p.i-1].end, p.noHost})
		}
		return nil
	}
	p.i++
	if p.i < len(p.toks) && p.toks[p.i].kind == tLiteral {
		p.i++
		return nil
	}
	hasDot, err := p.dotJoined(false)
	if err != nil {
		return err
	}
	if !hasDot && p.noDot != "" {
		p.ins = append(p.ins, insertion{p.toks[p.i-1].end, p.noDot})
	}
	return nil
}

// dotJoined consumes words joined by dots (RFC 5322 dot-atom, or the
// obsolete local-part of words with CFWS around the dots) and reports
// whether an atom held a dot. Two words not joined by a dot ("Joe Smith"
// without angle brackets) are a syntax error, not an address.
func (p *listParser) dotJoined(quotedOK bool) (bool, error) {
	hasDot := false
	n := 0
	for p.i < len(p.toks) {
		t := p.toks[p.i]
		if t.kind != tAtom && !(quotedOK && t.kind == tQuoted) {
			break
		}
		if n > 0 && p.v[p.toks[p.i-1].end-1] != '.' && p.v[t.start] != '.' {
			return false, p.fail("words without '.' between them")
		}
		if t.kind == tAtom && strings.IndexByte(string(p.v[t.start:t.end]), '.') >= 0 {
			hasDot = true
		}
		p.i++
		n++
	}
	if n == 0 {
		return false, p.fail("expected an address")
	}
	return hasDot, nil
}
