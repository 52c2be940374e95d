package mimeview

import (
	"os"
	"strings"
	"testing"
)

// FuzzParse: no input panics, every result stays in its bounds, and the
// HTML shown passes the corpus test's walker. Seeded with the hostile
// corpus (files small enough to mutate usefully).
func FuzzParse(f *testing.F) {
	files, err := CorpusFiles()
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) <= 64<<10 {
			f.Add(b, false)
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte, images bool) {
		v := Parse(raw, Options{Images: images})
		checkBounds(t, "fuzz", v)
		if v.HTML != "" {
			if p := checkDocument(v.HTML, images); len(p) > 0 {
				t.Errorf("unsafe document: %s\n%s", strings.Join(p, "\n"), v.HTML)
			}
		}
		for _, h := range []string{v.RawFrom, v.RawTo, v.RawCc, v.RawReplyTo, v.RawBcc} {
			for _, a := range ParseAddresses(h) {
				if strings.ContainsAny(a.Name+a.Addr, "\r\n\x00") || strings.ContainsAny(a.Addr, " \t<>") {
					t.Errorf("address %q <%q> from %q", a.Name, a.Addr, h)
				}
			}
		}
		for _, a := range v.Attachments {
			if d := a.Data(); len(d) > len(raw) {
				t.Errorf("part %s decodes to %d bytes from a %d-byte message", a.ID, len(d), len(raw))
			}
		}
	})
}
