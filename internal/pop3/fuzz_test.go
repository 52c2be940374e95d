package pop3

import (
	"bufio"
	"encoding/base64"
	"strings"
	"testing"
)

// FuzzReadLine: every line returned is bounded and free of line ends, and
// lines plus their ends never exceed the input.
func FuzzReadLine(f *testing.F) {
	for _, s := range []string{"USER a\r\nPASS b\r\n", "x\n\r\n", "no end", strings.Repeat("y", MaxLine+3) + "\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		br := bufio.NewReaderSize(strings.NewReader(in), 16)
		used := 0
		for {
			l, err := ReadLine(br)
			if err != nil {
				return
			}
			if len(l) > MaxLine || strings.Contains(l, "\n") {
				t.Fatalf("line %q breaks the bounds", l)
			}
			used += len(l) + 1
			if used > len(in) {
				t.Fatalf("read %d bytes of lines from %d bytes", used, len(in))
			}
		}
	})
}

// FuzzDecodePlain: an accepted SASL PLAIN response names a user, and the
// canonical encoding of what was decoded decodes to the same thing.
func FuzzDecodePlain(f *testing.F) {
	for _, s := range []string{"AHUAcA==", "dQB1AHA=", "=", "*", "!!", base64.StdEncoding.EncodeToString([]byte("a\x00b\x00c\x00d"))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, resp string) {
		user, pass, ok := decodePlain(resp)
		if !ok {
			return
		}
		if user == "" || strings.Contains(user, "\x00") || strings.Contains(pass, "\x00") {
			t.Fatalf("decoded %q / %q", user, pass)
		}
		u2, p2, ok2 := decodePlain(base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass)))
		if !ok2 || u2 != user || p2 != pass {
			t.Fatalf("round trip of %q/%q gave %q/%q", user, pass, u2, p2)
		}
	})
}
