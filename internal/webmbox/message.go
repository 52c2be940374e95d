package webmbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"goqmail/internal/mailstore"
	"goqmail/internal/mimeview"
	"goqmail/internal/webrpc"
)

// The ops that show a stored message: message (parsed, sanitized),
// part (one part's bytes) and raw (the file). Parsing is mimeview's,
// here, under the mailbox owner's uid (session.go).

func init() {
	register(OpMessage, (*Session).message)
	register(OpPart, (*Session).part)
	register(OpRaw, (*Session).raw)
}

// maxCell bounds one shown text or HTML document: a row travels in one
// webrpc frame (ipc.MaxFrame, 1 MiB) with its tag and framing.
const maxCell = 900 << 10

// readMessage reads the message file of folder/id, at most its first max
// bytes (tooBig says there are more).
func (s *Session) readMessage(folder, id string, max int64) (data []byte, path string, tooBig bool, resp *webrpc.Response) {
	p, err := s.Store.Path(folder, id)
	if err != nil {
		return nil, "", false, storeError(err)
	}
	f, err := os.Open(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) { // moved or deleted meanwhile
			return nil, "", false, storeError(fmt.Errorf("message %s in %s: %w", id, folder, mailstore.ErrNotFound))
		}
		return nil, "", false, storeError(err)
	}
	defer f.Close()
	data, err = io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, "", false, storeError(err)
	}
	if int64(len(data)) > max {
		return data[:max], p, true, nil
	}
	return data, p, false, nil
}

// message [folder, id, images] → tagged rows (ops.go); sets Seen.
func (s *Session) message(req *webrpc.Request) *webrpc.Response {
	folder, id := req.Arg(0), req.Arg(1)
	images, ok := boolArg(req.Arg(2))
	if !ok {
		return webrpc.Errorf(webrpc.Invalid, "images must be 0 or 1, not %q", req.Arg(2))
	}
	// A message larger than mimeview reads is shown as far as it reads.
	raw, _, tooBig, resp := s.readMessage(folder, id, mimeview.MaxMessage)
	if resp != nil {
		return resp
	}
	v := mimeview.Parse(raw, mimeview.Options{Images: images, MaxHTML: maxCell})
	if err := s.Store.SetFlags(folder, id, "S", ""); err != nil {
		// Shown all the same: a message moved meanwhile, a read-only
		// mailbox. The next list shows the true flags.
		s.Log.Printf("warning: webmail %s: cannot mark %s/%s seen: %v", s.Login, folder, id, err)
	}
	flags := ""
	if p, err := s.Store.Path(folder, id); err == nil {
		flags = mailstore.Flags(p)
	}
	date := ""
	if !v.Date.IsZero() {
		date = strconv.FormatInt(v.Date.Unix(), 10)
	}
	rows := [][]string{
		{"from", v.From}, {"to", v.To}, {"cc", v.Cc}, {"replyto", v.ReplyTo}, {"date", date},
		{"subject", v.Subject}, {"messageid", v.MessageID}, {"flags", flags},
	}
	if text := cutCell(v.Text); text != "" || v.HTML == "" {
		rows = append(rows, []string{"text", text})
	}
	if v.HTML != "" {
		rows = append(rows, []string{"html", v.HTML})
	}
	if v.RemoteImages {
		rows = append(rows, []string{"remoteimages", "1"})
	}
	if v.Truncated || tooBig || len(v.Text) > maxCell {
		rows = append(rows, []string{"truncated", "1"})
	}
	for _, a := range v.Attachments {
		rows = append(rows, []string{"att", a.ID, a.Type, a.Name, strconv.Itoa(a.Size), bit(a.Inline), a.ContentID})
	}
	for _, h := range v.Headers {
		rows = append(rows, []string{"header", h.Name, cutCell(h.Value)})
	}
	return &webrpc.Response{Rows: rows}
}

// part [folder, id, partid] → Blob, rows [["type", t], ["name", n]].
func (s *Session) part(req *webrpc.Request) *webrpc.Response {
	folder, id, partID := req.Arg(0), req.Arg(1), req.Arg(2)
	if partID == "" || len(partID) > 64 {
		return webrpc.Errorf(webrpc.Invalid, "part id %q is not valid", partID)
	}
	raw, _, tooBig, resp := s.readMessage(folder, id, mimeview.MaxMessage)
	if resp != nil {
		return resp
	}
	if tooBig {
		return webrpc.Errorf(webrpc.Failed, "message %s is larger than %d bytes: download it whole", id, mimeview.MaxMessage)
	}
	v := mimeview.Parse(raw, mimeview.Options{Structure: true})
	p, ok := v.FindPart(partID)
	if !ok {
		return webrpc.Errorf(webrpc.NotFound, "message %s has no part %s", id, partID)
	}
	data := p.Data()
	if len(data) > webrpc.MaxBlob {
		return webrpc.Errorf(webrpc.Failed, "part %s is too large to serve", partID)
	}
	return &webrpc.Response{Rows: [][]string{{"type", p.ContentType()}, {"name", p.Name}}, Blob: data}
}

// raw [folder, id] → Blob: the file as stored.
func (s *Session) raw(req *webrpc.Request) *webrpc.Response {
	raw, _, tooBig, resp := s.readMessage(req.Arg(0), req.Arg(1), webrpc.MaxBlob)
	if resp != nil {
		return resp
	}
	if tooBig {
		return webrpc.Errorf(webrpc.Failed, "message %s is larger than %d bytes, the most the web can serve", req.Arg(1), webrpc.MaxBlob)
	}
	return &webrpc.Response{Blob: raw}
}

// boolArg reads "0", "1" or "" (0).
func boolArg(v string) (bool, bool) {
	switch v {
	case "", "0":
		return false, true
	case "1":
		return true, true
	}
	return false, false
}

func bit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// cutCell shortens a text to maxCell bytes without splitting a character.
func cutCell(s string) string {
	if len(s) <= maxCell {
		return s
	}
	n := maxCell
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
