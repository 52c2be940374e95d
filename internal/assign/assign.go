package assign

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Entry is what a local part resolves to: the fields qmail-lspawn passes on as
// user\0uid\0gid\0home\0dash\0ext\0 (qmail-getpw's output, users/cdb's data).
type Entry struct {
	User     string
	UID, GID int
	Home     string
	Dash     string // "" or "-"
	Ext      string // the extension; the local delivery reads Home/.qmail<Dash><Ext>
}

// ParseError reports a malformed users/assign. qmail-newu only said "bad
// format in users/assign"; the line number and reason are ours.
type ParseError struct {
	Line   int // 1-based; 0 when the problem is the file as a whole
	Reason string
}

func (e *ParseError) Error() string {
	if e.Line == 0 {
		return "users/assign: " + e.Reason
	}
	return fmt.Sprintf("users/assign line %d: %s", e.Line, e.Reason)
}

// Table is a parsed users/assign. The zero value and a nil *Table hold no
// assignments. A Table is never modified after Parse, so it may be shared by
// concurrent lookups.
type Table struct {
	simple   map[string]Entry // lower(local) -> entry
	wildcard map[string]Entry // lower(loc) -> entry whose Ext holds pre
	longest  int              // length of the longest wildcard loc, bounds the probes
	lines    int
}

// Parse reads users/assign (qmail-users(5)).
//
// The format is qmail-newu's, read more strictly, because this table decides
// which uid a root process hands deliveries to:
//   - every line before the end is "=local:user:uid:gid:homedir:dash:ext:"
//     or "+loc:user:uid:gid:homedir:dash:pre:", with exactly seven fields
//     each ended by ':' (qmail-newu ignored text after the seventh ':' and
//     took any first character other than '+' as '=');
//   - the file ends with a line that is exactly "."; nothing after it is
//     read. A file without it is refused as possibly truncated (qmail-newu
//     refused it too), which also protects against reading a file an editor
//     is still writing. qmail-newu stopped at any line starting with '.';
//     here such a line is an error unless it is exactly ".";
//   - there are no comments or blank lines (qmail-newu rejected those that
//     had no ':', and silently took a "#..." line with seven colons as an
//     assignment);
//   - uid and gid are decimal; uid 0 is refused (qmail-lspawn refuses root
//     deliveries at run time, deferring them forever); user is non-empty;
//     homedir is absolute (qmail-local insists on it); dash is "" or "-";
//   - NUL bytes and carriage returns are errors.
//
// Every malformed line is reported (ParseErrors), so that one check shows
// the administrator all of them; a file with any is refused as a whole.
func Parse(r io.Reader) (*Table, error) {
	t := &Table{simple: make(map[string]Entry), wildcard: make(map[string]Entry)}
	br := bufio.NewReader(r)
	var bad ParseErrors
	done := func() (*Table, error) {
		if len(bad) > 0 {
			return nil, bad
		}
		return t, nil
	}
	for lineno := 1; ; lineno++ {
		line, err := br.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read users/assign: %w", err)
		}
		body, complete := strings.CutSuffix(line, "\n")
		if body == "." {
			return done()
		}
		if !complete {
			if body == "" {
				bad = append(bad, &ParseError{Reason: `no final "." line: the file may be truncated`})
			} else {
				bad = append(bad, &ParseError{Line: lineno, Reason: `line has no newline and no "." line follows: the file may be truncated`})
			}
			return done()
		}
		wild, key, entry, reason := parseLine(body)
		if reason != "" {
			bad = append(bad, &ParseError{Line: lineno, Reason: reason})
			continue
		}
		t.add(wild, key, entry)
	}
}

// ParseErrors is every problem of one users/assign (errors.As finds each
// *ParseError).
type ParseErrors []*ParseError

func (es ParseErrors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

func (es ParseErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// parseLine checks one assignment line (without its newline) and returns
// its lower-cased key and entry, or a reason why it is malformed.
func parseLine(body string) (wild bool, key string, e Entry, reason string) {
	switch {
	case body == "":
		return false, "", Entry{}, "empty line (users/assign has no blank lines)"
	case body[0] == '.':
		return false, "", Entry{}, `a line starting with '.' must be exactly "." (it ends the file)`
	case strings.IndexByte(body, 0) >= 0:
		return false, "", Entry{}, "line contains a NUL byte"
	case strings.HasSuffix(body, "\r"):
		return false, "", Entry{}, "line ends with a carriage return (CRLF line endings are not allowed)"
	case body[0] != '=' && body[0] != '+':
		return false, "", Entry{}, "line must start with '=' (simple) or '+' (wildcard); comments are not allowed"
	}
	wild = body[0] == '+'
	fields := strings.Split(body[1:], ":")
	if len(fields) != 8 {
		return false, "", Entry{}, fmt.Sprintf("line has %d ':' separators, want 7 (%clocal:user:uid:gid:homedir:dash:ext:)", len(fields)-1, body[0])
	}
	if fields[7] != "" {
		return false, "", Entry{}, "line does not end with ':'"
	}
	e = Entry{User: fields[1], Home: fields[4], Dash: fields[5], Ext: fields[6]}
	if e.User == "" {
		return false, "", Entry{}, "empty user name"
	}
	var ok bool
	if e.UID, ok = parseID(fields[2]); !ok {
		return false, "", Entry{}, fmt.Sprintf("uid %q is not a decimal number below 4294967295", fields[2])
	}
	if e.UID == 0 {
		return false, "", Entry{}, "uid 0: deliveries never run as root (qmail-lspawn refuses them too)"
	}
	if e.GID, ok = parseID(fields[3]); !ok {
		return false, "", Entry{}, fmt.Sprintf("gid %q is not a decimal number below 4294967295", fields[3])
	}
	if !strings.HasPrefix(e.Home, "/") {
		return false, "", Entry{}, fmt.Sprintf("homedir %q is not an absolute path", e.Home)
	}
	if e.Dash != "" && e.Dash != "-" {
		return false, "", Entry{}, fmt.Sprintf(`dash %q must be empty or "-"`, e.Dash)
	}
	return wild, lowerASCII(fields[0]), e, ""
}

// parseID parses a uid or gid: decimal digits only, and below 2^32-1, which
// setuid(2) and chown(2) reserve as "no change".
func parseID(s string) (int, bool) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == math.MaxUint32 {
		return 0, false
	}
	return int(n), true
}

// add records an assignment unless one with the same key came first: "If
// there are several assignments for the same local address, qmail-lspawn will
// use the first one" (qmail-users(5); cdb_seek finds the first record).
func (t *Table) add(wild bool, key string, e Entry) {
	t.lines++
	m := t.simple
	if wild {
		m = t.wildcard
		t.longest = max(t.longest, len(key))
	}
	if _, dup := m[key]; !dup {
		m[key] = e
	}
}

// Len returns the number of assignment lines, duplicates included.
func (t *Table) Len() int {
	if t == nil {
		return 0
	}
	return t.lines
}

// Lookup applies qmail-users(5) to a local part, as qmail-lspawn's
// nughde_get probes users/cdb: a simple assignment for the whole local part
// wins; otherwise the wildcard with the longest loc that is a prefix of the
// local part (an empty loc matches everything), its Ext being pre followed by
// the rest of the local part. Matching ignores ASCII case; the rest keeps the
// case it has in local, as qmail-lspawn copies it from the original address.
//
// qmail-lspawn skipped a wildcard probe unless its last character was the
// last character of some wildcard as written, before lower-casing, so a
// wildcard whose loc ended in an upper-case letter never matched. That is a
// bug; here the documented case-insensitive rule holds for every wildcard.
func (t *Table) Lookup(local string) (Entry, bool) {
	if t == nil {
		return Entry{}, false
	}
	lower := lowerASCII(local)
	if e, ok := t.simple[lower]; ok {
		return e, true
	}
	if len(t.wildcard) == 0 {
		return Entry{}, false
	}
	for i := min(len(lower), t.longest); i >= 0; i-- {
		if e, ok := t.wildcard[lower[:i]]; ok {
			e.Ext += local[i:]
			return e, true
		}
	}
	return Entry{}, false
}

// lowerASCII lower-cases A-Z only, like qmail's case_lowerb. Unicode folding
// would let, for example, U+212A KELVIN SIGN match the letter k. The result
// has the same length as s, so indexes into it are indexes into s.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
