package mailauth

import (
	"strings"
	"testing"
)

// FuzzHeaderFields feeds client-controlled header text to what reads it:
// the authserv-id of a field (which decides whether smtpd drops it), the
// From domains (which decide the DMARC policy) and the signature tags.
// Nothing may panic; a field that claims an id must name it.
func FuzzHeaderFields(f *testing.F) {
	for _, s := range []string{
		"Authentication-Results: (c) \"mx.example.org\"; dkim=pass\n",
		"From: \"a@b\" <c@d.example>, e@f.example\nDKIM-Signature: v=1; d=x; s=y; b=abc\n\n",
		"authentication-results:\n mx.example.org(\\)\n",
		"From: <<@@\n\tcontinued\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id := AuthServID(s)
		if ClaimsID([]byte("Authentication-Results:"+s), "mx.example.org") && !strings.EqualFold(strings.TrimSuffix(id, "."), "mx.example.org") {
			t.Fatalf("claims mx.example.org but its id is %q", id)
		}
		var h headerCapture
		h.Write([]byte(s))
		if len(h.buf) > MaxHeader {
			t.Fatalf("kept %d bytes", len(h.buf))
		}
		for _, d := range FromDomains(h.buf) {
			if d == "" || strings.ToLower(d) != d {
				t.Fatalf("From domain %q", d)
			}
		}
		fillTags(make([]DKIMResult, 3), h.buf)
	})
}
