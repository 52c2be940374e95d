package logparse

import (
	"regexp"
	"testing"
)

var (
	hex16 = regexp.MustCompile(`^[0-9a-f]{16}$`)
	// qp is what smtpd logs as the id of a message a QMAILQUEUE program
	// took (issue 13): that program's pid when it reports no id of its own,
	// as qmail-smtpd's "qp" does.
	qp = regexp.MustCompile(`^\d{1,10}$`)
)

// FuzzParse: any line (goqmail-log parses what every program writes,
// network text included, made safe) parses without a panic; a line that
// is ours has its time and program, and a queue id is always 16 hex digits
// (or, on an accepted line, a filter program's decimal qp).
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		stamp + "smtpd: 127.0.0.1:1: accepted msg 18ebb2eb4a47baed from <a@b> to 1 recipients, 9 bytes",
		stamp + "send: starting delivery 1: msg 18ebb2eb4a47baed to remote a@b c@d",
		stamp + "send: delivery 99999999999999999999: success: x",
		"Jan  1 00:00:00 h goqmail-send: " + stamp + "send: end msg 18ebb2eb4a47baed",
		stamp + "remote: 1.2.3.4:25: x", "", "\x00\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l := Parse(s)
		if l.Kind != Foreign && (l.Prog == "" || l.Time.IsZero()) {
			t.Fatalf("%q: %+v", s, l)
		}
		if l.MsgID != "" && !hex16.MatchString(l.MsgID) && !(l.Kind == Accepted && qp.MatchString(l.MsgID)) {
			t.Fatalf("%q: queue id %q", s, l.MsgID)
		}
		if l.Kind == Start && len(l.Rcpts) == 0 {
			t.Fatalf("%q: a start without recipients", s)
		}
	})
}
