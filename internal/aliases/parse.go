package aliases

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
)

// Parse reads an aliases file (sendmail's aliases(5), as qmail's
// newaliases/setforward accept it):
//
//	# comment
//	name: target, target,
//	    target          (a line starting with blanks continues the entry)
//	other: target, \   (so does a backslash at the end of a line)
//	    target
//
// Names are case-insensitive and may not contain blanks, '@', '"' or ','.
// Targets are "|program" or "\"|program args\"" (Program), "/path" (File),
// ":include:/path" (the targets listed in that file, one list per line,
// read now), "\name" (Address, never expanded further), name or name@host
// (Address). Comment and blank lines may sit between continuation lines
// (Postfix reads them so); a line starting with blanks with no entry before
// it is an error.
//
// Parse is tolerant, as an alias database build must be so that one typo
// does not take every alias down: a bad target is reported and left out of
// its list; an entry that is malformed, has no valid target, or repeats an
// earlier name (the first one wins) is reported and left out. An :include:
// that cannot be read is reported and skipped; if nothing else remains the
// alias is left out, so that mail to it is not silently discarded. Errors
// name the line where an entry starts. The returned Table is never nil.
func Parse(r io.Reader) (*Table, []error) {
	p := &parser{deps: map[string]fileID{}}
	t := p.parseAliases(r, "")
	return t, p.errs
}

// parser holds what one Parse collects besides the table: errors and the
// identity of every include file read, which Load's cache checks.
type parser struct {
	errs   []error
	deps   map[string]fileID
	opened int
}

func (p *parser) report(file string, line int, err error) {
	p.errs = append(p.errs, &LineError{File: file, Line: line, Err: err})
}

// logical is one alias entry being assembled from its physical lines.
type logical struct {
	line int // where it starts
	text strings.Builder
	bad  bool // already reported; drop it
}

func (p *parser) parseAliases(r io.Reader, file string) *Table {
	t := &Table{aliases: map[string][]entry{}}
	defined := map[string]int{} // name -> line of its first definition
	var cur *logical
	flush := func() {
		if cur != nil && !cur.bad {
			p.addEntry(t, defined, file, cur.line, cur.text.String())
		}
		cur = nil
	}
	add := func(s string) {
		if cur.text.Len()+len(s) > maxEntryLen {
			if !cur.bad {
				p.report(file, cur.line, fmt.Errorf("%w: entry longer than %d bytes", ErrLimit, maxEntryLen))
			}
			cur.bad = true
			return
		}
		cur.text.WriteString(s)
	}
	joining := false // the previous line ended in a backslash
	lr := newLineReader(r)
	for {
		line, tooLong, err := lr.next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				p.report(file, lr.n+1, fmt.Errorf("read: %w", err))
			}
			break
		}
		n := lr.n
		continued := joining || (line != "" && isBlank(line[0]))
		if tooLong {
			p.report(file, n, fmt.Errorf("%w: line longer than %d bytes", ErrLimit, maxLineLen))
			if !continued || cur == nil {
				flush()
				cur = &logical{line: n}
			}
			cur.bad, joining = true, false
			continue
		}
		if !joining {
			trimmed := strings.TrimLeft(line, " \t")
			if trimmed == "" || trimmed[0] == '#' {
				continue
			}
		}
		switch {
		case continued && cur == nil:
			p.report(file, n, fmt.Errorf("%w: continuation line without an alias before it", ErrSyntax))
			cur = &logical{line: n, bad: true} // swallow the lines that follow it
		case !continued:
			flush()
			cur = &logical{line: n}
		}
		joining = strings.HasSuffix(line, "\\")
		if joining {
			line = line[:len(line)-1]
		}
		add(line)
	}
	flush()
	return t
}

// addEntry parses "name: targets" and stores it unless something is wrong.
func (p *parser) addEntry(t *Table, defined map[string]int, file string, n int, text string) {
	if c, bad := badControl(text, true); bad {
		p.report(file, n, fmt.Errorf("%w: control character %#02x", ErrSyntax, c))
		return
	}
	colon := strings.IndexByte(text, ':')
	if colon < 0 {
		p.report(file, n, fmt.Errorf("%w: no ':' after the alias name", ErrSyntax))
		return
	}
	name := strings.TrimRight(text[:colon], " \t")
	if err := checkName(name); err != nil {
		p.report(file, n, err)
		return
	}
	key := strings.ToLower(name)
	if first, dup := defined[key]; dup {
		p.report(file, n, fmt.Errorf("%w: %q is already defined at line %d; the first one wins", ErrDuplicate, name, first))
		return
	}
	defined[key] = n
	ents, errs := splitTargets(text[colon+1:], true)
	for _, err := range errs {
		p.report(file, n, err)
	}
	targets := p.expandIncludes(ents, file, n, 0, nil)
	if len(targets) == 0 {
		p.report(file, n, fmt.Errorf("%w: %q", ErrEmpty, name))
		return
	}
	t.aliases[key] = targets
}

// checkName accepts what sendmail accepts as an alias name, minus what
// cannot be a local part.
func checkName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty alias name", ErrSyntax)
	}
	if strings.ContainsAny(name, " \t@\",") {
		return fmt.Errorf("%w: invalid alias name %q", ErrSyntax, name)
	}
	return nil
}

// expandIncludes replaces :include: entries by the targets of their files;
// depth is how deep the list holding ents is nested in includes.
func (p *parser) expandIncludes(ents []entry, file string, n, depth int, stack []string) []entry {
	var out []entry
	for _, e := range ents {
		if e.include == "" {
			out = append(out, e)
		} else {
			out = append(out, p.include(e.include, file, n, depth+1, stack)...)
		}
		if len(out) > maxTargets {
			p.report(file, n, fmt.Errorf("%w: more than %d targets; the rest are ignored", ErrLimit, maxTargets))
			return out[:maxTargets]
		}
	}
	return out
}

// include reads an :include: file: like a .forward, one target list per
// line, '#' comment lines, blank lines; includes may nest.
func (p *parser) include(path, file string, n, depth int, stack []string) []entry {
	path = filepath.Clean(path)
	if depth > maxIncludeDepth {
		p.report(file, n, fmt.Errorf("%w: %s: nested more than %d deep", ErrInclude, path, maxIncludeDepth))
		return nil
	}
	if slices.Contains(stack, path) {
		p.report(file, n, fmt.Errorf("%w: %s: include loop", ErrInclude, path))
		return nil
	}
	data, err := p.readInclude(path)
	if err != nil {
		p.report(file, n, fmt.Errorf("%w: %w", ErrInclude, err))
		return nil
	}
	stack = append(slices.Clip(stack), path)
	var out []entry
	lr := newLineReader(bytes.NewReader(data))
	for len(out) <= maxTargets {
		line, tooLong, err := lr.next()
		if err != nil {
			break
		}
		if tooLong {
			p.report(path, lr.n, fmt.Errorf("%w: line longer than %d bytes", ErrLimit, maxLineLen))
			continue
		}
		trimmed := strings.TrimLeft(line, " \t")
		if trimmed == "" || trimmed[0] == '#' {
			continue
		}
		if c, bad := badControl(line, true); bad {
			p.report(path, lr.n, fmt.Errorf("%w: control character %#02x", ErrSyntax, c))
			continue
		}
		ents, errs := splitTargets(line, true)
		for _, err := range errs {
			p.report(path, lr.n, err)
		}
		out = append(out, p.expandIncludes(ents, path, lr.n, depth, stack)...)
	}
	return out // expandIncludes of the caller enforces maxTargets
}

// readInclude reads an include file and remembers its identity for Load.
func (p *parser) readInclude(path string) ([]byte, error) {
	if p.opened >= maxTrackedInputs {
		return nil, fmt.Errorf("%w: more than %d include files", ErrLimit, maxTrackedInputs)
	}
	p.opened++
	f, id, err := openRegular(path)
	if err != nil {
		id = fileID{} // never cache a table whose include failed: a fix must show at once
	}
	if _, seen := p.deps[path]; !seen {
		p.deps[path] = id
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxIncludeSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > maxIncludeSize {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrLimit, path, maxIncludeSize)
	}
	return data, nil
}
