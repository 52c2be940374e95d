// Command goqmail-pop3d is the POP3 server (RFC 1939, CAPA, STLS, APOP,
// AUTH PLAIN). It has two modes:
//
//	goqmail-pop3d ROOT
//	goqmail-pop3d -session MAILDIR
//
// The first is the network side, started by goqmaild as the goqmailp
// account with the listening sockets of control/pop3listen (port 110, STLS)
// and control/pop3slisten (port 995, implicit TLS) on fds 3 and up:
// GOQMAIL_FDS counts them, GOQMAIL_FD_KINDS names each ("pop3" or "pop3s",
// comma-separated, in fd order). TLS comes from control/servercert.pem (key
// and chain in one PEM file), reread when it changes; a certificate that
// exists but cannot be loaded stops the start (exit 78, an invalid
// configuration). SIGHUP rereads me, authplaintext, the connection limits
// (concurrencypop3, concurrencyperip, connectrateperip) and the
// certificate, keeping the old ones when they are invalid.
//
// The second is the mailbox side: the auth service starts it as the
// mailbox owner with the client's relayed connection on fd 3 after a
// successful login; it runs internal/pop3.Session over MAILDIR.
//
// SECURITY: the network side parses everything the client sends, holds no
// privilege and opens no mailbox; it trusts the auth service
// (ROOT/run/auth.sock) for the verdict on credentials and for the mailbox
// connection. The session side trusts its fd 3 peer only as far as POP3
// commands go, refuses to run as root, and touches only MAILDIR.
package main
