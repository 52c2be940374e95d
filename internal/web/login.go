package web

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"goqmail/internal/webrpc"
)

// loginTimeout bounds the wait for goqmail-auth, which sleeps before
// answering a wrong password.
const loginTimeout = 30 * time.Second

type loginData struct {
	Token, Login, Message string
}

// Messages the login page shows for ?m=: fixed texts, so a link cannot
// put words of its own on the page.
var loginMessages = map[string]string{
	"ended":  "Your session ended because its mailbox connection closed. Log in again.",
	"out":    "You are logged out.",
	"expire": "Your session expired. Log in again.",
}

func (s *Server) home(c *reqCtx) {
	if s.table.get(cookieValue(c.r)) != nil {
		http.Redirect(c.w, c.r, "/mail", http.StatusSeeOther)
		return
	}
	http.Redirect(c.w, c.r, "/login", http.StatusSeeOther)
}

// loginPage shows the form. Its CSRF token (there is no session yet) is a
// cookie of its own that the form must repeat (double submit): another
// site can neither read nor set a __Host- cookie, so it cannot log a
// browser into the attacker's account.
func (s *Server) loginPage(c *reqCtx) {
	if s.table.get(cookieValue(c.r)) != nil {
		http.Redirect(c.w, c.r, "/mail", http.StatusSeeOther)
		return
	}
	c.loginForm(http.StatusOK, "", loginMessages[c.r.URL.Query().Get("m")])
}

func (c *reqCtx) loginForm(status int, login, msg string) {
	tok := newToken()
	setCookie(c.w, loginCookieName, tok, 3600)
	c.render(status, "login", "Log in", loginData{Token: tok, Login: login, Message: msg})
}

func (s *Server) login(c *reqCtx) {
	ck, err := c.r.Cookie(loginCookieName)
	tok := c.r.PostForm.Get("csrf")
	if err != nil || tok == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(tok)) != 1 {
		c.fail(http.StatusForbidden, "Refused", "The login form's security token is missing or wrong. Reload the login page and try again.")
		return
	}
	login := strings.TrimSpace(c.r.PostForm.Get("login"))
	password := c.r.PostForm.Get("password")
	if login == "" || password == "" || len(login) > 512 || len(password) > 1024 {
		c.loginForm(http.StatusBadRequest, login, "Enter your address and your password.")
		return
	}
	key := clientKey(c.ip) // an IPv6 client counts by its /64
	// An address at its bound is refused before goqmail-auth is asked:
	// a login the table would refuse anyway must not start (and then
	// end) session processes, or check a password.
	if s.table.ipFull(key) {
		c.fail(http.StatusServiceUnavailable, "Not now", errTooManyFromIP.Error())
		return
	}
	if !s.gate.acquire(key) {
		c.fail(http.StatusTooManyRequests, "Too many logins", "Too many logins are in progress from your address. Wait a moment and try again.")
		return
	}
	ctx, cancel := context.WithTimeout(c.r.Context(), loginTimeout)
	res, err := s.auth.OpenWeb(ctx, login, password, c.ip)
	cancel()
	s.gate.release(key)
	if err != nil {
		s.log.Printf("warning: web login of %s from %s: %v", login, c.ip, err)
		c.loginForm(http.StatusServiceUnavailable, login, "The login service is not answering. Try again in a few minutes.")
		return
	}
	if !res.OK {
		closeLogin(res)
		status, msg := http.StatusUnauthorized, "Wrong address or password."
		if res.Temporary {
			status, msg = http.StatusServiceUnavailable, "Logging in is not possible just now. Try again in a few minutes."
		}
		if res.Text != "" {
			msg = res.Text
		}
		c.loginForm(status, login, msg)
		return
	}
	if res.Mailbox == nil {
		closeLogin(res)
		s.log.Printf("warning: web login of %s: no mailbox session", res.User)
		c.loginForm(http.StatusServiceUnavailable, login, "Your mailbox could not be opened. Try again in a few minutes.")
		return
	}
	if res.User == "" {
		res.User = login // an adapter that does not canonicalize: the login as typed
	}
	sess := &session{user: res.User, role: res.Role, domain: res.Domain, ip: key, mbox: webrpc.NewClient(res.Mailbox)}
	if res.Admin != nil {
		sess.admin = webrpc.NewClient(res.Admin)
	}
	id, err := s.table.add(sess)
	if err != nil {
		sess.close()
		c.fail(http.StatusServiceUnavailable, "Not now", err.Error())
		return
	}
	s.log.Printf("web login %s from %s", res.User, c.ip)
	setCookie(c.w, loginCookieName, "", -1)
	// No Max-Age: a session cookie, gone with the browser; the table's
	// expiry ends it on the server.
	setCookie(c.w, cookieName, id, 0)
	http.Redirect(c.w, c.r, "/mail", http.StatusSeeOther)
}

func closeLogin(l Login) {
	if l.Mailbox != nil {
		l.Mailbox.Close()
	}
	if l.Admin != nil {
		l.Admin.Close()
	}
}

func (s *Server) logout(c *reqCtx) {
	s.table.remove(c.s)
	clearCookie(c.w)
	http.Redirect(c.w, c.r, "/login?m=out", http.StatusSeeOther)
}
