package admin

import (
	"strings"
	"testing"
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
