package quota

import (
	"bytes"
	"math/big"
	"testing"
)

// FuzzParseFile feeds arbitrary maildirsize contents to the parser. A
// maildirsize can be written by any program with access to the Maildir
// (IMAP servers, user scripts), so the parser must hold up against
// anything. Invariants:
//   - no panic, and an accepted file is one that ends in a newline and has
//     no NUL;
//   - totals never overflow silently: the exact sums (math/big) either
//     equal the reported totals, or Saturated is set;
//   - accepted totals are never negative;
//   - Lines is the number of lines after the definition;
//   - what formatFile writes for the parsed result parses back to it.
func FuzzParseFile(f *testing.F) {
	for _, seed := range []string{
		"", "\n", "0S\n", "1048576S,1000C\n123 4\n", "0S\n1000 3\n-200 -1\n",
		"5000S\n         1234            2\n", "0S\n9223372036854775807 1\n1 1\n",
		"0S\n-9223372036854775808 0\n", "0S\n5 1", "0S\n5 1\x00\n", "0S\n\n", "5C\n\t7\t1\t\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fc, err := parseFile(data)
		if err != nil {
			return
		}
		if len(data) == 0 || data[len(data)-1] != '\n' || bytes.IndexByte(data, 0) >= 0 {
			t.Fatalf("accepted %q", data)
		}
		if fc.Usage.Bytes < 0 || fc.Usage.Messages < 0 || fc.Limits.Bytes < 0 || fc.Limits.Messages < 0 {
			t.Fatalf("negative result %+v from %q", fc, data)
		}
		if want := bytes.Count(data, []byte{'\n'}) - 1; fc.Lines != want {
			t.Fatalf("Lines = %d, want %d for %q", fc.Lines, want, data)
		}
		exactBytes, exactCount, exact := exactSums(t, data)
		if !fc.Saturated {
			if !exact || exactBytes.Cmp(big.NewInt(fc.Usage.Bytes)) != 0 || exactCount.Cmp(big.NewInt(fc.Usage.Messages)) != 0 {
				t.Fatalf("totals %+v differ from the exact sums %v, %v without Saturated, for %q",
					fc.Usage, exactBytes, exactCount, data)
			}
		}
		again, err := parseFile(formatFile(fc.Limits, fc.Usage))
		if err != nil || again.Limits != fc.Limits || again.Usage != fc.Usage || again.Lines != 1 {
			t.Fatalf("rewrite of %+v parses as %+v, %v", fc, again, err)
		}
	})
}

// exactSums adds the delta lines of an accepted file with big integers.
// exact is false when a single number is beyond int64 (then the parser
// must report Saturated).
func exactSums(t *testing.T, data []byte) (sumBytes, sumCount *big.Int, exact bool) {
	sumBytes, sumCount, exact = new(big.Int), new(big.Int), true
	lines := bytes.Split(data[:len(data)-1], []byte{'\n'})
	for _, line := range lines[1:] {
		fields := bytes.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' })
		if len(fields) != 2 {
			t.Fatalf("accepted line %q", line)
		}
		for i, field := range fields {
			n, ok := new(big.Int).SetString(string(field), 10)
			if !ok || field[0] == '+' {
				t.Fatalf("accepted number %q", field)
			}
			if !n.IsInt64() {
				exact = false
			}
			if i == 0 {
				sumBytes.Add(sumBytes, n)
			} else {
				sumCount.Add(sumCount, n)
			}
		}
	}
	return sumBytes, sumCount, exact
}

// FuzzParseDefinition checks that any accepted quota definition survives
// a round trip through String, and that String's output is canonical.
func FuzzParseDefinition(f *testing.F) {
	for _, seed := range []string{"", "0S", "1048576S,1000C", "1000C,5S", "1S,2S", "99999999999999999999999S", "-5S", "5B", ","} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseDefinition(s)
		if err != nil {
			return
		}
		if l.Bytes < 0 || l.Messages < 0 {
			t.Fatalf("ParseDefinition(%q) = %+v", s, l)
		}
		canon := l.String()
		back, err := ParseDefinition(canon)
		if err != nil || back != l || back.String() != canon {
			t.Fatalf("ParseDefinition(%q) = %+v -> %q -> %+v, %v", s, l, canon, back, err)
		}
	})
}
