package mailstore

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
)

// MaxSearchRead bounds the body search: of each message only the first
// 1 MB of the file is read, so a word past it (in a large attachment,
// typically) is not found. A 100,000-message folder is still read whole
// when a word is in no header: search is the slowest thing a session
// does, and webrpc's call timeout (2 minutes) bounds it.
const MaxSearchRead = 1 << 20

// maxSearchDepth bounds nested multiparts in the body search.
const maxSearchDepth = 8

// search keeps the entries in which every word (lower case) appears in a
// header the index holds or in the body text.
func (s *Store) search(dir string, es []*Entry, words []string) []*Entry {
	var out []*Entry
	for _, e := range es {
		hay := strings.ToLower(e.From + "\x00" + e.ToCc + "\x00" + e.Subject)
		var rest []string
		for _, w := range words {
			if !strings.Contains(hay, w) {
				rest = append(rest, w)
			}
		}
		if len(rest) == 0 || bodyHas(dir, e, rest) {
			out = append(out, e)
		}
	}
	return out
}

// bodyHas reports whether the body text of e contains every word.
func bodyHas(dir string, e *Entry, words []string) bool {
	sub := "cur"
	if e.New {
		sub = "new"
	}
	f, err := os.Open(filepath.Join(dir, sub, e.Name))
	if err != nil {
		return false
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, MaxSearchRead))
	if err != nil {
		return false
	}
	var text bytes.Buffer
	bodyText(&text, raw, 0)
	t := bytes.ToLower(text.Bytes())
	for _, w := range words {
		if !bytes.Contains(t, []byte(w)) {
			return false
		}
	}
	return true
}

// bodyText appends the text of a message or part (header and body in
// raw) to out: text/* parts decoded from quoted-printable or base64,
// multiparts walked. HTML is searched as it is, tags and all. Anything
// it cannot parse is searched raw, so a broken message can still be found.
func bodyText(out *bytes.Buffer, raw []byte, depth int) {
	br := bufio.NewReader(bytes.NewReader(raw))
	hdr, err := textproto.NewReader(br).ReadMIMEHeader()
	if err != nil {
		out.Write(raw)
		return
	}
	body, _ := io.ReadAll(br)
	ct, params, err := mime.ParseMediaType(hdr.Get("Content-Type"))
	if err != nil {
		ct = "text/plain"
	}
	switch {
	case strings.HasPrefix(ct, "multipart/") && params["boundary"] != "" && depth < maxSearchDepth:
		mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				return
			}
			var part bytes.Buffer
			for k, vs := range p.Header {
				for _, v := range vs {
					part.WriteString(k + ": " + v + "\r\n")
				}
			}
			part.WriteString("\r\n")
			io.Copy(&part, p)
			bodyText(out, part.Bytes(), depth+1)
		}
	case ct == "message/rfc822" && depth < maxSearchDepth:
		bodyText(out, body, depth+1)
	case strings.HasPrefix(ct, "text/"):
		switch strings.ToLower(strings.TrimSpace(hdr.Get("Content-Transfer-Encoding"))) {
		case "quoted-printable":
			if b, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body))); err == nil || len(b) > 0 {
				body = b
			}
		case "base64":
			clean := bytes.Map(func(r rune) rune {
				if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
					return -1
				}
				return r
			}, body)
			if b, err := base64.StdEncoding.DecodeString(string(bytes.TrimRight(clean, "="))); err == nil {
				body = b
			} else if b, err := base64.RawStdEncoding.DecodeString(string(bytes.TrimRight(clean, "="))); err == nil {
				body = b
			}
		}
		out.Write(body)
		out.WriteByte('\n')
	}
}
