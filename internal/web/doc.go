// Package web is the HTTPS front of goqmail's web application (webmail,
// self-service, administration; docs/web.md "The front"): the session
// table, the CSRF and origin checks, the headers and CSP, and one page or
// form for every op of the mailbox session (internal/webmbox/ops.go) and
// the admin session (internal/webadmin/ops.go), rendered on the server
// with html/template and no script.
//
// SECURITY: it runs as goqmailw and holds nothing but its sessions'
// sockets: logins go to goqmail-auth (Authenticator), mail and settings
// to the user's mailbox session, administration to the admin session,
// which checks the role again on every op. It parses no mail: message HTML
// comes sanitized from the mailbox session and is shown only in a
// sandboxed frame under its own CSP; attachments are served as downloads.
// Every request value is passed to the sessions as hostile, and every
// session answer reaches a page through html/template's escaping.
package web
