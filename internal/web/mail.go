package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Op names of the mailbox session (internal/webmbox/ops.go). The front
// does not link internal/webmbox (it would link the mail parsers the front
// must not hold); ops_test.go checks these against the contract's file.
const (
	opHello        = "hello"
	opFolders      = "folders"
	opFolderCreate = "folder.create"
	opFolderRename = "folder.rename"
	opFolderDelete = "folder.delete"
	opList         = "list"
	opMessage      = "message"
	opPart         = "part"
	opRaw          = "raw"
	opFlags        = "flags"
	opMove         = "move"
	opDelete       = "delete"
	opCompose      = "compose"
	opSend         = "send"
	opDraft        = "draft"
	opSettings     = "settings"
	opSetForward   = "settings.forward"
	opSetVacation  = "settings.vacation"
	opSetJunk      = "settings.junk"
)

const pageSize = 50

type folderRow struct {
	Name, Role, Total, Unread string
	Current                   bool
}

type msgRow struct {
	ID, Flags, Date, From, Subject, Link string
	Size                                 int64
	Seen, Flagged, Answered, Att         bool
}

type mailData struct {
	Folder, Query string
	Folders       []folderRow
	Messages      []msgRow
	Total         int
	Page, Pages   int
	Prev, Next    string
	Sorts, Orders []option
}

func (c *reqCtx) folders(current string) ([]folderRow, bool) {
	resp := c.call(c.s.mbox, opFolders)
	if resp == nil {
		return nil, false
	}
	var out []folderRow
	for _, r := range resp.Rows {
		if len(r) < 4 {
			continue
		}
		out = append(out, folderRow{Name: r[0], Role: r[1], Total: r[2], Unread: r[3], Current: r[0] == current})
	}
	return out, true
}

func oneOf(v string, allowed ...string) string {
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	return allowed[0]
}

func (s *Server) mailbox(c *reqCtx) {
	q := c.r.URL.Query()
	folder := q.Get("f")
	if folder == "" {
		folder = "INBOX"
	}
	sortBy := oneOf(q.Get("sort"), "date", "from", "subject", "size")
	order := oneOf(q.Get("order"), "desc", "asc")
	query := q.Get("q")
	page, _ := strconv.Atoi(q.Get("page"))
	if page < 1 {
		page = 1
	}
	// The list before the folders: the session then counts the folder
	// from the scan the list just made instead of reading its names
	// again (internal/mailstore, count), half the work of a page of a
	// large folder that changed.
	resp := c.call(c.s.mbox, opList, folder, sortBy, order, strconv.Itoa((page-1)*pageSize), strconv.Itoa(pageSize), query)
	if resp == nil {
		return
	}
	fs, ok := c.folders(folder)
	if !ok {
		return
	}
	d := mailData{Folder: folder, Query: query, Folders: fs, Page: page}
	d.Total, _ = strconv.Atoi(resp.Text)
	d.Pages = max(1, (d.Total+pageSize-1)/pageSize)
	for _, r := range resp.Rows {
		if len(r) < 7 {
			continue
		}
		m := msgRow{ID: r[0], Flags: r[1], Date: r[2], From: r[3], Subject: r[4], Size: atoi64(r[5]), Att: r[6] == "1"}
		m.Seen = strings.Contains(m.Flags, "S")
		m.Flagged = strings.Contains(m.Flags, "F")
		m.Answered = strings.Contains(m.Flags, "R")
		m.Link = "/msg?" + url.Values{"f": {folder}, "id": {m.ID}}.Encode()
		d.Messages = append(d.Messages, m)
	}
	link := func(p int) string {
		return "/mail?" + url.Values{"f": {folder}, "sort": {sortBy}, "order": {order}, "q": {query}, "page": {strconv.Itoa(p)}}.Encode()
	}
	if page > 1 {
		d.Prev = link(page - 1)
	}
	if page < d.Pages {
		d.Next = link(page + 1)
	}
	for _, o := range [][2]string{{"date", "Date"}, {"from", "Sender"}, {"subject", "Subject"}, {"size", "Size"}} {
		d.Sorts = append(d.Sorts, option{Value: o[0], Label: o[1], Selected: o[0] == sortBy})
	}
	for _, o := range [][2]string{{"desc", "Newest / largest first"}, {"asc", "Oldest / smallest first"}} {
		d.Orders = append(d.Orders, option{Value: o[0], Label: o[1], Selected: o[0] == order})
	}
	c.render(http.StatusOK, "mail", folder, d)
}

type attView struct {
	ID, Type, Name, Link, Inline string
	Size                         int64
	Image                        bool
}

type messageData struct {
	Folder, ID                                      string
	From, To, Cc, ReplyTo, Date, Subject, MessageID string
	Flags, Text, Frame                              string
	HTML, RemoteImages, IsDraft                     bool
	Atts                                            []attView
	Headers                                         []kv
	Forms                                           []*form
}

// message shows one message. Reading it sets its Seen flag (the session's
// message op does): the one state a GET changes, as an IMAP client's
// FETCH of the body does, and harmless to repeat. The cookie is
// SameSite=Strict, so another site cannot make a browser do it.
func (s *Server) message(c *reqCtx) {
	q := c.r.URL.Query()
	folder, id := q.Get("f"), q.Get("id")
	images := "0"
	if q.Get("images") == "1" {
		images = "1"
	}
	resp := c.call(c.s.mbox, opMessage, folder, id, images)
	if resp == nil {
		return
	}
	fs, ok := c.folders(folder)
	if !ok {
		return
	}
	d := messageData{Folder: folder, ID: id}
	for _, r := range resp.Rows {
		if len(r) < 2 {
			continue
		}
		switch r[0] {
		case "from":
			d.From = r[1]
		case "to":
			d.To = r[1]
		case "cc":
			d.Cc = r[1]
		case "replyto":
			d.ReplyTo = r[1]
		case "date":
			d.Date = r[1]
		case "subject":
			d.Subject = r[1]
		case "messageid":
			d.MessageID = r[1]
		case "flags":
			d.Flags = r[1]
		case "text":
			d.Text = r[1]
		case "html":
			d.HTML = true
		case "remoteimages":
			d.RemoteImages = r[1] == "1" && images != "1"
		case "header":
			if len(r) >= 3 {
				d.Headers = append(d.Headers, kv{r[1], r[2]})
			}
		case "att":
			if len(r) < 6 {
				continue
			}
			a := attView{ID: r[1], Type: r[2], Name: r[3], Size: atoi64(r[4])}
			pl := url.Values{"f": {folder}, "id": {id}, "p": {a.ID}}
			a.Link = "/msg/part?" + pl.Encode()
			if safeImage(a.Type) {
				a.Image = true
				pl.Set("inline", "1")
				a.Inline = "/msg/part?" + pl.Encode()
			}
			d.Atts = append(d.Atts, a)
		}
	}
	d.IsDraft = strings.Contains(d.Flags, "D")
	fl := url.Values{"f": {folder}, "id": {id}, "images": {images}}
	d.Frame = "/msg/html?" + fl.Encode()
	toggle := func(letter, on, off string) *form {
		if strings.Contains(d.Flags, letter) {
			return c.inline("/msg/flags", off, "f", folder, "id", id, "change", "-"+letter)
		}
		return c.inline("/msg/flags", on, "f", folder, "id", id, "change", "+"+letter)
	}
	d.Forms = append(d.Forms,
		toggle("S", "Mark read", "Mark unread"),
		toggle("F", "Flag", "Unflag"),
		toggle("R", "Mark answered", "Mark not answered"),
		toggle("T", "Mark deleted", "Unmark deleted"))
	mv := c.inline("/msg/move", "Move", "f", folder, "id", id)
	var opts []string
	for _, f := range fs {
		if f.Name != folder {
			opts = append(opts, f.Name, f.Name)
		}
	}
	if len(opts) > 0 {
		mv.choose("to", "to folder", "", opts...)
		d.Forms = append(d.Forms, mv)
	}
	del := "Delete"
	for _, f := range fs {
		if f.Name == folder && f.Role == "trash" {
			del = "Delete for good"
		}
	}
	d.Forms = append(d.Forms, c.inline("/msg/delete", del, "f", folder, "id", id).danger())
	c.render(http.StatusOK, "message", d.Subject, d)
}

func (s *Server) setFlags(c *reqCtx) {
	f := c.r.PostForm
	change := f.Get("change")
	if len(change) < 2 || (change[0] != '+' && change[0] != '-') || strings.Trim(change[1:], "SRFT") != "" {
		c.fail(http.StatusBadRequest, "Not possible", "The flag change must be + or - followed by S, R, F or T.")
		return
	}
	if c.call(c.s.mbox, opFlags, f.Get("f"), f.Get("id"), change) == nil {
		return
	}
	c.done("", "/msg?"+url.Values{"f": {f.Get("f")}, "id": {f.Get("id")}}.Encode())
}

func (s *Server) move(c *reqCtx) {
	f := c.r.PostForm
	if c.call(c.s.mbox, opMove, f.Get("f"), f.Get("id"), f.Get("to")) == nil {
		return
	}
	c.done("Moved to "+f.Get("to")+".", "/mail?"+url.Values{"f": {f.Get("f")}}.Encode())
}

func (s *Server) deleteMessage(c *reqCtx) {
	f := c.r.PostForm
	if c.call(c.s.mbox, opDelete, f.Get("f"), f.Get("id")) == nil {
		return
	}
	c.done("Deleted.", "/mail?"+url.Values{"f": {f.Get("f")}}.Encode())
}
