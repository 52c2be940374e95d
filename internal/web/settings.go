package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"
)

func (s *Server) foldersPage(c *reqCtx) {
	fs, ok := c.folders("")
	if !ok {
		return
	}
	sec := section{Heading: "Your folders", Columns: []string{"Folder", "Messages", "Unread"}, Actions: true}
	for _, f := range fs {
		row := trow{Cells: []cell{{Text: f.Name, Link: "/mail?f=" + urlq(f.Name)}, {Text: f.Total}, {Text: f.Unread}}}
		if f.Role == "" {
			row.Forms = append(row.Forms,
				c.inline("/folders/rename", "Rename", "name", f.Name).text("newname", "New name", ""),
				c.inline("/folders/delete", "Delete with its messages", "name", f.Name).confirmed())
		}
		sec.Rows = append(sec.Rows, row)
	}
	add := section{Heading: "New folder", Text: "A dot makes a subfolder (Archive.2026), as IMAP clients show it.",
		Forms: []*form{c.form("/folders/create", "Create").text("name", "Name", "")}}
	c.render(http.StatusOK, "generic", "Folders", genericPage{Sections: []section{sec, add}})
}

func (s *Server) folderCreate(c *reqCtx) {
	name := c.r.PostForm.Get("name")
	if c.call(c.s.mbox, opFolderCreate, name) != nil {
		c.done("Folder "+name+" created.", "/folders")
	}
}

func (s *Server) folderRename(c *reqCtx) {
	f := c.r.PostForm
	if c.call(c.s.mbox, opFolderRename, f.Get("name"), f.Get("newname")) != nil {
		c.done("Folder "+f.Get("name")+" is now "+f.Get("newname")+".", "/folders")
	}
}

func (s *Server) folderDelete(c *reqCtx) {
	if !c.confirmOK() {
		return
	}
	name := c.r.PostForm.Get("name")
	if c.call(c.s.mbox, opFolderDelete, name) != nil {
		c.done("Folder "+name+" deleted.", "/folders")
	}
}

func tagged(rows [][]string) map[string][]string {
	m := map[string][]string{}
	for _, r := range rows {
		if len(r) >= 1 {
			if _, dup := m[r[0]]; !dup {
				m[r[0]] = r[1:]
			}
		}
	}
	return m
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// dateOf shows a Unix time as an <input type=date> value (UTC).
func dateOf(unix string) string {
	n, err := strconv.ParseInt(unix, 10, 64)
	if err != nil || unix == "" {
		return ""
	}
	return time.Unix(n, 0).UTC().Format("2006-01-02")
}

func (s *Server) settingsPage(c *reqCtx) {
	hello := c.call(c.s.mbox, opHello)
	if hello == nil {
		return
	}
	resp := c.call(c.s.mbox, opSettings)
	if resp == nil {
		return
	}
	t := tagged(resp.Rows)
	var secs []section
	if len(hello.Rows) > 0 && len(hello.Rows[0]) >= 5 {
		h := hello.Rows[0]
		text := "You are " + h[0] + " (" + h[1] + "). Your mailbox uses " + humanBytes(atoi64(h[3]))
		if lim := atoi64(h[4]); lim > 0 {
			text += " of " + humanBytes(lim)
		}
		text += "."
		if q := t["quota"]; len(q) >= 4 && atoi64(q[3]) > 0 {
			text += " Messages: " + q[2] + " of " + q[3] + "."
		}
		secs = append(secs, section{Heading: "Account and quota", Text: text})
	}
	pw := c.form("/settings/password", "Change password").typed("password", "old", "Current password", "").
		typed("password", "new", "New password", "").typed("password", "new2", "New password again", "")
	secs = append(secs, section{Heading: "Password", Forms: []*form{pw}})
	fw := c.form("/settings/forward", "Save forwarding").text("forward", "Forward to (addresses, comma-separated; empty: no forwarding)", first(t["forward"])).
		check("keepcopy", "Keep a copy here", first(t["keepcopy"]) == "1")
	secs = append(secs, section{Heading: "Forwarding", Forms: []*form{fw}})
	vac := c.form("/settings/vacation", "Save vacation reply").check("on", "Answer mail automatically", first(t["vacation"]) == "1").
		text("subject", "Subject", first(t["vacsubject"])).typed("textarea", "body", "Text", first(t["vacbody"])).
		typed("number", "days", "Answer each sender at most once in this many days", first(t["vacdays"])).
		typed("date", "from", "From (optional)", dateOf(first(t["vacfrom"]))).
		typed("date", "until", "Until (optional)", dateOf(first(t["vacuntil"])))
	secs = append(secs, section{Heading: "Vacation reply", Text: "Never sent to mailing lists, bulk mail or bounces.", Forms: []*form{vac}})
	junk := c.form("/settings/junk", "Save").choose("junk", "Mail marked as spam goes to", first(t["junk"]), "folder", "the Junk folder", "inbox", "the inbox")
	secs = append(secs, section{Heading: "Spam", Forms: []*form{junk}})
	c.render(http.StatusOK, "generic", "Settings", genericPage{Sections: secs})
}

func (s *Server) setPassword(c *reqCtx) {
	f := c.r.PostForm
	if f.Get("new") != f.Get("new2") {
		c.fail(http.StatusBadRequest, "Not changed", "The two new passwords differ. Type the same new password twice.")
		return
	}
	if f.Get("old") == "" || f.Get("new") == "" {
		c.fail(http.StatusBadRequest, "Not changed", "Type your current password and a new one.")
		return
	}
	ctx, cancel := context.WithTimeout(c.r.Context(), loginTimeout)
	defer cancel()
	ok, temp, text, err := s.auth.ChangePassword(ctx, c.s.user, f.Get("old"), f.Get("new"), c.ip)
	switch {
	case err != nil:
		s.log.Printf("warning: web password change of %s: %v", c.s.user, err)
		c.fail(http.StatusServiceUnavailable, "Not changed", "The login service is not answering. Try again in a few minutes.")
	case temp:
		c.fail(http.StatusServiceUnavailable, "Not changed", orText(text, "The password cannot be changed just now. Try again in a few minutes."))
	case !ok:
		c.fail(http.StatusBadRequest, "Not changed", orText(text, "The current password is wrong, or the new one is not accepted."))
	default:
		s.log.Printf("web password changed for %s from %s", c.s.user, c.ip)
		c.done(orText(text, "Password changed."), "/settings")
	}
}

func orText(text, def string) string {
	if text != "" {
		return text
	}
	return def
}

func bool01(v string) string {
	if v == "1" || v == "on" {
		return "1"
	}
	return "0"
}

// unixOfDate turns an <input type=date> value into Unix seconds (UTC
// midnight); "" stays "".
func unixOfDate(v string) (string, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", true
	}
	t, err := time.Parse("2006-01-02", v)
	if err != nil {
		return "", false
	}
	return strconv.FormatInt(t.Unix(), 10), true
}

func (s *Server) setForward(c *reqCtx) {
	f := c.r.PostForm
	if c.call(c.s.mbox, opSetForward, f.Get("forward"), bool01(f.Get("keepcopy"))) != nil {
		c.done("Forwarding saved.", "/settings")
	}
}

func (s *Server) setVacation(c *reqCtx) {
	f := c.r.PostForm
	from, ok1 := unixOfDate(f.Get("from"))
	until, ok2 := unixOfDate(f.Get("until"))
	if !ok1 || !ok2 {
		c.fail(http.StatusBadRequest, "Not saved", "Dates must be written as YYYY-MM-DD.")
		return
	}
	if c.call(c.s.mbox, opSetVacation, bool01(f.Get("on")), f.Get("subject"), f.Get("body"), f.Get("days"), from, until) != nil {
		c.done("Vacation reply saved.", "/settings")
	}
}

func (s *Server) setJunk(c *reqCtx) {
	if c.call(c.s.mbox, opSetJunk, c.r.PostForm.Get("junk")) != nil {
		c.done("Spam setting saved.", "/settings")
	}
}
