package qmailqueue

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestEnvelopeRoundTrip(t *testing.T) {
	b := AppendEnvelope(nil, "a@example.com", []string{"b@example.org", "c@example.org"})
	if want := "Fa@example.com\x00Tb@example.org\x00Tc@example.org\x00\x00"; string(b) != want {
		t.Fatalf("AppendEnvelope = %q, want %q", b, want)
	}
	// Bytes after the terminator are not the envelope's.
	s, r, err := ReadEnvelope(bytes.NewReader(append(b, "junk"...)))
	if err != nil || s != "a@example.com" || strings.Join(r, ",") != "b@example.org,c@example.org" {
		t.Fatalf("ReadEnvelope = %q %q %v", s, r, err)
	}
	s, _, err = ReadEnvelope(bytes.NewReader(AppendEnvelope(nil, "", []string{"b@x"})))
	if err != nil || s != "" {
		t.Fatalf("null sender: %q %v", s, err)
	}
}

// TestEnvelopeErrors: each broken envelope gets qmail-queue's exit code.
func TestEnvelopeErrors(t *testing.T) {
	long := strings.Repeat("a", 1200) + "@example.org"
	for _, c := range []struct {
		name, env string
		exit      int
		truncated bool
	}{
		{"empty", "", ExitRead, true},
		{"no terminator", "Fa@b\x00Tc@d\x00", ExitRead, true},
		{"cut in a record", "Fa@b\x00Tc@", ExitRead, true},
		{"not F first", "Ta@b\x00\x00", ExitEnvelope, false},
		{"other record", "Fa@b\x00Xc@d\x00\x00", ExitEnvelope, false},
		{"no recipient", "Fa@b\x00\x00", ExitEnvelope, false},
		{"long recipient", "Fa@b\x00T" + long + "\x00\x00", ExitAddrTooLong, false},
		{"long sender", "F" + long + "\x00Tc@d\x00\x00", ExitAddrTooLong, false},
		{"CR in address", "Fa@b\x00Tc\r@d\x00\x00", ExitEnvelope, false},
	} {
		_, _, err := ReadEnvelope(strings.NewReader(c.env))
		var ee *EnvelopeError
		if !errors.As(err, &ee) || ee.Exit != c.exit {
			t.Errorf("%s: err %v, want exit %d", c.name, err, c.exit)
			continue
		}
		if errors.Is(err, ErrTruncated) != c.truncated {
			t.Errorf("%s: truncated = %v, want %v", c.name, !c.truncated, c.truncated)
		}
	}
}

// TestExitOutcome: qmail_close's table, the ranges, and notqmail's
// custom error on descriptor 6.
func TestExitOutcome(t *testing.T) {
	for _, c := range []struct {
		code   int
		custom string
		want   Outcome
	}{
		{0, "", Outcome{OK: true}},
		{11, "", Outcome{Permanent: true, Text: "envelope address too long for qq (#5.1.3)"}},
		{31, "", Outcome{Permanent: true, Text: "mail server permanently rejected message (#5.3.0)"}},
		{35, "", Outcome{Permanent: true, Text: "qq permanent problem (#5.3.0)"}},
		{53, "", Outcome{Text: "qq write error or disk full (#4.3.0)"}},
		{71, "", Outcome{Text: "mail server temporarily rejected message (#4.3.0)"}},
		{99, "", Outcome{Text: "qq temporary problem (#4.3.0)"}},
		{120, "", Outcome{Text: "unable to exec qq (#4.3.0)"}},
		{82, "Dvirus found: Eicar-Test (#5.7.1)\n", Outcome{Permanent: true, Text: "virus found: Eicar-Test (#5.7.1)"}},
		{82, "Zscanner busy\n", Outcome{Text: "scanner busy"}},
		{82, "", Outcome{Text: "qq internal bug (#4.3.0)"}},
		{82, "Xnot a kind\n", Outcome{Text: "qq internal bug (#4.3.0)"}},
		{82, "Dbad\x01byte\n", Outcome{Text: "qq internal bug (#4.3.0)"}},
	} {
		if got := ExitOutcome(c.code, []byte(c.custom)); got != c.want {
			t.Errorf("ExitOutcome(%d, %q) = %+v, want %+v", c.code, c.custom, got, c.want)
		}
	}
}

func TestQueuedReport(t *testing.T) {
	if id := ParseQueued(Queued("18ebb2eb4a47baed")); id != "18ebb2eb4a47baed" {
		t.Errorf("round trip: %q", id)
	}
	for _, bad := range []string{"", "K\n", "K../etc\n", "Dsomething\n", "KXYZ\n"} {
		if id := ParseQueued([]byte(bad)); id != "" {
			t.Errorf("ParseQueued(%q) = %q, want nothing", bad, id)
		}
	}
}

// FuzzReadEnvelope: whatever comes on descriptor 1, the reader answers
// with an envelope that keeps the queue's rules or an exit code.
func FuzzReadEnvelope(f *testing.F) {
	f.Add([]byte("Fa@b\x00Tc@d\x00\x00"))
	f.Add([]byte("F\x00T\x00\x00"))
	f.Add([]byte("Fa\x00Tb"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, r, err := ReadEnvelope(bytes.NewReader(b))
		if err != nil {
			var ee *EnvelopeError
			if !errors.As(err, &ee) || ee.Exit == 0 {
				t.Fatalf("error without an exit code: %v", err)
			}
			return
		}
		if len(r) == 0 {
			t.Fatal("an envelope without recipients")
		}
		if !bytes.HasPrefix(b, AppendEnvelope(nil, s, r)) {
			t.Fatalf("%q is not the start of %q", AppendEnvelope(nil, s, r), b)
		}
	})
}
