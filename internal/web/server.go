package web

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"goqmail/internal/logline"
	"goqmail/internal/webrpc"
)

// Access says who may use a route.
type Access int

const (
	Public Access = iota // anyone (login, static files)
	User                 // a logged-in session
	Admin                // a logged-in session with an admin session
	Site                 // an admin session of the site admin (not a domain's postmaster)
)

// Route is one method and path the front answers.
type Route struct {
	Method string
	Path   string
	Access Access
	upload bool // a multipart form with files, up to Limits.MaxUpload
	h      func(c *reqCtx)
}

// maxForm bounds every POST body but an upload's.
const maxForm = 64 << 10

// maxUploads bounds the uploads read at once: each is held in memory.
const maxUploads = 8

// maxUploadsPerUser bounds one user's share of them: otherwise one
// logged-in user sending 8 slow uploads (each may take ReadTimeout, 5
// minutes) would leave every other user "Busy" (found in the security
// review of issue 15).
const maxUploadsPerUser = 2

// An attachment or raw message is held in memory until the browser has
// read it, which a slow reader stretches to the WriteTimeout (5 minutes):
// one user with 64 connections reading slowly held 64 copies of a 64 MB
// message (found in the security review of issue 15). So one user has at
// most maxBigDownloadsPerUser answers over bigDownload bytes (parts, raw
// messages, message frames with their images) being written at once;
// small ones (most inline images and frames) are not counted.
const (
	bigDownload            = 1 << 20
	maxBigDownloadsPerUser = 2
)

// Server is the web front: it holds the session table and answers HTTP.
// It never opens a file other than its embedded templates and static
// files: everything a page shows comes from a session process.
type Server struct {
	auth    Authenticator
	log     *logline.Logger
	lim     Limits
	now     func() time.Time
	table   *sessionTable
	gate    *loginGate
	uploads chan struct{}                // a slot per upload being read
	upUsers *perKey                      // uploads being read, per user
	dlUsers *perKey                      // big downloads being written, per user
	routes  map[string]map[string]*Route // path → method → route
}

// New returns a server; lim's zero fields take DefaultLimits. now may be
// nil (time.Now); tests move the clock.
func New(auth Authenticator, log *logline.Logger, lim Limits, now func() time.Time) *Server {
	if now == nil {
		now = time.Now
	}
	lim = lim.withDefaults()
	s := &Server{auth: auth, log: log, lim: lim, now: now,
		table:   newSessionTable(lim, now),
		gate:    &loginGate{perIP: lim.LoginsPerIP, total: lim.Logins},
		uploads: make(chan struct{}, maxUploads),
		upUsers: newPerKey(maxUploadsPerUser),
		dlUsers: newPerKey(maxBigDownloadsPerUser),
	}
	s.routes = map[string]map[string]*Route{}
	for _, r := range s.routeTable() {
		r := r
		if s.routes[r.Path] == nil {
			s.routes[r.Path] = map[string]*Route{}
		}
		if s.routes[r.Path][r.Method] != nil {
			panic("web: route twice: " + r.Method + " " + r.Path)
		}
		s.routes[r.Path][r.Method] = &r
	}
	return s
}

// Routes lists every route (tests walk it: a new POST route without the
// CSRF check, or a page without the headers, fails them).
func (s *Server) Routes() []Route {
	var out []Route
	for _, m := range s.routes {
		for _, r := range m {
			out = append(out, *r)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out
}

// Sweep ends expired sessions until ctx is done, then every session.
func (s *Server) Sweep(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.table.closeAll()
			return
		case <-t.C:
			s.table.sweep()
		}
	}
}

// Close ends every session.
func (s *Server) Close() { s.table.closeAll() }

// The Content-Security-Policy of every page: no script at all, styles
// and images only from the front, forms only to the front, framed by no
// one; frames only the front's own message frame (frame-src).
const pageCSP = "default-src 'none'; style-src 'self'; img-src 'self'; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// setHeaders puts the headers every response carries. Pages are never
// cached (they show mail); handlers of static files override
// Cache-Control, the message frame overrides the CSP.
func setHeaders(h http.Header) {
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	// same-origin, not no-referrer: under no-referrer a browser sends
	// "Origin: null" with every form POST (the Fetch standard's "serialize
	// a request origin"), and crossSite would refuse every form; found
	// by the Chromium test (test/e2e TestWebAdmin). Other sites still
	// get no Referer, so no mail URL leaks through a link.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}

// reqCtx is one request being answered.
type reqCtx struct {
	srv *Server
	w   http.ResponseWriter
	r   *http.Request
	s   *session // nil on public routes
	ip  string
}

// ServeHTTP dispatches: headers, method, origin and CSRF checks for POST,
// the session, the role, then the route.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setHeaders(w.Header())
	c := &reqCtx{srv: s, w: w, r: r, ip: remoteIP(r)}
	byMethod := s.routes[r.URL.Path]
	if byMethod == nil {
		c.fail(http.StatusNotFound, "Not found", "There is no page at this address.")
		return
	}
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	rt := byMethod[method]
	if rt == nil {
		var allow []string
		for m := range byMethod {
			allow = append(allow, m)
		}
		sort.Strings(allow)
		w.Header().Set("Allow", strings.Join(allow, ", "))
		c.fail(http.StatusMethodNotAllowed, "Method not allowed", "This page does not answer "+r.Method+" requests.")
		return
	}
	if method == http.MethodPost {
		if why := crossSite(r); why != "" {
			c.fail(http.StatusForbidden, "Refused", "This form was not sent from this site ("+why+"). Reload the page and send it again.")
			return
		}
	}
	// The session before the body: nobody without one gets a large body
	// read (an upload is only read for a logged-in user's compose form).
	if rt.Access != Public {
		c.s = s.table.get(cookieValue(r))
		if c.s == nil {
			if method == http.MethodGet {
				to := "/login"
				if cookieValue(r) != "" {
					to = "/login?m=expire"
					clearCookie(w)
				}
				http.Redirect(w, r, to, http.StatusSeeOther)
				return
			}
			c.fail(http.StatusForbidden, "Not logged in", "Your session has ended. Log in again, then repeat what you did.")
			return
		}
	}
	if method == http.MethodPost {
		limit := int64(maxForm)
		if rt.upload {
			if !s.upUsers.take(c.s.user) {
				c.fail(http.StatusServiceUnavailable, "Busy", "You are already sending files in another window. Wait until that is done, then try again.")
				return
			}
			defer s.upUsers.give(c.s.user)
			select {
			case s.uploads <- struct{}{}:
				defer func() { <-s.uploads }()
			default:
				c.fail(http.StatusServiceUnavailable, "Busy", "Too many uploads are in progress. Try again in a moment.")
				return
			}
			limit = s.lim.MaxUpload
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		if err := parseForm(r, limit); err != nil {
			var mb *http.MaxBytesError
			if errors.As(err, &mb) {
				c.fail(http.StatusRequestEntityTooLarge, "Too large", "The form is larger than this server accepts ("+humanBytes(limit)+"). Send fewer or smaller files.")
				return
			}
			c.fail(http.StatusBadRequest, "Bad form", "The form could not be read: "+err.Error())
			return
		}
	}
	if c.s != nil {
		if method == http.MethodPost && !c.s.checkCSRF(r.PostForm.Get("csrf")) {
			c.fail(http.StatusForbidden, "Refused", "The form's security token is missing or wrong (it may come from an older session). Reload the page and send it again.")
			return
		}
		if (rt.Access == Admin || rt.Access == Site) && c.s.admin == nil {
			c.fail(http.StatusForbidden, "Forbidden", "Your login has no administration rights.")
			return
		}
		if rt.Access == Site && c.s.role != "site" {
			c.fail(http.StatusForbidden, "Forbidden", "Only the site administrator may use this page.")
			return
		}
	}
	rt.h(c)
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// call runs op on client. A broken session process ends the web session
// and sends the browser to the login page; a refusal is an error page
// with the status's HTTP code. It returns nil when it has answered.
func (c *reqCtx) call(client *webrpc.Client, op string, args ...string) *webrpc.Response {
	return c.callFiles(client, op, args, nil)
}

func (c *reqCtx) callFiles(client *webrpc.Client, op string, args []string, files []webrpc.File) *webrpc.Response {
	resp, err := client.Call(c.callContext(), &webrpc.Request{Op: op, Args: args, Files: files})
	if errors.Is(err, webrpc.ErrTooLarge) {
		// A field larger than a session argument (a pasted 2 MiB text):
		// refused before it was sent, and the session goes on.
		c.fail(http.StatusRequestEntityTooLarge, "Too large", "A field of the form is too large for this server ("+humanBytes(webrpc.MaxArg)+" of text at most, file names of "+humanBytes(webrpc.MaxFileName)+"). Shorten it, or send the text as an attached file.")
		return nil
	}
	if err != nil {
		c.ended(err)
		return nil
	}
	if resp.Status != webrpc.OK {
		text := resp.Text
		if text == "" {
			text = resp.Status.String()
		}
		c.fail(httpStatus(resp.Status), titleOf(resp.Status), text)
		return nil
	}
	return resp
}

// callContext is the context of a session call: the request's values
// without its cancellation. A browser that goes away in the middle of a
// slow search must not break the session (a cancelled call leaves the
// protocol mid-frame, so the client is broken for good); the call is
// still bounded by webrpc.DefaultCallTimeout.
func (c *reqCtx) callContext() context.Context {
	return context.WithoutCancel(c.r.Context())
}

// ended answers for a session process that is gone or confused: the web
// session ends (its other session process too) and the browser goes to
// the login page, which says why.
func (c *reqCtx) ended(err error) {
	c.srv.log.Printf("warning: web session of %s ended: %v", c.s.user, err)
	c.srv.table.remove(c.s)
	clearCookie(c.w)
	http.Redirect(c.w, c.r, "/login?m=ended", http.StatusSeeOther)
}

func httpStatus(st webrpc.Status) int {
	switch st {
	case webrpc.Invalid:
		return http.StatusBadRequest
	case webrpc.NotFound:
		return http.StatusNotFound
	case webrpc.Forbidden:
		return http.StatusForbidden
	case webrpc.Conflict:
		return http.StatusConflict
	}
	return http.StatusServiceUnavailable
}

func titleOf(st webrpc.Status) string {
	switch st {
	case webrpc.Invalid:
		return "Not possible"
	case webrpc.NotFound:
		return "Not found"
	case webrpc.Forbidden:
		return "Forbidden"
	case webrpc.Conflict:
		return "Already there"
	}
	return "Failed"
}

// done ends a POST: the message for the next page, then back to a page
// (post/redirect/get, so a reload does not send the form again).
func (c *reqCtx) done(msg, to string) {
	if msg != "" {
		c.s.setFlash(msg)
	}
	http.Redirect(c.w, c.r, to, http.StatusSeeOther)
}

// perKey counts what each key (a user) holds of one resource, up to max
// each: the per-user shares of the upload slots and of the big downloads.
type perKey struct {
	mu  sync.Mutex
	max int
	n   map[string]int
}

func newPerKey(max int) *perKey { return &perKey{max: max, n: map[string]int{}} }

// take counts one more for key, unless key holds max already.
func (p *perKey) take(key string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n[key] >= p.max {
		return false
	}
	p.n[key]++
	return true
}

// give returns one that take counted.
func (p *perKey) give(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n[key]--; p.n[key] <= 0 {
		delete(p.n, key)
	}
}

// bigDownloadBusy takes one of the user's big-download slots for an
// answer of n bytes over bigDownload, to be released (release) once it is
// written; without a free slot it answers 503 and reports busy.
func (c *reqCtx) bigDownloadBusy(n int) (busy bool, release func()) {
	if n <= bigDownload {
		return false, func() {}
	}
	if !c.srv.dlUsers.take(c.s.user) {
		c.w.Header().Set("Retry-After", "60")
		c.fail(http.StatusServiceUnavailable, "Busy", "You are already downloading two large files. Wait until they are done, then try again.")
		return true, nil
	}
	return false, func() { c.srv.dlUsers.give(c.s.user) }
}
