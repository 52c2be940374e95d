// Package proto defines the frames goqmail's processes exchange, on top of
// internal/ipc. Each frame type has one encoder and one strict decoder here,
// so both ends of a connection agree by construction. Who may send what:
//
//	submit  (run/submit.sock)   client (smtpd, sendmail, local) -> queue: Begin, Rcpt*, Data*, Prefix*, Commit|Abort; queue -> client: Result
//	ctl     (run/queuectl.sock) send -> queue: Hello, Update, Done;      queue -> send: Msg, Rcpt*, MsgEnd; SnapEnd once after the startup snapshot
//	lspawn  (run/lspawn.sock)   send -> lspawn: Deliver;                 lspawn -> send: Report
//	local   (seqpacket pair)    lspawn -> local: Local + message fd;     local -> lspawn: Report
//	dkimsign (run/dkimsign.sock) queue -> signer: SignBegin, Data*, SignEnd; signer -> queue: Signed
package proto

import (
	"errors"
	"fmt"
	"strings"
)

// Frame types. They are distinct across protocols so a frame sent on the
// wrong connection is refused, never misread.
const (
	TBegin   byte = 0x10
	TRcpt    byte = 0x11
	TData    byte = 0x12
	TCommit  byte = 0x13
	TAbort   byte = 0x14
	TResult  byte = 0x15
	TPrefix  byte = 0x16
	THello   byte = 0x20
	TMsg     byte = 0x21
	TMsgEnd  byte = 0x22
	TSnapEnd byte = 0x23
	TUpdate  byte = 0x24
	TDone    byte = 0x25
	TBounce  byte = 0x26
	TBounced byte = 0x27
	TDeliver byte = 0x30
	TReport  byte = 0x31
	TLocal   byte = 0x32
	TRemote  byte = 0x33
	TRemoted byte = 0x34
	TAdmin   byte = 0x40
	TAnswer  byte = 0x41
	// DKIM signing (dkim.go).
	TSignBegin byte = 0x60
	TSignEnd   byte = 0x61
	TSigned    byte = 0x62
)

// Limits on envelope fields. The queue stores nothing longer, and nothing
// holding NUL, CR or LF (qmail-queue's 1003-byte address limit, rounded).
const (
	MaxAddr     = 1000
	MaxRcpts    = 100000
	MaxChunk    = 64 << 10
	MaxPrefix   = 64 << 10 // header lines added at the end of data, in all
	MaxText     = 4000     // delivery report text (qmail truncates at 3000-10000)
	MaxID       = 32
	MaxPathLen  = 4096
	MaxUserName = 256
)

// ErrBadField reports a field that breaks the envelope rules.
var ErrBadField = errors.New("proto: invalid envelope field")

// CheckAddr enforces the envelope rules on an address: bounded length, no
// NUL, CR or LF. The null sender is the empty string.
func CheckAddr(s string) error {
	if len(s) > MaxAddr {
		return fmt.Errorf("%w: address of %d bytes", ErrBadField, len(s))
	}
	if strings.ContainsAny(s, "\x00\r\n") {
		return fmt.Errorf("%w: address holds NUL, CR or LF", ErrBadField)
	}
	return nil
}

// CheckID accepts a queue id: 1..32 lower-case hex digits. The local spawner
// builds a path from it, so nothing else may pass.
func CheckID(id string) error {
	if len(id) == 0 || len(id) > MaxID {
		return fmt.Errorf("%w: queue id length %d", ErrBadField, len(id))
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return fmt.Errorf("%w: queue id %q", ErrBadField, id)
		}
	}
	return nil
}

// CleanText makes delivery report text safe to store and log: bounded,
// without NUL, CR or LF (qmail-send truncates reports and logsafe()s them).
// It works on bytes, so the result is never longer than MaxText: mapping
// runes would turn each invalid UTF-8 byte into a 3-byte U+FFFD, and a
// frame decoder limited to MaxText would then refuse the report.
func CleanText(s string) string {
	if len(s) > MaxText {
		s = s[:MaxText]
	}
	if strings.IndexAny(s, "\x00\r\n") < 0 {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if c == 0 || c == '\r' || c == '\n' {
			b[i] = '/'
		}
	}
	return string(b)
}
