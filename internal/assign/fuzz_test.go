package assign

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that every error is a
// *ParseError with a line inside the file, and that Lookup agrees with a
// direct reading of qmail-users(5) over the accepted lines: the first simple
// assignment equal to the local part, else the first of the longest
// wildcards whose loc prefixes it. Every entry found has a non-root uid, an
// absolute home and a dash of "" or "-".
func FuzzParse(f *testing.F) {
	f.Add(goodAssign, "joe-list-x")
	f.Add(goodAssign, "JOE")
	f.Add("+:alias:7790:2108:/var/qmail/alias:-::\n.\n", "Anything-At-All")
	f.Add("=a:u:1:1:/h:::\n=A:v:2:2:/h:::\n+a:w:3:3:/w:-:p:\n.\ntrailing", "aB")
	f.Add("=a:u:1:1:/h:::\n", "a")
	f.Add("#c\n.\n", "")
	f.Fuzz(func(t *testing.T, text, local string) {
		table, err := Parse(strings.NewReader(text))
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			if pe.Line < 0 || pe.Line > strings.Count(text, "\n")+1 {
				t.Fatalf("error line %d outside the file", pe.Line)
			}
			return
		}
		lines := acceptedLines(t, text)
		if table.Len() != len(lines) {
			t.Fatalf("Len = %d, want %d", table.Len(), len(lines))
		}
		// Probe the fuzzed local part and, to reach matches, each key with
		// its case flipped and a suffix added.
		probes := []string{local}
		for _, l := range lines {
			probes = append(probes, flipCase(l[1]), flipCase(l[1])+local)
		}
		for _, p := range probes {
			got, gotOK := table.Lookup(p)
			want, wantOK := referenceLookup(lines, p)
			if gotOK != wantOK || got != want {
				t.Fatalf("Lookup(%q) = %+v, %v; reference %+v, %v", p, got, gotOK, want, wantOK)
			}
			if !gotOK {
				continue
			}
			if !strings.HasPrefix(got.Home, "/") || (got.Dash != "" && got.Dash != "-") || got.UID <= 0 || got.User == "" {
				t.Fatalf("Lookup(%q) = %+v breaks an invariant", p, got)
			}
		}
	})
}

// acceptedLines splits the assignment lines of a file Parse accepted into
// {kind, local, user, uid, gid, home, dash, ext}.
func acceptedLines(t *testing.T, text string) [][]string {
	var lines [][]string
	for _, line := range strings.Split(text, "\n") {
		if line == "." {
			return lines
		}
		fields := strings.Split(line[1:], ":")
		lines = append(lines, append([]string{line[:1]}, fields[:7]...))
	}
	t.Fatal("accepted file has no final line")
	return nil
}

// referenceLookup is qmail-users(5) read literally, by a linear scan.
func referenceLookup(lines [][]string, local string) (Entry, bool) {
	best := -1
	for i, l := range lines {
		if l[0] == "=" && isASCIIFold(l[1], local) {
			return lineEntry(l, ""), true
		}
		if l[0] == "+" && len(l[1]) <= len(local) && isASCIIFold(l[1], local[:len(l[1])]) {
			if best < 0 || len(l[1]) > len(lines[best][1]) {
				best = i
			}
		}
	}
	if best < 0 {
		return Entry{}, false
	}
	return lineEntry(lines[best], local[len(lines[best][1]):]), true
}

func lineEntry(l []string, rest string) Entry {
	uid, _ := parseID(l[3])
	gid, _ := parseID(l[4])
	return Entry{User: l[2], UID: uid, GID: gid, Home: l[5], Dash: l[6], Ext: l[7] + rest}
}

// isASCIIFold compares byte by byte, folding only A-Z.
func isASCIIFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func flipCase(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case 'a' <= c && c <= 'z':
			b[i] = c - ('a' - 'A')
		case 'A' <= c && c <= 'Z':
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

// FuzzLookupPasswd checks qmail-getpw's candidate rules on arbitrary local
// parts against a System in which every name of the form [a-z0-9.-]* is a
// valid account: candidates are asked longest first, each non-empty, shorter
// than 32 bytes, lower-case, and a prefix of the local part ending at its end
// or before a '-'; an accepted entry rebuilds the local part as
// User + Dash + Ext.
func FuzzLookupPasswd(f *testing.F) {
	for _, s := range []string{"joe", "Joe-Foo-Bar", "-", "a--b", strings.Repeat("x", 40) + "-y", "\u212Aoe-x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, local string) {
		sys := &anyAccountSystem{}
		e, ok, err := LookupPasswd(sys, local)
		if err != nil {
			t.Fatalf("LookupPasswd(%q) error %v from a System that never fails", local, err)
		}
		lower := lowerASCII(local)
		prev := len(local) + 1
		for _, name := range sys.asked {
			n := len(name)
			if n == 0 || n >= maxUserLen || n >= prev || name != lower[:n] || (n < len(local) && local[n] != '-') {
				t.Fatalf("LookupPasswd(%q) asked for bad candidate %q after %v", local, name, sys.asked)
			}
			prev = n
		}
		if !ok {
			if e != (Entry{}) {
				t.Fatalf("no match but entry %+v", e)
			}
			return
		}
		if e.User != sys.asked[len(sys.asked)-1] || e.UID <= 0 || !strings.HasPrefix(e.Home, "/") {
			t.Fatalf("LookupPasswd(%q) = %+v, asked %v", local, e, sys.asked)
		}
		if e.Dash+e.Ext != local[len(e.User):] || (e.Dash == "") != (len(e.User) == len(local)) {
			t.Fatalf("LookupPasswd(%q) = %+v does not rebuild the local part", local, e)
		}
	})
}

// anyAccountSystem has an account for every name made of a-z, 0-9, '.' and
// '-', with a home it owns.
type anyAccountSystem struct{ asked []string }

func (s *anyAccountSystem) LookupUser(name string) (PasswdEntry, bool, error) {
	s.asked = append(s.asked, name)
	if strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789.-") != "" {
		return PasswdEntry{}, false, nil
	}
	return PasswdEntry{Name: name, UID: 1000, GID: 1000, Home: "/home/" + name}, true, nil
}

func (s *anyAccountSystem) HomeOwner(string) (int, error) { return 1000, nil }
