// Package qmailqueue is qmail-queue's interface (qmail-queue(8)), shared
// by its two sides in goqmail: smtpd, which runs a QMAILQUEUE program
// (simscan, qmail-scanner, a site's script) in place of the queue, and
// goqmail-qmail-queue, the program such a filter runs at its end.
//
// The message goes on descriptor 0; the envelope follows on descriptor 1
// once the message is complete: F<sender>\0, T<recipient>\0 for each
// recipient, and one more \0. End of file before that last \0 means the
// caller gave up: nothing is queued. The exit code is the answer; 82 means
// the reason is on descriptor 6 (notqmail's custom error), a line starting
// with D (permanent) or Z (temporary).
package qmailqueue

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"goqmail/internal/proto"
)

// Exit codes (qmail-queue(8)). 11 to 40 are permanent, everything else
// but 0 temporary.
const (
	ExitOK           = 0
	ExitAddrTooLong  = 11 // an envelope address is too long
	ExitRefused      = 31 // the mail server refuses the message for good
	ExitNoMem        = 51
	ExitTimeout      = 52
	ExitWrite        = 53 // write error, disk full
	ExitRead         = 54 // cannot read the message or the envelope
	ExitConfig       = 55 // cannot read the configuration
	ExitNetwork      = 56 // trouble making a network connection
	ExitQueue        = 62 // trouble with the queue
	ExitTempRefused  = 71 // the mail server refuses the message for now
	ExitBug          = 81
	ExitCustom       = 82 // the reason is on descriptor 6
	ExitEnvelope     = 91 // envelope format error
	ExitCannotRun    = 120
	CustomErrorFD    = 6
	maxCustomMessage = 1000
)

// AppendEnvelope appends the envelope in qmail-queue's format to b.
func AppendEnvelope(b []byte, sender string, rcpts []string) []byte {
	b = append(b, 'F')
	b = append(b, sender...)
	b = append(b, 0)
	for _, r := range rcpts {
		b = append(b, 'T')
		b = append(b, r...)
		b = append(b, 0)
	}
	return append(b, 0)
}

// EnvelopeError is an envelope that cannot be used, with the exit code
// qmail-queue gives for it.
type EnvelopeError struct {
	Exit int
	Err  error
}

func (e *EnvelopeError) Error() string { return e.Err.Error() }
func (e *EnvelopeError) Unwrap() error { return e.Err }

// ErrTruncated is an envelope that ended before its last NUL: the caller
// gave up, and nothing must be queued.
var ErrTruncated = errors.New("envelope ended before its terminating NUL (the caller gave up)")

// ReadEnvelope reads an envelope strictly: F first, then T records, then
// the empty record; addresses within proto's limits (qmail-queue's 1003
// bytes, rounded), at most proto.MaxRcpts recipients and at least one.
// Bytes after the terminator are not read.
func ReadEnvelope(r io.Reader) (sender string, rcpts []string, err error) {
	br := bufio.NewReaderSize(r, 4096)
	record := func() (string, error) {
		b, err := br.ReadSlice(0)
		switch {
		case err == bufio.ErrBufferFull:
			return "", &EnvelopeError{ExitAddrTooLong, fmt.Errorf("an envelope address longer than %d bytes", proto.MaxAddr)}
		case errors.Is(err, io.EOF):
			return "", &EnvelopeError{ExitRead, ErrTruncated}
		case err != nil:
			return "", &EnvelopeError{ExitRead, fmt.Errorf("reading the envelope: %w", err)}
		}
		s := string(b[:len(b)-1])
		if len(s) > 1+proto.MaxAddr {
			return "", &EnvelopeError{ExitAddrTooLong, fmt.Errorf("an envelope address of %d bytes (at most %d)", len(s)-1, proto.MaxAddr)}
		}
		return s, nil
	}
	f, err := record()
	if err != nil {
		return "", nil, err
	}
	if !strings.HasPrefix(f, "F") {
		return "", nil, &EnvelopeError{ExitEnvelope, fmt.Errorf("the envelope starts with %q, not an F record", trim(f))}
	}
	sender = f[1:]
	for {
		t, err := record()
		if err != nil {
			return "", nil, err
		}
		if t == "" {
			break
		}
		if t[0] != 'T' {
			return "", nil, &EnvelopeError{ExitEnvelope, fmt.Errorf("an envelope record %q is not a T record", trim(t))}
		}
		if len(rcpts) >= proto.MaxRcpts {
			return "", nil, &EnvelopeError{ExitEnvelope, fmt.Errorf("more than %d recipients", proto.MaxRcpts)}
		}
		rcpts = append(rcpts, t[1:])
	}
	if len(rcpts) == 0 {
		return "", nil, &EnvelopeError{ExitEnvelope, errors.New("the envelope has no recipient")}
	}
	for _, a := range append([]string{sender}, rcpts...) {
		if err := proto.CheckAddr(a); err != nil {
			return "", nil, &EnvelopeError{ExitEnvelope, err}
		}
	}
	return sender, rcpts, nil
}

func trim(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// Outcome is what a qmail-queue's exit means for the submitter.
type Outcome struct {
	OK        bool
	Permanent bool
	// Text is qmail-smtpd's reply text for a refusal, with qmail's
	// enhanced code at its end ("qq write error or disk full (#4.3.0)").
	Text string
}

// Outcomes is qmail's table of exit codes (qmail.c, qmail_close), the
// texts qmail-smtpd replies with. Codes not listed: 11-40 "qq permanent
// problem", the rest "qq temporary problem".
var Outcomes = map[int]Outcome{
	11:  {Permanent: true, Text: "envelope address too long for qq (#5.1.3)"},
	31:  {Permanent: true, Text: "mail server permanently rejected message (#5.3.0)"},
	51:  {Text: "qq out of memory (#4.3.0)"},
	52:  {Text: "qq timeout (#4.3.0)"},
	53:  {Text: "qq write error or disk full (#4.3.0)"},
	54:  {Text: "qq read error (#4.3.0)"},
	55:  {Text: "qq unable to read configuration (#4.3.0)"},
	56:  {Text: "qq trouble making network connection (#4.3.0)"},
	61:  {Text: "qq trouble in home directory (#4.3.0)"},
	62:  {Text: "qq trouble creating files in queue (#4.3.0)"},
	63:  {Text: "qq trouble creating files in queue (#4.3.0)"},
	64:  {Text: "qq trouble creating files in queue (#4.3.0)"},
	65:  {Text: "qq trouble creating files in queue (#4.3.0)"},
	66:  {Text: "qq trouble creating files in queue (#4.3.0)"},
	71:  {Text: "mail server temporarily rejected message (#4.3.0)"},
	72:  {Text: "connection to mail server timed out (#4.4.1)"},
	73:  {Text: "connection to mail server rejected (#4.4.1)"},
	74:  {Text: "communication with mail server failed (#4.4.2)"},
	81:  {Text: "qq internal bug (#4.3.0)"},
	91:  {Text: "qq internal bug (#4.3.0)"},
	115: {Permanent: true, Text: "envelope address too long for qq (#5.1.3)"},
	120: {Text: "unable to exec qq (#4.3.0)"},
}

// Crashed is the outcome of a qmail-queue killed by a signal.
var Crashed = Outcome{Text: "qq crashed (#4.3.0)"}

// ExitOutcome returns what exit code means. custom is what the program
// wrote on descriptor 6, read only for ExitCustom: a line starting with D
// or Z; anything else there is a temporary "qq internal bug".
func ExitOutcome(code int, custom []byte) Outcome {
	switch {
	case code == ExitOK:
		return Outcome{OK: true}
	case code == ExitCustom:
		if o, ok := ParseCustom(custom); ok {
			return o
		}
		return Outcomes[ExitBug]
	}
	if o, ok := Outcomes[code]; ok {
		return o
	}
	if code >= 11 && code <= 40 {
		return Outcome{Permanent: true, Text: "qq permanent problem (#5.3.0)"}
	}
	return Outcome{Text: "qq temporary problem (#4.3.0)"}
}

// ParseCustom reads notqmail's custom error: D or Z, then the text, on
// the first line. The text must be printable ASCII (it goes into an SMTP
// reply); it is cut at maxCustomMessage bytes.
func ParseCustom(b []byte) (Outcome, bool) {
	line, _, _ := strings.Cut(string(b), "\n")
	line = strings.TrimSuffix(line, "\r")
	if len(line) < 2 || (line[0] != 'D' && line[0] != 'Z') {
		return Outcome{}, false
	}
	text := strings.TrimSpace(line[1:])
	if text == "" {
		return Outcome{}, false
	}
	for i := 0; i < len(text); i++ {
		if text[i] < ' ' || text[i] > '~' {
			return Outcome{}, false
		}
	}
	if len(text) > maxCustomMessage {
		text = text[:maxCustomMessage]
	}
	return Outcome{Permanent: line[0] == 'D', Text: text}, true
}

// enhRE finds qmail's "(#5.7.1)" at the end of a text.
var enhRE = regexp.MustCompile(`\s*\(#([245]\.\d{1,3}\.\d{1,3})\)$`)

// SplitEnhanced takes qmail's "(#X.Y.Z)" off the end of a text and returns
// the text and the code ("" when there is none).
func SplitEnhanced(text string) (string, string) {
	m := enhRE.FindStringSubmatchIndex(text)
	if m == nil {
		return text, ""
	}
	return text[:m[0]], text[m[2]:m[3]]
}

// Queued is the report goqmail-qmail-queue writes on descriptor 6 after
// exit 0 when it is a pipe: K and the queue id, so smtpd can name the
// message in its reply and log as it does without a filter. Callers that
// follow qmail read descriptor 6 only after exit 82 and never see it.
func Queued(id string) []byte { return []byte("K" + id + "\n") }

// ParseQueued returns the queue id of a Queued report, or "".
func ParseQueued(b []byte) string {
	line, _, _ := strings.Cut(string(b), "\n")
	id, ok := strings.CutPrefix(line, "K")
	if !ok || proto.CheckID(id) != nil {
		return ""
	}
	return id
}

// CheckProgram accepts a QMAILQUEUE program: an absolute path to an
// executable regular file (control/qmailqueue, QMAILQUEUE in tcp.smtp).
func CheckProgram(path string) error {
	if !filepath.IsAbs(path) {
		return fmt.Errorf("%q is not an absolute path", path)
	}
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return err
	case !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("%s is not an executable file", path)
	}
	return nil
}
