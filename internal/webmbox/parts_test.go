package webmbox

import (
	"bytes"
	"net/mail"
	"os"
	"path/filepath"
	"testing"

	"goqmail/internal/webrpc"
)

// FuzzKeptParts: any message file; finding and decoding parts never
// panics and never returns more bytes than the file holds.
func FuzzKeptParts(f *testing.F) {
	f.Add([]byte(original))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: multipart/mixed; boundary=a\n\n--a\n--a--\n"))
	f.Add([]byte("Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\n!!!\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "m")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		atts, err := keptParts(p, []string{"1", "2", "1.1"}, 1<<20)
		if err != nil {
			return
		}
		for _, a := range atts {
			if len(a.data) > len(data) {
				t.Fatalf("part of %d bytes from a file of %d", len(a.data), len(data))
			}
		}
	})
}

// FuzzBuild: whatever the browser sends, a message that is built has a
// header that parses, keeps its Bcc to itself, and no line over 998.
func FuzzBuild(f *testing.F) {
	f.Add("Bob <bob@example.com>", "a@example.org, \"Ä\" <b@example.org>", "Grüße\r\nBcc: x@y", "body\r\n.\r\nFrom x\n", "r\"é\\.pdf", "text/html; x")
	f.Fuzz(func(t *testing.T, from, to, subject, body, fname, ftype string) {
		s := &Session{Address: "bob@example.com"}
		req := &webrpc.Request{Op: OpSend, Args: []string{from, to, "", "hidden@example.org", subject, body},
			Files: []webrpc.File{{Name: fname, Type: ftype, Data: []byte(body)}}}
		c, err := s.parseCompose(req, false)
		if err != nil {
			return
		}
		raw := c.build(composeClock(), []outPart{{name: fname, ctype: ftype, data: []byte(body)}}, false)
		m, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("does not parse: %v\n%s", err, raw)
		}
		if len(m.Header["Bcc"]) > 0 || bytes.Contains(raw, []byte("hidden@")) {
			t.Fatalf("Bcc shows:\n%s", raw)
		}
		if to := m.Header.Get("To"); to != "undisclosed-recipients:;" {
			if _, err := m.Header.AddressList("To"); err != nil {
				t.Fatalf("To does not parse: %v\n%s", err, raw)
			}
		}
		for _, l := range bytes.Split(raw, []byte("\n")) {
			if len(l) > 998 {
				t.Fatalf("line of %d bytes", len(l))
			}
		}
	})
}
