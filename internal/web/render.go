package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/style.css
var styleCSS []byte

// pages holds one template set per page: the layout plus the page's own
// "content". html/template escapes every value by its context, so mail
// headers and admin data reach the page as text, never markup.
var pages = map[string]*template.Template{}

var funcs = template.FuncMap{
	"bytes": humanBytes,
	"when":  unixTime,
	"q":     url.QueryEscape,
}

func init() {
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/forms.html"))
	names, err := templateFS.ReadDir("templates")
	if err != nil {
		panic(err)
	}
	for _, e := range names {
		n := e.Name()
		if n == "layout.html" || n == "forms.html" {
			continue
		}
		t := template.Must(template.Must(layout.Clone()).ParseFS(templateFS, "templates/"+n))
		pages[n[:len(n)-len(".html")]] = t
	}
}

// view is what the layout shows around every page.
type view struct {
	Title  string
	User   string
	Role   string
	Domain string
	CSRF   string
	Admin  bool
	Flash  string
	Data   any
	Status int
}

// render answers with page name. A template error is the front's bug: it
// is logged and answered with a plain 500 (the page may be half built, so
// it is built in a buffer first).
func (c *reqCtx) render(status int, name, title string, data any) {
	v := view{Title: title, Data: data, Status: status}
	if c.s != nil {
		v.User, v.Role, v.Domain, v.CSRF, v.Admin = c.s.user, c.s.role, c.s.domain, c.s.csrf, c.s.admin != nil
		v.Flash = c.s.takeFlash()
	}
	var buf bytes.Buffer
	t := pages[name]
	if t == nil {
		c.srv.log.Printf("warning: web: no template %s", name)
		http.Error(c.w, "internal error", http.StatusInternalServerError)
		return
	}
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		c.srv.log.Printf("warning: web: template %s: %v", name, err)
		http.Error(c.w, "internal error", http.StatusInternalServerError)
		return
	}
	c.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	c.w.WriteHeader(status)
	c.w.Write(buf.Bytes())
}

type errorData struct{ Message string }

// fail answers with an error page.
func (c *reqCtx) fail(status int, title, msg string) {
	c.render(status, "error", title, errorData{Message: msg})
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// unixTime shows a session's decimal Unix time ("" stays "").
func unixTime(s string) string {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || s == "" {
		return s
	}
	return time.Unix(n, 0).UTC().Format("2006-01-02 15:04 UTC")
}

func atoi64(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// serveStatic answers the style sheet; it may be cached, it holds nothing
// private.
func serveStatic(c *reqCtx) {
	c.w.Header().Set("Content-Type", "text/css; charset=utf-8")
	c.w.Header().Set("Cache-Control", "public, max-age=3600")
	c.w.Write(styleCSS)
}
