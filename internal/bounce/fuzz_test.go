package bounce

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// FuzzWrite feeds arbitrary recipients, report texts, remote names and
// originals to write and checks that the result is always a well-formed
// multipart/report: three parts, one QSBMF paragraph and one DSN block per
// recipient, statuses equal to Status, no CR or NUL anywhere, and the
// original returned intact or as an exact prefix (its header).
func FuzzWrite(f *testing.F) {
	f.Add("nobody@example.test", "Sorry, no mailbox here by that name. (#5.1.1)/", "",
		"bob@remote.example", "Remote host said: 550 5.1.1 <x@y>: unknown user/Giving up on 192.0.2.1.", "192.0.2.1",
		[]byte(testOriginal), int64(0), uint8(2), false)
	f.Add("a@b", "x//y\r\n\x00z", "mx", "", "", "", []byte("Subject: a\r\n\nb\x00"), int64(3), uint8(1), true)
	f.Add("m\xc3\xbcller@x", "\xff\xfe (#4.2.2)", "2001:db8::1", "", "Remote host said: 550-5.1.1 a/550 5.1.1 https://x.test/a/b", "",
		[]byte("--=_goqmail_FUZZ\n\n--=_goqmail_FUZZ2--\n"), int64(0), uint8(3), false)
	f.Add("", "", "", "", "", "", []byte("\n"), int64(-1), uint8(0), false)
	f.Add(strings.Repeat("r", 1000), strings.Repeat("t", 1100), strings.Repeat("h", 300), "", "", "",
		[]byte("X: "+strings.Repeat("v", 1200)+"\n\nbody\n"), int64(0), uint8(1), false)
	f.Fuzz(func(t *testing.T, rcpt1, text1, remote1, rcpt2, text2, remote2 string,
		original []byte, limit int64, nrcpt uint8, double bool) {
		pool := []Failure{{rcpt1, text1, remote1}, {rcpt2, text2, remote2}, {rcpt2, text1, remote1}}
		p := baseParams()
		p.Failures = pool[:1+int(nrcpt)%len(pool)]
		p.MaxOriginal = limit
		p.Double = double
		if double {
			p.OrigSender = ""
		} else {
			p.OrigSender = rcpt2
		}
		var out bytes.Buffer
		err := write(&out, p, bytes.NewReader(original), int64(len(original)),
			fixedTokens("FUZZ", "FUZZ2", "FUZZ3"))
		if err != nil {
			// Only a boundary collision may fail, and only because the
			// input holds the fixed tokens.
			all := string(original) + rcpt1 + text1 + remote1 + rcpt2 + text2 + remote2
			if !errors.Is(err, errNoBoundary) || !strings.Contains(all, "--=_goqmail_FUZZ") {
				t.Fatalf("write: %v", err)
			}
			return
		}
		parsed := parseBounce(t, out.Bytes(), len(p.Failures))
		for i, fl := range p.Failures {
			want, _ := Status(fl.Text)
			if got := parsed.dsn[i+1].Get("Status"); got != want {
				t.Errorf("recipient %d Status = %q, want %q", i, got, want)
			}
		}
		returnPath := "Return-Path: <" + quoteAddr(displayAddr(stripVERP(p.OrigSender))) + ">\n"
		third := decodeThird(t, parsed)
		switch parsed.types[2] {
		case "message/rfc822":
			if string(third) != returnPath+string(original) {
				t.Errorf("returned message differs from the original")
			}
			if limit > 0 && int64(len(original)) > limit {
				t.Errorf("message of %d bytes returned whole with limit %d", len(original), limit)
			}
		case "text/rfc822-headers":
			header, ok := bytes.CutPrefix(third, []byte(returnPath))
			if !ok {
				t.Fatalf("header part does not start with %q: %q", returnPath, truncate(string(third), 100))
			}
			if !bytes.HasPrefix(original, bytes.TrimSuffix(header, []byte("\n"))) {
				t.Errorf("returned header %q is not a prefix of the original", truncate(string(header), 100))
			}
		}
	})
}

// FuzzStatus checks Status and reportLines on arbitrary report text: the
// status is always a valid failure code, and no line or diagnostic carries
// a line break, NUL or blank line.
func FuzzStatus(f *testing.F) {
	for _, s := range []string{
		"Sorry, no mailbox here by that name. (#5.1.1)",
		"Remote host said: 550 5.1.1 <x@y>: unknown user/Giving up on 192.0.2.1.",
		"Remote host said: 550-5.1.1 a/550 5.1.1 https://x.test/a/b/Giving up",
		"(#2.0.0)(#5.999.999)(#4.1000.1)",
		"Remote host said: 250 2.0.0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		status, diag := Status(text)
		if !statusRE.MatchString(status) || status[0] == '2' {
			t.Errorf("Status(%q) = %q", text, status)
		}
		if strings.ContainsAny(diag, "\r\n\x00") {
			t.Errorf("diagnostic %q has a line break", diag)
		}
		if diag != "" {
			if _, _, ok := replyCode(diag); !ok {
				t.Errorf("diagnostic %q does not start with a reply code", diag)
			}
		}
		for _, line := range reportLines(text) {
			if strings.ContainsAny(line, "\r\n\x00") || strings.TrimSpace(line) == "" {
				t.Errorf("reportLines(%q) gave line %q", text, line)
			}
		}
	})
}
