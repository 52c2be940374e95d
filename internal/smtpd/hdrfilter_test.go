package smtpd

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

func dropXDrop(field []byte) bool {
	return strings.EqualFold(string(fieldName(field)), "X-Drop")
}

// filterRef is the line-by-line reference: fields named X-Drop (with their
// continuation lines) leave the header section; the body stays.
func filterRef(msg string) string {
	var out strings.Builder
	lines := strings.SplitAfter(msg, "\n")
	body, dropping := false, false
	for _, l := range lines {
		switch {
		case body:
		case l == "\n":
			body = true
		case len(l) > 0 && (l[0] == ' ' || l[0] == '\t') && out.Len()+1 > 0 && !dropping:
		case len(l) > 0 && (l[0] == ' ' || l[0] == '\t'):
			continue
		default:
			dropping = dropXDrop([]byte(l))
			if dropping {
				continue
			}
		}
		out.WriteString(l)
	}
	return out.String()
}

func TestHeaderFilter(t *testing.T) {
	long := "X-Drop: " + strings.Repeat("a", maxHeldField+100) + "\n\tmore\n"
	keepLong := "X-Keep: " + strings.Repeat("b", maxHeldField+100) + "\n\tmore\n"
	for _, msg := range []string{
		"Subject: x\nX-Drop: forged\nFrom: a\n\nbody\nX-Drop: in the body stays\n",
		"X-Drop: a\n  folded\n\tand again\nSubject: y\n\nb\n",
		"x-drop: lower case\nSubject: z\n\n",
		"Subject: header only\nX-Drop: last\n",
		"\nno header at all\nX-Drop: body\n",
		"Subject: no body\n\n",
		"X-Dropped: not the same name\n\n",
		long + "Subject: after a long one\n\nbody\n",
		keepLong + "X-Drop: then this\n\nbody\n",
		"Subject: partial last line",
	} {
		want := filterRef(msg)
		for trial := 0; trial < 50; trial++ {
			var out bytes.Buffer
			f := newHeaderFilter(&out, dropXDrop)
			rest := msg
			for len(rest) > 0 {
				n := 1 + rand.IntN(min(len(rest), 200))
				if trial == 0 {
					n = len(rest)
				}
				f.Write([]byte(rest[:n]))
				rest = rest[n:]
			}
			f.Close()
			if out.String() != want {
				t.Fatalf("message %q in pieces (trial %d):\n got %q\nwant %q", msg[:min(len(msg), 60)], trial, trunc(out.String()), trunc(want))
			}
		}
	}
}

func trunc(s string) string {
	if len(s) > 200 {
		return s[:100] + "..." + s[len(s)-100:]
	}
	return s
}

// FuzzHeaderFilter: any message in any pieces comes out as the reference
// says, and nothing after the header section is ever changed.
func FuzzHeaderFilter(f *testing.F) {
	f.Add("Subject: x\nX-Drop: y\n z\n\nbody\n", uint8(3))
	f.Add("X-Drop:\n\n", uint8(1))
	f.Fuzz(func(t *testing.T, msg string, step uint8) {
		if strings.ContainsRune(msg, '\r') {
			return // the stored form has LF line ends only
		}
		var out bytes.Buffer
		flt := newHeaderFilter(&out, dropXDrop)
		n := int(step%64) + 1
		for i := 0; i < len(msg); i += n {
			flt.Write([]byte(msg[i:min(i+n, len(msg))]))
		}
		flt.Close()
		if want := filterRef(msg); out.String() != want && len(msg) < maxHeldField {
			t.Fatalf("got %q want %q", out.String(), want)
		}
	})
}
