package web

import (
	"net/http"
	"net/url"
)

// The generic page: sections of text, a table whose rows carry action
// forms, and forms. Folders, settings and every administration page are
// built from it, so each of them is a list of ops and fields, not markup.

type genericPage struct {
	Links    []cell // sub-navigation
	Sections []section
}

type section struct {
	Heading string
	Text    string
	Pre     string
	Columns []string
	Actions bool // the rows carry forms
	Rows    []trow
	Forms   []*form
}

type trow struct {
	Cells []cell
	Forms []*form
}

type cell struct{ Text, Link string }

type kv struct{ Name, Value string }

type form struct {
	CSRF      string
	Action    string
	Submit    string
	Hidden    []kv
	Fields    []field
	Danger    bool
	Inline    bool
	Multipart bool
}

type field struct {
	Name, Label, Type, Value string
	Options                  []option
	Checked, Required        bool
}

type option struct {
	Value, Label string
	Selected     bool
}

// form starts a form of this session (its CSRF token included).
func (c *reqCtx) form(action, submit string, hidden ...string) *form {
	f := &form{CSRF: c.s.csrf, Action: action, Submit: submit}
	for i := 0; i+1 < len(hidden); i += 2 {
		f.Hidden = append(f.Hidden, kv{hidden[i], hidden[i+1]})
	}
	return f
}

// inline is a one-button form in a table row.
func (c *reqCtx) inline(action, submit string, hidden ...string) *form {
	f := c.form(action, submit, hidden...)
	f.Inline = true
	return f
}

func (f *form) text(name, label, value string) *form {
	f.Fields = append(f.Fields, field{Name: name, Label: label, Type: "text", Value: value})
	return f
}

func (f *form) typed(typ, name, label, value string) *form {
	f.Fields = append(f.Fields, field{Name: name, Label: label, Type: typ, Value: value})
	return f
}

func (f *form) check(name, label string, on bool) *form {
	f.Fields = append(f.Fields, field{Name: name, Label: label, Type: "checkbox", Checked: on})
	return f
}

func (f *form) choose(name, label, cur string, values ...string) *form {
	fl := field{Name: name, Label: label, Type: "select"}
	for i := 0; i+1 < len(values); i += 2 {
		fl.Options = append(fl.Options, option{Value: values[i], Label: values[i+1], Selected: values[i] == cur})
	}
	f.Fields = append(f.Fields, fl)
	return f
}

func (f *form) danger() *form {
	f.Danger = true
	return f
}

// confirmed is a danger form that cannot be undone: it needs its "sure"
// box ticked (the browser insists, and so does the handler: confirmOK).
func (f *form) confirmed() *form {
	f.Danger = true
	f.Fields = append(f.Fields, field{Name: "confirm", Label: "sure", Type: "checkbox", Required: true})
	return f
}

// confirmOK refuses a form of confirmed() whose box was not ticked.
func (c *reqCtx) confirmOK() bool {
	if c.r.PostForm.Get("confirm") == "1" {
		return true
	}
	c.fail(http.StatusBadRequest, "Not done", "This cannot be undone: tick \"sure\" beside the button to confirm.")
	return false
}

func urlq(s string) string { return url.QueryEscape(s) }
