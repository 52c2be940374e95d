package bounce

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestBoundaryAvoidsContent(t *testing.T) {
	original := "Subject: x\n\n--=_goqmail_FIRST\nand --=_goqmail_SECOND--\n"
	var out bytes.Buffer
	err := write(&out, baseParams(), strings.NewReader(original), int64(len(original)),
		fixedTokens("FIRST", "SECOND", "THIRD"))
	if err != nil {
		t.Fatal(err)
	}
	p := parseBounce(t, out.Bytes(), 2)
	if got := p.header.Get("Content-Type"); !strings.Contains(got, `boundary="=_goqmail_THIRD"`) {
		t.Errorf("Content-Type = %q, want the first boundary absent from the message", got)
	}
	if string(p.bodies[2]) != "Return-Path: <alice@example.org>\n"+original {
		t.Errorf("original not returned intact: %q", p.bodies[2])
	}
	// A boundary in the report text is avoided too.
	params := baseParams()
	params.Failures[0].Text = "--=_goqmail_FIRST"
	out.Reset()
	if err := write(&out, params, strings.NewReader(""), 0, fixedTokens("FIRST", "OTHER")); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out.Bytes(), []byte(`boundary="=_goqmail_OTHER"`)) {
		t.Errorf("boundary from the report text was used:\n%s", out.Bytes())
	}
	// When every token collides, Write fails instead of writing a broken message.
	out.Reset()
	err = write(&out, baseParams(), strings.NewReader(original), int64(len(original)), fixedTokens("FIRST"))
	if err == nil || out.Len() != 0 {
		t.Errorf("all boundaries collide: err = %v, %d bytes written", err, out.Len())
	}
}

func TestNonASCII(t *testing.T) {
	p := baseParams()
	p.To = "jos\xc3\xa9@example.org"
	p.OrigSender = p.To
	p.Failures = []Failure{
		{Rcpt: "m\xc3\xbcller+x=y@example.test", Text: "Sorry, no mailbox here by that name. (#5.1.1)"},
		{Rcpt: "bob@remote.example", Remote: "mx.remote.example", Text: "Remote host said: 550 5.1.1 unbekannt: m\xc3\xbcller/"},
		{Rcpt: "bad@example.test", Text: "invalid \xff utf-8 (#5.1.1)"},
	}
	out := render(t, p, "Subject: caf\xc3\xa9\n\nbody\n")
	parsed := parseBounce(t, out, 3)
	if !strings.Contains(parsed.header.Get("Content-Type"), "multipart/report") ||
		!bytes.Contains(out, []byte("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n")) {
		t.Errorf("text part is not declared utf-8/8bit:\n%s", out)
	}
	if parsed.cte[2] != "8bit" {
		t.Errorf("8-bit original declared %q", parsed.cte[2])
	}
	if got := parsed.dsn[1].Get("Final-Recipient"); got != `utf-8; m\x{FC}ller\x{2B}x\x{3D}y@example.test` {
		t.Errorf("Final-Recipient = %q", got)
	}
	if got := parsed.dsn[2].Get("Diagnostic-Code"); got != `smtp; 550 5.1.1 unbekannt: m\x{FC}ller` {
		t.Errorf("Diagnostic-Code = %q", got)
	}
	if !strings.Contains(parsed.text, "<m\xc3\xbcller+x=y@example.test>:\n") || !strings.Contains(parsed.text, "invalid \uFFFD utf-8") {
		t.Errorf("text part:\n%s", parsed.text)
	}
	if got := parsed.header.Get("To"); got != "jos\xc3\xa9@example.org" {
		t.Errorf("To = %q", got)
	}
}

// TestHostileFields: CR, LF and NUL in any caller field never reach a
// header or field value.
func TestHostileFields(t *testing.T) {
	p := baseParams()
	p.Host = "evil\r\nX-Injected: 1"
	p.ReportingMTA = "me\nX-Injected: 2"
	p.QueueID = "id\nX-Injected: 3"
	p.To = "a\r\nX-Injected: 4@x"
	p.FromAddr = "b\nX-Injected: 5@x"
	p.OrigSender = "c\nX-Injected: 6@x"
	p.MessageIDHost = "h>\nX-Injected: 7"
	p.Failures = []Failure{{Rcpt: "d\nX-Injected: 8@x", Remote: "r\nX-Injected: 9", Text: "t\r\n\nX-Injected: 10\x00(#5.1.1)"}}
	out := render(t, p, "Subject: x\n\nbody\n")
	parsed := parseBounce(t, out, 1)
	if len(parsed.header["X-Injected"]) != 0 {
		t.Errorf("header injected: %q", parsed.header["X-Injected"])
	}
	for _, b := range parsed.dsn {
		if len(b["X-Injected"]) != 0 {
			t.Errorf("DSN field injected: %v", b)
		}
	}
	if !strings.Contains(parsed.header.Get("Message-Id"), "@hX-Injected7>") {
		t.Errorf("Message-ID = %q", parsed.header.Get("Message-Id"))
	}
}

func TestWriteErrors(t *testing.T) {
	p := baseParams()
	p.Failures = nil
	var out bytes.Buffer
	if err := write(&out, p, strings.NewReader(""), 0, fixedTokens("T")); !errors.Is(err, ErrNoFailures) || out.Len() != 0 {
		t.Errorf("no failures: err = %v, %d bytes written", err, out.Len())
	}
	if err := write(&out, baseParams(), strings.NewReader(""), -1, fixedTokens("T")); err == nil {
		t.Error("negative size accepted")
	}
	werr := errors.New("disk full")
	if err := Write(failingWriter{werr}, baseParams(), strings.NewReader(testOriginal), int64(len(testOriginal))); !errors.Is(err, werr) {
		t.Errorf("writer error: err = %v, want it wrapped", err)
	}
}

type failingWriter struct{ err error }

func (f failingWriter) Write([]byte) (int, error) { return 0, f.err }

// TestWriteRandom: the exported Write draws a fresh token per bounce.
func TestWriteRandom(t *testing.T) {
	ids := map[string]bool{}
	for range 3 {
		var out bytes.Buffer
		if err := Write(&out, baseParams(), strings.NewReader(testOriginal), int64(len(testOriginal))); err != nil {
			t.Fatal(err)
		}
		p := parseBounce(t, out.Bytes(), 2)
		ids[p.header.Get("Message-Id")] = true
	}
	if len(ids) != 3 {
		t.Errorf("Message-IDs repeat: %v", ids)
	}
}

func TestWriteField(t *testing.T) {
	long := strings.Repeat("y", 1200)
	tests := []struct{ name, value, want string }{
		{"short", "dns; mail.example.test", "Name: dns; mail.example.test\n"},
		{"folded at a space", "smtp; 550 5.1.1 <bob@remote.example>: Recipient address rejected: User unknown",
			"Name: smtp; 550 5.1.1 <bob@remote.example>: Recipient address rejected: User\n unknown\n"},
		{"long word kept whole", "x; " + strings.Repeat("w", 100) + " end",
			"Name: x;\n " + strings.Repeat("w", 100) + "\n end\n"},
		{"overlong word split", long,
			"Name: " + long[:maxLine-6] + "\n " + long[maxLine-6:] + "\n"},
	}
	for _, tt := range tests {
		var b strings.Builder
		writeField(&b, "Name", tt.value)
		if b.String() != tt.want {
			t.Errorf("%s: got\n%q\nwant\n%q", tt.name, b.String(), tt.want)
		}
		for _, line := range strings.Split(b.String(), "\n") {
			if len(line) > maxLine || (line != "" && strings.TrimSpace(line) == "") {
				t.Errorf("%s: bad line %q", tt.name, line)
			}
		}
	}
}

func TestQuoteAddr(t *testing.T) {
	tests := []struct{ in, want string }{
		{"alice@example.org", "alice@example.org"},
		{"", ""},
		{"#@[]", "#@[]"},
		{"a b@x", `"a b"@x`},
		{`a"b\c@x`, `"a\"b\\c"@x`},
		{"a..b@x", `"a..b"@x`},
		{".a@x", `".a"@x`},
		{"@x", `""@x`},
		{"local", "local"},
		{"a@b@c", `"a@b"@c`},
		{"j\xc3\xb6@x", "j\xc3\xb6@x"},
	}
	for _, tt := range tests {
		if got := quoteAddr(tt.in); got != tt.want {
			t.Errorf("quoteAddr(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRemoteMTAName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"mx.example.org", "mx.example.org"},
		{"192.0.2.1", "[192.0.2.1]"},
		{"::ffff:192.0.2.1", "[192.0.2.1]"},
		{"2001:db8::1", "[IPv6:2001:db8::1]"},
		{"fe80::1%eth0\r\nX: y", "[IPv6:fe80::1]"},
		{"a\r\nb", "a b"},
	}
	for _, tt := range tests {
		if got := mtaName(tt.in); got != tt.want {
			t.Errorf("mtaName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
