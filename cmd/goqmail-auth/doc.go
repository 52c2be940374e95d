// Command goqmail-auth is the auth service: the only process that checks
// passwords (internal/authd).
//
//	goqmail-auth ROOT      serve run/auth.sock (a SOCK_SEQPACKET listener on fd 3)
//	goqmail-auth -shadow   the shadow helper: one "user\0password\0" on stdin, one answer byte
//
// SECURITY. It runs as root, because it reads /etc/shadow (through the
// helper), starts POP3 mailbox sessions as their owners and writes
// ROOT/relay/grants (mode 0400, owned by smtpd's account, its only reader).
// It trusts: its control files, the virtual directory,
// /etc/passwd and /etc/shadow, the admin's checkpassword program. It
// distrusts every request on auth.sock: peers are checked by uid
// (GOQMAIL_AUTH_CLIENTS, comma-separated; -1 = anyone, for single-user
// mode), frames are decoded strictly and bounded. It never parses network
// protocol itself and never logs a password. The shadow helper reads the
// shadow file and nothing else; it is a separate process so that the code
// touching /etc/shadow is a few dozen lines with no socket. What one
// client address can make it do is bounded: authconcurrencyperip logins
// in progress per address, authconcurrency password checks at once
// (internal/authd/limits.go).
//
// Mailbox sessions (goqmail-pop3d -session MAILDIR, from the same bin
// directory) run as the mailbox owner, never as root: goqmailv for
// virtual users, the account (uid >= 1000) for system users.
package main
