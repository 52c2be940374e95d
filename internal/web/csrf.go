package web

import (
	"crypto/subtle"
	"net/http"
	"strings"
)

// The session cookie. The __Host- prefix makes the browser refuse it
// unless it is Secure, has Path=/ and no Domain (RFC 6265bis section
// 4.1.3.2), so no other host of the domain can set or shadow it;
// SameSite=Strict keeps it off every request another site starts.
const (
	cookieName      = "__Host-goqmail"
	loginCookieName = "__Host-goqmail_login" // the login form's CSRF token (no session yet)
)

func cookieValue(r *http.Request) string {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return ""
	}
	return c.Value
}

func setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

func clearCookie(w http.ResponseWriter) { setCookie(w, cookieName, "", -1) }

// checkCSRF compares a form's token with the session's, in constant time.
func (s *session) checkCSRF(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.csrf)) == 1
}

// crossSite says why a POST did not come from one of the front's own
// pages, or "" when nothing says it did not. Browsers send Origin on every
// POST and Sec-Fetch-Site (Fetch Metadata) on requests to https origins;
// either one naming another site is enough to refuse, before the form's
// token is even read. A client sending neither (an old browser, curl) is
// judged by the token alone.
func crossSite(r *http.Request) string {
	if v := r.Header.Get("Sec-Fetch-Site"); v != "" && v != "same-origin" {
		return "Sec-Fetch-Site: " + v
	}
	if o := r.Header.Get("Origin"); o != "" {
		scheme := "https://"
		if r.TLS == nil {
			scheme = "http://"
		}
		if !strings.EqualFold(o, scheme+r.Host) {
			return "Origin: " + o
		}
	}
	return ""
}

// parseForm reads a POST body, bounded by limit: a multipart form (compose
// with files) is held in memory (maxMemory = limit, and the body is capped
// at limit, so nothing goes to temporary files).
func parseForm(r *http.Request, limit int64) error {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		return r.ParseMultipartForm(limit)
	}
	return r.ParseForm()
}
