// Package inject prepares a message that a local program hands to goqmail's
// sendmail command, before it goes to the queue's submit socket.
//
// It does two jobs, each the way the program goqmail imitates does it:
//
//   - Input (input.go) reads standard input as sendmail(8) does: CRLF or LF
//     line ends (stored as LF, the queue's format), a line holding only "."
//     ends the input unless -i was given, a missing final line end is added,
//     and a NUL byte refuses the message.
//   - SplitHeader and Completer (header.go, complete.go) complete the header
//     as qmail-inject(8) does: Date, Message-ID and From are added when
//     missing (Resent-Date, Resent-Message-ID and Resent-From when the
//     message is being resent), Bcc, Resent-Bcc, Return-Path and
//     Content-Length are removed, and addresses in the address fields get
//     control/defaulthost when they have no host and control/defaultdomain
//     when their host has no dot. Everything else in the header is kept
//     byte for byte, and the body is never touched.
//
// SECURITY: runs as the invoking user with no privilege ("essentially part of
// the UA", qmail SECURITY section 5). Nothing computed here is trusted
// downstream: the queue takes the submitter's uid from the socket
// (SO_PEERCRED), and envelope addresses pass internal/address, the one
// envelope parser.
package inject

// Error is the type of this package's sentinel errors; detail is added by
// wrapping them with %w and callers test them with errors.Is.
type Error string

func (e Error) Error() string { return string(e) }

const (
	// ErrNUL: the input holds a NUL byte. SMTP cannot carry one (RFC 5321
	// 4.1.1.4 and 2.3.8 allow only text lines), C programs behind a relay
	// would cut the message there, and no mail user agent produces one (binary
	// content is base64-encoded), so the message is refused whole instead of
	// being altered.
	ErrNUL Error = "message contains a NUL byte"
	// ErrHeaderTooBig: the header section exceeds the limit given to
	// SplitHeader before its end was found.
	ErrHeaderTooBig Error = "message header too large"
	// ErrAddress: a command-line or -f address cannot be used.
	ErrAddress Error = "bad address"
)
