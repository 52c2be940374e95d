package web

import (
	"io"
	"net/http"
	"net/url"
	"strings"

	"goqmail/internal/webrpc"
)

type composeData struct {
	CSRF, Mode, To, Cc, Bcc, Subject, Body string
	InReplyTo, References, DraftID         string
	OrigFolder, OrigID                     string
	FromChoice                             []option
	Atts                                   []attView
	MaxFiles                               int
	MaxUpload                              int64
}

var composeTitles = map[string]string{"new": "Write", "reply": "Reply", "replyall": "Reply to all", "forward": "Forward", "draft": "Draft"}

func (s *Server) composePage(c *reqCtx) {
	q := c.r.URL.Query()
	mode := oneOf(q.Get("mode"), "new", "reply", "replyall", "forward", "draft")
	folder, id := q.Get("f"), q.Get("id")
	if mode == "new" {
		folder, id = "", ""
	}
	resp := c.call(c.s.mbox, opCompose, mode, folder, id)
	if resp == nil {
		return
	}
	d := composeData{CSRF: c.s.csrf, Mode: mode, MaxFiles: webrpc.MaxFiles, MaxUpload: s.lim.MaxUpload}
	switch mode {
	case "draft":
		d.DraftID = id
	case "reply", "replyall", "forward":
		d.OrigFolder, d.OrigID = folder, id
	}
	from := ""
	for _, r := range resp.Rows {
		if len(r) < 2 {
			continue
		}
		switch r[0] {
		case "from":
			from = r[1]
		case "to":
			d.To = r[1]
		case "cc":
			d.Cc = r[1]
		case "bcc":
			d.Bcc = r[1]
		case "subject":
			d.Subject = r[1]
		case "body":
			d.Body = r[1]
		case "inreplyto":
			d.InReplyTo = r[1]
		case "references":
			d.References = r[1]
		case "fromchoice":
			d.FromChoice = append(d.FromChoice, option{Value: r[1], Label: r[1]})
		case "att":
			if len(r) >= 5 {
				d.Atts = append(d.Atts, attView{ID: r[1], Type: r[2], Name: r[3], Size: atoi64(r[4])})
			}
		}
	}
	if len(d.FromChoice) == 0 && from != "" {
		d.FromChoice = append(d.FromChoice, option{Value: from, Label: from})
	}
	for i := range d.FromChoice {
		d.FromChoice[i].Selected = d.FromChoice[i].Value == from
	}
	c.render(http.StatusOK, "compose", composeTitles[mode], d)
}

// compose sends the form or saves it as a draft. The uploads were read
// under the front's bound (Limits.MaxUpload, the whole form); their names
// and types go to the session as the browser sent them (hostile; the
// session builds the MIME message).
func (s *Server) compose(c *reqCtx) {
	f := c.r.PostForm
	var files []webrpc.File
	if mf := c.r.MultipartForm; mf != nil {
		fhs := mf.File["attach"]
		if len(fhs) > webrpc.MaxFiles {
			c.fail(http.StatusRequestEntityTooLarge, "Too many files", "Attach at most 32 files to one message.")
			return
		}
		for _, fh := range fhs {
			if fh.Filename == "" && fh.Size == 0 {
				continue // the empty file input
			}
			rd, err := fh.Open()
			if err != nil {
				c.fail(http.StatusBadRequest, "Bad upload", "The file "+fh.Filename+" could not be read: "+err.Error())
				return
			}
			data, err := io.ReadAll(rd)
			rd.Close()
			if err != nil {
				c.fail(http.StatusBadRequest, "Bad upload", "The file "+fh.Filename+" could not be read: "+err.Error())
				return
			}
			files = append(files, webrpc.File{Name: fh.Filename, Type: fh.Header.Get("Content-Type"), Data: data})
		}
	}
	args := []string{f.Get("from"), f.Get("to"), f.Get("cc"), f.Get("bcc"), f.Get("subject"), f.Get("body"),
		f.Get("inreplyto"), f.Get("references"), f.Get("draftid"), f.Get("origfolder"), f.Get("origid"),
		f.Get("mode"), strings.Join(f["keep"], ",")}
	if f.Get("action") == "draft" {
		resp := c.callFiles(c.s.mbox, opDraft, args, files)
		if resp == nil {
			return
		}
		newID := f.Get("draftid")
		if len(resp.Rows) > 0 && len(resp.Rows[0]) > 0 {
			newID = resp.Rows[0][0]
		}
		c.done("Draft saved.", "/compose?"+url.Values{"mode": {"draft"}, "f": {"Drafts"}, "id": {newID}}.Encode())
		return
	}
	resp := c.callFiles(c.s.mbox, opSend, args, files)
	if resp == nil {
		return
	}
	msg := resp.Text
	if msg == "" {
		msg = "Sent."
	}
	c.done(msg, "/mail")
}
