package smtp

import (
	"errors"
	"testing"
)

func TestParseReply(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Reply
	}{
		{"554 5.7.1 Spam message rejected", Reply{554, "5.7.1", "Spam message rejected"}},
		{"553 sorry, you are blocked (#5.7.1)", Reply{553, "5.7.1", "sorry, you are blocked"}},
		{"451 try later", Reply{451, "4.0.0", "try later"}},
		{"550", Reply{550, "5.0.0", ""}},
		{"550-5.7.1 first\r\n550 5.7.1 second\r\n", Reply{550, "5.7.1", "first\nsecond"}},
		{"550-first\n550 second (#5.7.0)", Reply{550, "5.7.0", "first\nsecond"}},
		{"250 ok", Reply{250, "2.0.0", "ok"}},
	} {
		got, err := ParseReply(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseReply(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "sorry", "55 x", "650 x", "+55 x", "554-only a continuation", "554 a\n550 b",
		"554x", "554 4.7.1 wrong class", "554 bad (#4.7.1)", "554 tab\there", "554 \xffbyte", "554-a\n554-b"} {
		if r, err := ParseReply(bad); !errors.Is(err, ErrBadReply) {
			t.Errorf("ParseReply(%q) = %+v, %v; want ErrBadReply", bad, r, err)
		}
	}
}

// FuzzParseReply: what a milter or plugin says either parses into a reply
// that is written as well-formed lines, or is refused.
func FuzzParseReply(f *testing.F) {
	f.Add("554 5.7.1 Spam message rejected")
	f.Add("550-a\r\n550 b (#5.1.1)")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseReply(s)
		if err != nil {
			return
		}
		if r.Code < 200 || r.Code > 599 || r.Enh == "" || r.Enh[0] != byte('0'+r.Code/100) {
			t.Fatalf("%q: %+v", s, r)
		}
		if _, err := ParseReply(r.String()); err != nil {
			t.Fatalf("%q: written as %q, which does not parse: %v", s, r.String(), err)
		}
	})
}
