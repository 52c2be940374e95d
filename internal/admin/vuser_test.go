package admin

import (
	"errors"
	"io"
	"strings"
	"testing"

	"goqmail/internal/vdir"
)

func TestReadPassword(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{"secret\n", "secret", ""},
		{"secret\r\nsecond line\n", "secret", ""},
		{"no newline", "no newline", ""},
		{"  spaces kept  \n", "  spaces kept  ", ""},
		{"", "", "no password on standard input"},
		{"\nsecret\n", "", "no password on standard input"},
		{strings.Repeat("x", maxPasswordLine+10) + "\n", "", "longer than 1024 bytes"},
	} {
		got, err := readPassword(strings.NewReader(tc.in))
		if tc.err == "" {
			if err != nil || got != tc.want {
				t.Errorf("readPassword(%q) = %q, %v", tc.in, got, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) || ExitCode(err) != 100 {
			t.Errorf("readPassword(%q) error %v, want %q", tc.in, err, tc.err)
		}
	}
	if _, err := readPassword(nil); err == nil {
		t.Error("nil reader accepted")
	}
}

// TestTerminalPassword: on a terminal the password is asked for twice
// (read without echo by the caller's reader), and two different answers
// change nothing.
func TestTerminalPassword(t *testing.T) {
	for _, tc := range []struct {
		answers []string
		want    string
		err     string
	}{
		{[]string{"s3cret", "s3cret"}, "s3cret", ""},
		{[]string{"s3cret", "s3cert"}, "", "the two passwords differ: nothing changed"},
		{[]string{"", ""}, "", "empty password"},
		{[]string{strings.Repeat("x", maxPasswordLine+1)}, "", "longer than 1024 bytes"},
		{nil, "", "read password from the terminal"},
	} {
		var prompts strings.Builder
		i := 0
		read := func() ([]byte, error) {
			if i >= len(tc.answers) {
				return nil, errors.New("EOF on the terminal")
			}
			i++
			return []byte(tc.answers[i-1]), nil
		}
		got, err := TerminalPassword(&prompts, read)("bob@example.com")
		switch {
		case tc.err == "":
			if err != nil || got != tc.want {
				t.Errorf("%q: %q, %v; want %q", tc.answers, got, err, tc.want)
			}
			if want := "New password for bob@example.com: \nSame password again: \n"; prompts.String() != want {
				t.Errorf("%q: prompts %q, want %q", tc.answers, prompts.String(), want)
			}
		case err == nil || !strings.Contains(err.Error(), tc.err):
			t.Errorf("%q: %q, %v; want an error with %q", tc.answers, got, err, tc.err)
		}
	}
}

// TestUserAddAsksAfterChecking: the password is not asked for when the
// command cannot succeed (a user that exists, a bad option).
func TestUserAddAsksAfterChecking(t *testing.T) {
	_, d := vroot(t)
	open := func() (vdir.Directory, error) { return d, nil }
	asked := 0
	pw := func(string) (string, error) { asked++; return "pw", nil }
	if _, err := DomainCmd(open, []string{"add", "example.com"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := UserCmd(open, []string{"add", "bob@example.com"}, pw, io.Discard); err != nil || asked != 1 {
		t.Fatalf("add: %v, asked %d times", err, asked)
	}
	for _, args := range [][]string{{"add", "bob@example.com"}, {"add", "bob@example.com", "--bogus"}, {"passwd", "nobody@example.com"}} {
		asked = 0
		if _, err := UserCmd(open, args, pw, io.Discard); err == nil || asked != 0 {
			t.Errorf("%q: %v, asked %d times", args, err, asked)
		}
	}
	// A directory that cannot be opened is not reached for a bad line.
	broken := func() (vdir.Directory, error) { return nil, errors.New("cannot open") }
	if _, err := UserCmd(broken, []string{"add", "bob@example.com", "--bogus"}, pw, io.Discard); ExitCode(err) != 100 {
		t.Errorf("bad option with a broken directory: %v (exit %d), want a usage error", err, ExitCode(err))
	}
}
