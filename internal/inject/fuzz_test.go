package inject

import (
	"bufio"
	"bytes"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"goqmail/internal/address"
)

// FuzzComplete checks header completion on any input: the body comes out
// byte for byte, the output splits back into the completed header and the
// same body, every input field is either dropped or kept with nothing but
// address completions inserted, the added fields are there, Bcc is gone,
// header recipients are valid envelope addresses, and a header net/mail
// could read is still one it can read.
func FuzzComplete(f *testing.F) {
	ins, _ := filepath.Glob("testdata/complete/*.in")
	for _, in := range ins {
		if b, err := os.ReadFile(in); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("To: a\nBcc: b\n\n"))
	f.Add([]byte("From: (x) <y>\nResent-Cc: z@w\n\n.\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		cfg := testConfig()
		noHost, noDot := cfg.noHost(), cfg.noDot()
		br := bufio.NewReaderSize(bytes.NewReader(msg), 64)
		h, start, err := SplitHeader(br, 1<<16)
		if err != nil {
			return
		}
		rest, _ := io.ReadAll(br)
		body := append(append([]byte(nil), start...), rest...)
		if !bytes.HasSuffix(msg, body) {
			t.Fatalf("body %q is not the end of the input", body)
		}
		res := NewCompleter(cfg).Complete(h)
		out := append(append(append([]byte(nil), res.Header...), '\n'), body...)

		br2 := bufio.NewReader(bytes.NewReader(out))
		h2, start2, err := SplitHeader(br2, 1<<20)
		rest2, _ := io.ReadAll(br2)
		if err != nil || !bytes.Equal(h2, res.Header) || len(start2) != 0 || !bytes.Equal(rest2, body) {
			t.Fatalf("output does not split back: %v\nheader %q\nwant   %q\nbody %q", err, h2, res.Header, rest2)
		}

		outFields := parseFields(res.Header)
		names := map[string]bool{}
		for _, f := range outFields {
			names[strings.ToLower(f.name)] = true
			if dropped(strings.ToLower(f.name)) {
				t.Fatalf("field %q kept", f.name)
			}
		}
		if !(names["date"] || names["resent-date"]) || !(names["message-id"] || names["resent-message-id"]) || !(names["from"] || names["resent-from"]) {
			t.Fatalf("missing fields in %q", res.Header)
		}
		// Input fields in order, each dropped or kept with insertions only.
		j := 0
		for _, in := range parseFields(h) {
			if dropped(strings.ToLower(in.name)) {
				continue
			}
			for j < len(outFields) && outFields[j].name != in.name {
				j++
			}
			if j == len(outFields) {
				t.Fatalf("field %q lost", in.raw)
			}
			if !isInsertionOf(in.raw, outFields[j].raw, noHost, noDot) {
				t.Fatalf("field %q became %q", in.raw, outFields[j].raw)
			}
			j++
		}
		for _, r := range res.Recipients {
			local, domain := address.Split(r)
			a, _, err := address.ParsePath(address.Addr{Local: local, Domain: domain}.SMTP(), address.Options{})
			if err != nil || a.String() != r {
				t.Fatalf("recipient %q: %v", r, err)
			}
		}
		if _, err := mail.ReadMessage(bytes.NewReader(append(append([]byte(nil), h...), "\n\n"...))); err == nil {
			if _, err := mail.ReadMessage(bytes.NewReader(out)); err != nil {
				t.Fatalf("input header parsed, output does not: %v\n%q", err, out)
			}
		}
	})
}

// isInsertionOf reports whether out is in with zero or more copies of the
// pieces inserted. Greedy matching is exact here: every insertion point is
// followed by a byte that is not the piece's first byte ('@' or '.'), since
// an atom would have taken the '.' and an '@' would have been a domain.
func isInsertionOf(in, out []byte, pieces ...string) bool {
	i, j := 0, 0
	for j < len(out) {
		if i < len(in) && in[i] == out[j] {
			i++
			j++
			continue
		}
		matched := false
		for _, p := range pieces {
			if p != "" && bytes.HasPrefix(out[j:], []byte(p)) {
				j += len(p)
				matched = true
				break
			}
		}
		if !matched {
			return false
		}
	}
	return i == len(in)
}

// FuzzRecipients checks the command-line address parser: whatever it
// accepts is a canonical envelope address without controls.
func FuzzRecipients(f *testing.F) {
	for _, s := range []string{"bob", "bob@mail", "a, b@x.example", "Bob <bob@x>", `"a b"@c`, "<>", "a@[1.2.3.4]", "g:;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		cfg := testConfig()
		rcpts, err := cfg.Recipients(arg)
		if err == nil && len(rcpts) == 0 {
			t.Fatalf("%q: no error and no recipients", arg)
		}
		sender, serr := cfg.Sender(arg)
		if serr == nil && sender != "" {
			rcpts = append(rcpts, sender)
		}
		for _, r := range rcpts {
			local, domain := address.Split(r)
			a, _, err := address.ParsePath(address.Addr{Local: local, Domain: domain}.SMTP(), address.Options{})
			if err != nil || a.String() != r || domain == "" {
				t.Fatalf("%q gave %q: %v", arg, r, err)
			}
		}
	})
}
