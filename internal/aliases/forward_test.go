package aliases

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestParseForward(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Target
	}{
		{"one address", "joe@example.org\n", []Target{addr("joe@example.org")}},
		{"no final newline", "joe@example.org", []Target{addr("joe@example.org")}},
		{"empty file", "", nil},
		{"comments and blanks only", "# forward\n\n   \n  # more\n", nil},
		{"commas", "a@x, b@y,c@z\n", []Target{addr("a@x"), addr("b@y"), addr("c@z")}},
		{"blank separated", "a@x b@y\n", []Target{addr("a@x"), addr("b@y")}},
		{"several lines", "a@x\nb@y\n", []Target{addr("a@x"), addr("b@y")}},
		{"backslash self", "\\joe, joe@elsewhere.test\n", []Target{addr("joe"), addr("joe@elsewhere.test")}},
		{"program", "|/usr/bin/vacation joe\n", []Target{prog("/usr/bin/vacation joe")}},
		{"quoted program with comma", "\"|/usr/bin/procmail -a x,y\", \\joe\n", []Target{prog("/usr/bin/procmail -a x,y"), addr("joe")}},
		{"file", "/home/joe/mail/inbox\n", []Target{file("/home/joe/mail/inbox")}},
		{"quoted file", "\"/home/joe/my mail\"\n", []Target{file("/home/joe/my mail")}},
		{"angle address", "Joe <joe@x.test>\n", []Target{addr("joe@x.test")}},
		{"CRLF", "a@x\r\nb@y\r\n", []Target{addr("a@x"), addr("b@y")}},
		{"dedup", "a@x, A@X\na@x\n", []Target{addr("a@x")}},
		{"tab in program", "\"|prog\targ\"\n", []Target{prog("prog\targ")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseForward([]byte(tc.in))
			if err != nil {
				t.Fatalf("ParseForward(%q): %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseForward(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseForwardErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr error
		line    int
	}{
		{"NUL", "a@x\nb\x00@y\n", ErrSyntax, 2},
		{"control character", "a\x1b@x\n", ErrSyntax, 1},
		{"bare CR", "a@x\rb@y\n", ErrSyntax, 1},
		{"DEL", "a\x7f@x\n", ErrSyntax, 1},
		{"include refused", ":include:/etc/passwd\n", ErrSyntax, 1},
		{"unterminated quote", "\"|prog\n", ErrSyntax, 1},
		{"bad address fails whole file", "good@x\nbad@\n", ErrSyntax, 2},
		{"empty program", "|\n", ErrSyntax, 1},
		{"line too long", "a@x\n" + strings.Repeat("b", maxLineLen+1) + "\n", ErrLimit, 2},
		{"too many targets", manyTargets(maxTargets + 1), ErrLimit, maxTargets + 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseForward([]byte(tc.in))
			var le *LineError
			if got != nil || !errors.Is(err, tc.wantErr) || !errors.As(err, &le) || le.Line != tc.line {
				t.Errorf("ParseForward = %v, %v; want nil and %v at line %d", got, err, tc.wantErr, tc.line)
			}
		})
	}
	// Exactly the limit is fine.
	if got, err := ParseForward([]byte(manyTargets(maxTargets))); err != nil || len(got) != maxTargets {
		t.Errorf("at the limit: %d targets, %v", len(got), err)
	}
}

// manyTargets is "u0@x\nu1@x\n...": n distinct targets, one a line.
func manyTargets(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = "u" + strconv.Itoa(i) + "@x"
	}
	return strings.Join(parts, "\n")
}
