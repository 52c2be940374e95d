// Command goqmail-web is the web front (webmail, self-service and
// administration pages; internal/web) over HTTPS:
//
//	goqmail-web ROOT
//
// goqmaild starts it as the goqmailw account with the listening sockets of
// control/weblisten on fds 3 and up: GOQMAIL_FDS counts them,
// GOQMAIL_FD_KINDS names each ("https", comma-separated, in fd order).
// TLS comes from ROOT/acme/servercert.pem when goqmail-acme has written
// one, else from control/servercert.pem (key and chain in one PEM file),
// reread when the file changes; without a certificate it does not start
// (exit 78, an invalid configuration). SIGHUP looks again for which of the
// two files to use. SIGTERM ends every web session (their session
// processes exit) and the program.
//
// SECURITY: it parses HTTP from anyone and holds no privilege: it refuses
// to run as root, opens no mailbox, password file, control/ setting or
// queue file, and links no mail parser. A login goes to goqmail-auth
// (ROOT/run/auth.sock), which checks the password and hands back sockets
// to the user's mailbox session (goqmail-webmbox, as the mailbox owner)
// and, for an admin role, to the admin session; the front does on the
// user's behalf only what those sessions allow. It trusts the sessions'
// answers only as far as internal/webrpc's strict frames go, and shows
// message HTML only inside a sandboxed frame under its own CSP.
package main
