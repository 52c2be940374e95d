package aliases

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func addr(v string) Target { return Target{Kind: Address, Value: v} }
func prog(v string) Target { return Target{Kind: Program, Value: v} }
func file(v string) Target { return Target{Kind: File, Value: v} }

func mustParse(t *testing.T, src string) *Table {
	t.Helper()
	tab, errs := Parse(strings.NewReader(src))
	if len(errs) > 0 {
		t.Fatalf("Parse(%q): unexpected errors %v", src, errs)
	}
	return tab
}

func TestParseLookup(t *testing.T) {
	tests := []struct {
		name   string
		src    string
		lookup string
		want   []Target
	}{
		{"simple list", "a: b, c\n", "a", []Target{addr("b"), addr("c")}},
		{"no final newline", "a: b", "a", []Target{addr("b")}},
		{"name case-insensitive", "Postmaster: Root\n", "POSTMASTER", []Target{addr("Root")}},
		{"blank before colon", "a : b\n", "a", []Target{addr("b")}},
		{"continuation space and tab", "list: a,\n  b,\n\tc\n", "list", []Target{addr("a"), addr("b"), addr("c")}},
		{"continuation across comment and blank", "list: a,\n# note\n\n  b\n", "list", []Target{addr("a"), addr("b")}},
		{"continuation without comma", "list: a\n  b\n", "list", []Target{addr("a"), addr("b")}},
		{"backslash newline", "list: a, \\\nb\n", "list", []Target{addr("a"), addr("b")}},
		{"CRLF lines", "a: b\r\nc: d\r\n", "c", []Target{addr("d")}},
		{"comment lines", "# head\n  # indented comment\na: b\n", "a", []Target{addr("b")}},
		{"whitespace separated", "a: b c@x\td\n", "a", []Target{addr("b"), addr("c@x"), addr("d")}},
		{"empty segments ignored", "a: b,, c,\n", "a", []Target{addr("b"), addr("c")}},
		{"quoted program", "a: \"|/usr/bin/prog arg, x\"\n", "a", []Target{prog("/usr/bin/prog arg, x")}},
		{"unquoted program runs to comma", "a: |/bin/prog -x y, b\n", "a", []Target{prog("/bin/prog -x y"), addr("b")}},
		{"program blank after bar", "a: \"| prog\"\n", "a", []Target{prog("prog")}},
		{"quote escapes", `a: "|echo \"hi\" \\ \n"` + "\n", "a", []Target{prog(`echo "hi" \ \n`)}},
		{"file", "a: /var/mail/a\n", "a", []Target{file("/var/mail/a")}},
		{"quoted file with blank", "a: \"/var/mail/my box\"\n", "a", []Target{file("/var/mail/my box")}},
		{"remote address", "a: b@example.org\n", "a", []Target{addr("b@example.org")}},
		{"angle address", "a: Joe User <joe@x.test>, k\n", "a", []Target{addr("joe@x.test"), addr("k")}},
		{"paren comment", "a: joe (Joe User), k\n", "a", []Target{addr("joe"), addr("k")}},
		{"owner alias is ordinary", "list: a\nowner-list: root\n", "owner-list", []Target{addr("root")}},
		{"backslash not expanded", "a: \\b\nb: c\n", "a", []Target{addr("b")}},
		{"quoted backslash", "a: \"\\b\"\nb: c\n", "a", []Target{addr("b")}},
		{"bare name not alias", "a: joe\n", "a", []Target{addr("joe")}},
		{"recursion", "a: b, d\nb: c\nc: e, f\n", "a", []Target{addr("e"), addr("f"), addr("d")}},
		{"recursion case-insensitive", "a: B\nb: c\n", "a", []Target{addr("c")}},
		{"domain address not expanded", "a: b@x\nb: c\n", "a", []Target{addr("b@x")}},
		{"self reference delivers locally", "john: john, j@else.test\n", "john", []Target{addr("john"), addr("j@else.test")}},
		{"self reference other case", "john: \\John, John\n", "john", []Target{addr("John")}},
		{"loop contributes nothing", "a: b\nb: a, y\n", "a", []Target{addr("y")}},
		{"loop from the other side", "a: b, y\nb: a\n", "b", []Target{addr("y")}},
		{"pure loop is empty", "a: b\nb: a\n", "a", nil},
		{"dedup first seen", "a: b, c, x\nb: x, y\nc: X, y, /f, \"|p\"\nd: /f\n", "a",
			[]Target{addr("x"), addr("y"), file("/f"), prog("p")}},
		{"diamond expands once", "a: b, c\nb: d\nc: d\nd: e\n", "a", []Target{addr("e")}},
		{"program and file not expanded", "a: /b, |b\nb: c\n", "a", []Target{file("/b"), prog("b")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tab := mustParse(t, tc.src)
			got, ok := tab.Lookup(tc.lookup)
			if !ok {
				t.Fatalf("Lookup(%q): not found", tc.lookup)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Lookup(%q) = %v, want %v", tc.lookup, got, tc.want)
			}
		})
	}
}

func TestLookupMissing(t *testing.T) {
	tab := mustParse(t, "a: b\n")
	for _, name := range []string{"b", "", "a@x", "aa"} {
		if got, ok := tab.Lookup(name); ok || got != nil {
			t.Errorf("Lookup(%q) = %v, %v; want nil, false", name, got, ok)
		}
	}
	var nilTable *Table
	if _, ok := nilTable.Lookup("a"); ok || nilTable.Len() != 0 {
		t.Error("nil table should hold nothing")
	}
}

func TestParseErrors(t *testing.T) {
	long := "a: " + strings.Repeat("x", maxLineLen) + "\n"
	tests := []struct {
		name     string
		src      string
		wantErr  error
		wantLine int
		defined  map[string][]Target // aliases that must survive (nil list: must be absent)
	}{
		{"missing colon", "foo bar\nok: x\n", ErrSyntax, 1, map[string][]Target{"ok": {addr("x")}}},
		{"empty list", "a:\nok: x\n", ErrEmpty, 1, map[string][]Target{"a": nil, "ok": {addr("x")}}},
		{"only blanks and commas", "a: , ,\n", ErrEmpty, 1, map[string][]Target{"a": nil}},
		{"duplicate first wins", "a: b\nA: c\n", ErrDuplicate, 2, map[string][]Target{"a": {addr("b")}}},
		{"continuation without alias", "  b\n  c\nx: y\n", ErrSyntax, 1, map[string][]Target{"x": {addr("y")}}},
		{"unterminated quote keeps rest", "a: b, \"|prog\n", ErrSyntax, 1, map[string][]Target{"a": {addr("b")}}},
		{"text after quote", "a: \"b\"c, d\n", ErrSyntax, 1, map[string][]Target{"a": {addr("d")}}},
		{"control character", "a: b\x01\nok: x\n", ErrSyntax, 1, map[string][]Target{"a": nil, "ok": {addr("x")}}},
		{"NUL", "ok: x\na: b\x00c\n", ErrSyntax, 2, map[string][]Target{"a": nil, "ok": {addr("x")}}},
		{"bare CR", "a: b\rc\n", ErrSyntax, 1, map[string][]Target{"a": nil}},
		{"line too long", long + "ok: x\n", ErrLimit, 1, map[string][]Target{"a": nil, "ok": {addr("x")}}},
		{"too long continuation drops entry", "a: b,\n " + strings.Repeat("y", maxLineLen) + "\n  c\nok: x\n", ErrLimit, 2,
			map[string][]Target{"a": nil, "ok": {addr("x")}}},
		{"relative include", "a: :include:list, b\n", ErrInclude, 1, map[string][]Target{"a": {addr("b")}}},
		{"blank in name", "a b: c\n", ErrSyntax, 1, map[string][]Target{"a b": nil}},
		{"at in name", "x@y: z\n", ErrSyntax, 1, map[string][]Target{"x@y": nil}},
		{"empty name", ": z\n", ErrSyntax, 1, nil},
		{"program in angles", "a: <|prog>, b\n", ErrSyntax, 1, map[string][]Target{"a": {addr("b")}}},
		{"unterminated angle", "a: Joe <joe, b\n", ErrSyntax, 1, map[string][]Target{"a": {addr("b")}}},
		{"empty program", "a: |, b\n", ErrSyntax, 1, map[string][]Target{"a": {addr("b")}}},
		{"empty backslash", "a: \\, b\n", ErrSyntax, 1, map[string][]Target{"a": {addr("b")}}},
		{"malformed address", "a: b@, @c, .d, e\n", ErrSyntax, 1, map[string][]Target{"a": {addr("e")}}},
		{"quoted address with blank", "a: \"john doe\", e\n", ErrSyntax, 1, map[string][]Target{"a": {addr("e")}}},
		{"unterminated comment", "a: e (oops\n", ErrSyntax, 1, map[string][]Target{"a": nil}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tab, errs := Parse(strings.NewReader(tc.src))
			if tab == nil {
				t.Fatal("Parse returned a nil table")
			}
			if len(errs) == 0 {
				t.Fatalf("no error reported for %q", tc.src)
			}
			var le *LineError
			if !errors.As(errs[0], &le) || !errors.Is(errs[0], tc.wantErr) || le.Line != tc.wantLine {
				t.Errorf("first error = %v; want %v at line %d", errs[0], tc.wantErr, tc.wantLine)
			}
			for name, want := range tc.defined {
				got, ok := tab.Lookup(name)
				if want == nil {
					if ok {
						t.Errorf("alias %q should be absent, got %v", name, got)
					}
					continue
				}
				if !ok || !reflect.DeepEqual(got, want) {
					t.Errorf("Lookup(%q) = %v, %v; want %v", name, got, ok, want)
				}
			}
		})
	}
}

func TestLookupDepthLimit(t *testing.T) {
	var b strings.Builder
	for i := range 25 {
		fmt.Fprintf(&b, "a%d: a%d\n", i, i+1)
	}
	b.WriteString("a25: final\n")
	tab := mustParse(t, b.String())
	// a10 reaches a25 in 16 levels: within the limit.
	if got, _ := tab.Lookup("a10"); !reflect.DeepEqual(got, []Target{addr("final")}) {
		t.Errorf("Lookup(a10) = %v, want [final]", got)
	}
	// a0 would need 26 levels: the chain is cut, nothing comes out.
	if got, ok := tab.Lookup("a0"); !ok || len(got) != 0 {
		t.Errorf("Lookup(a0) = %v, %v; want no targets, true", got, ok)
	}
}

func TestLookupTargetLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString("all: l1, l2\n")
	for l := 1; l <= 2; l++ {
		fmt.Fprintf(&b, "l%d: ", l)
		for i := range 6000 {
			fmt.Fprintf(&b, "u%d-%d,", l, i)
		}
		b.WriteString("\n")
	}
	tab := mustParse(t, b.String())
	got, ok := tab.Lookup("all")
	if !ok || len(got) != maxTargets {
		t.Fatalf("Lookup(all) gave %d targets, want %d", len(got), maxTargets)
	}
	if got[0] != addr("u1-0") || got[maxTargets-1] != addr("u2-3999") {
		t.Errorf("wrong targets kept: first %v last %v", got[0], got[maxTargets-1])
	}
}

func TestAliasTargetLimit(t *testing.T) {
	src := "big: " + strings.Repeat("x,", 10) // sanity: small lists are fine
	if _, errs := Parse(strings.NewReader(src)); len(errs) != 0 {
		t.Fatalf("unexpected errors %v", errs)
	}
	var b strings.Builder
	b.WriteString("big: ")
	for i := range maxTargets + 5 {
		fmt.Fprintf(&b, "u%d,", i)
	}
	tab, errs := Parse(strings.NewReader(b.String()))
	if len(errs) != 1 || !errors.Is(errs[0], ErrLimit) {
		t.Fatalf("errors = %v, want one ErrLimit", errs)
	}
	if got, _ := tab.Lookup("big"); len(got) != maxTargets {
		t.Errorf("kept %d targets, want %d", len(got), maxTargets)
	}
}

func TestNames(t *testing.T) {
	tab := mustParse(t, "B: x\na: y\n")
	if got := tab.Names(); !reflect.DeepEqual(got, []string{"a", "b"}) || tab.Len() != 2 {
		t.Errorf("Names = %v, Len = %d", got, tab.Len())
	}
}
