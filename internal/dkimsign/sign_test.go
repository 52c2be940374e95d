package dkimsign

import (
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"goqmail/internal/dkimkey"
)

func testKeys(t *testing.T, alg string, domains ...string) (*Keys, map[string]string) {
	t.Helper()
	k := &Keys{byDomain: map[string]Key{}}
	txt := map[string]string{}
	for _, d := range domains {
		s, err := dkimkey.Generate(alg)
		if err != nil {
			t.Fatal(err)
		}
		k.byDomain[d] = Key{Domain: d, Selector: "sel", Signer: s}
		rec, err := dkimkey.Record(s.Public())
		if err != nil {
			t.Fatal(err)
		}
		txt[dkimkey.RecordName(d, "sel")] = rec
	}
	return k, txt
}

// sign writes msg in pieces of n bytes, as the queue's frames come.
func sign(t *testing.T, keys *Keys, msg string, n int) (string, string) {
	t.Helper()
	m := NewMessage(keys)
	for i := 0; i < len(msg); i += n {
		m.Write([]byte(msg[i:min(i+n, len(msg))]))
	}
	res, err := m.End()
	if err != nil {
		t.Fatalf("End: %v", err)
	}
	return res.Field, res.Note
}

func verify(t *testing.T, txt map[string]string, msg string) error {
	t.Helper()
	vs, err := dkim.VerifyWithOptions(strings.NewReader(msg), &dkim.VerifyOptions{LookupTXT: func(name string) ([]string, error) {
		return []string{txt[strings.TrimSuffix(name, ".")]}, nil
	}})
	if err != nil {
		return err
	}
	if len(vs) != 1 {
		t.Fatalf("%d signatures", len(vs))
	}
	return vs[0].Err
}

const testMsg = "Received: (goqmail 1 invoked by uid 1); 1 Jan 2025 00:00:00 -0000\n" +
	"From: Ann <ann@Mail.Example.org>\nTo: bob@far.example\nSubject: hello\n  folded\nDate: Wed, 1 Jan 2025 00:00:00 +0000\n\n" +
	"body line  with   spaces \n\n\n"

func TestSignVerifiesAndChangeFails(t *testing.T) {
	for _, alg := range []string{dkimkey.RSA, dkimkey.Ed25519} {
		t.Run(alg, func(t *testing.T) {
			keys, txt := testKeys(t, alg, "example.org")
			for _, n := range []int{1, 7, 4096} {
				field, note := sign(t, keys, testMsg, n)
				if field == "" {
					t.Fatalf("not signed: %s", note)
				}
				if strings.Contains(field, "\r") || !strings.HasSuffix(field, "\n") {
					t.Fatalf("field not in LF form: %q", field)
				}
				for _, want := range []string{"d=example.org", "s=sel", "a=" + alg + "-sha256", "c=relaxed/relaxed", "h=From:Subject:Date:To:From"} {
					if !strings.Contains(strings.ReplaceAll(field, "\n ", ""), want) {
						t.Errorf("field lacks %q:\n%s", want, field)
					}
				}
				signed := strings.ReplaceAll(field+testMsg, "\n", "\r\n")
				if err := verify(t, txt, signed); err != nil {
					t.Fatalf("pieces of %d: does not verify: %v", n, err)
				}
				changed := strings.Replace(signed, "body line", "body lime", 1)
				if err := verify(t, txt, changed); err == nil {
					t.Errorf("a changed body still verifies")
				}
				added := strings.Replace(signed, "Subject:", "From: mallory@evil.example\r\nSubject:", 1)
				if err := verify(t, txt, added); err == nil {
					t.Errorf("an added From: still verifies")
				}
			}
		})
	}
}

func TestKeyChoice(t *testing.T) {
	keys, _ := testKeys(t, dkimkey.Ed25519, "example.org", "other.example")
	for _, tt := range []struct{ msg, wantD, wantNote string }{
		{"From: a@example.org\n\nx\n", "example.org", ""},
		{"From: a@sub.deep.example.org\n\nx\n", "example.org", ""},
		{"From: \"A, B\" <a@other.example>, c@example.org\n\nx\n", "other.example", ""},
		{"From: a@elsewhere.example\n\nx\n", "", "no key for elsewhere.example"},
		{"From: a@org\n\nx\n", "", "no key for org"},
		{"To: a@example.org\n\nx\n", "", "no From: field"},
		{"From: a@example.org\nFrom: b@example.org\n\nx\n", "", "more than one From: field"},
		{"From: a@example.org\nSubject: no body, no empty line", "example.org", ""},
		{"", "", "empty message"},
	} {
		field, note := sign(t, keys, tt.msg, 3)
		if tt.wantD == "" {
			if field != "" || note != tt.wantNote {
				t.Errorf("%q: field %q note %q, want none and %q", tt.msg, field, note, tt.wantNote)
			}
			continue
		}
		if !strings.Contains(field, "d="+tt.wantD+";") {
			t.Errorf("%q: signed %q, want d=%s (note %q)", tt.msg, field, tt.wantD, note)
		}
	}
}

func TestHugeHeaderIsNotHeld(t *testing.T) {
	keys, _ := testKeys(t, dkimkey.Ed25519, "example.org")
	m := NewMessage(keys)
	line := []byte("X-Filler: " + strings.Repeat("a", 1000) + "\n")
	for i := 0; i < maxHeader/len(line)+2; i++ {
		m.Write(line)
	}
	m.Write([]byte("From: a@example.org\n\nbody\n"))
	res, err := m.End()
	if err != nil || res.Field != "" || !strings.Contains(res.Note, "header block longer") {
		t.Fatalf("got %+v, %v", res, err)
	}
}
