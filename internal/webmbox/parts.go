package webmbox

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"strconv"
	"strings"
)

// Kept attachments (forward, draft): the parts of the original message
// the user chose to send again, named by part id. A part id is the IMAP
// section number (RFC 3501 6.4.5): "1", "2", "2.1" — the n-th part of a
// multipart, one level per dot; a message that is not multipart is part
// "1". (This must agree with the partids of the message op,
// internal/webmbox/message.go.) The parser here is deliberately small and
// bounded: it only has to find the parts by number and decode them, and
// anything it cannot read is an error the user sees, never a silent
// omission.

const (
	keptMaxDepth = 20
	keptMaxParts = 1000
)

// keptParts reads the parts ids of the message file p.
func keptParts(p string, ids []string, limit int64) ([]outPart, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(raw)) > limit {
		return nil, invalidCompose("the original message is larger than the size limit")
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, invalidCompose("the original message cannot be read: %v", err)
	}
	found := map[string]outPart{}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	count := 0
	if err := walkKept(msg.Header, msg.Body, "", want, found, 0, &count); err != nil {
		return nil, invalidCompose("the original message's attachments cannot be read: %v", err)
	}
	var out []outPart
	for _, id := range ids {
		a, ok := found[id]
		if !ok {
			return nil, invalidCompose("the original message has no part %q", id)
		}
		out = append(out, a)
	}
	return out, nil
}

type keptHeader interface{ Get(string) string }

// walkKept visits the part with header h and body r numbered id ("" for
// the message itself), recording the wanted ones.
func walkKept(h keptHeader, r io.Reader, id string, want map[string]bool, found map[string]outPart, depth int, count *int) error {
	if depth > keptMaxDepth || *count > keptMaxParts {
		return fmt.Errorf("too deeply nested or too many parts")
	}
	*count++
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		mt, params = "text/plain", nil
	}
	if strings.HasPrefix(mt, "multipart/") && params["boundary"] != "" {
		mr := multipart.NewReader(r, params["boundary"])
		for n := 1; ; n++ {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			sub := strconv.Itoa(n)
			if id != "" {
				sub = id + "." + sub
			}
			if err := walkKept(p.Header, p, sub, want, found, depth+1, count); err != nil {
				return err
			}
		}
	}
	if id == "" {
		id = "1"
	}
	if !want[id] {
		return nil
	}
	data, err := decodeCTE(h.Get("Content-Transfer-Encoding"), r)
	if err != nil {
		return fmt.Errorf("part %s: %w", id, err)
	}
	name := ""
	if _, dp, err := mime.ParseMediaType(h.Get("Content-Disposition")); err == nil {
		name = dp["filename"]
	}
	if name == "" {
		name = params["name"]
	}
	if name != "" {
		if dec, err := new(mime.WordDecoder).DecodeHeader(name); err == nil {
			name = dec
		}
	}
	found[id] = outPart{name: name, ctype: mt, data: data}
	return nil
}

func decodeCTE(cte string, r io.Reader) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		return io.ReadAll(base64.NewDecoder(base64.StdEncoding, b64Stripper{r}))
	case "quoted-printable":
		return io.ReadAll(quotedprintable.NewReader(r))
	}
	return io.ReadAll(r)
}

// b64Stripper drops line ends and spaces from base64 text, which the
// standard decoder does not ignore.
type b64Stripper struct{ r io.Reader }

func (n b64Stripper) Read(p []byte) (int, error) {
	for {
		c, err := n.r.Read(p)
		j := 0
		for _, b := range p[:c] {
			if b != '\r' && b != '\n' && b != ' ' && b != '\t' {
				p[j] = b
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}
