package remote

import (
	"bufio"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestReadReply(t *testing.T) {
	long := strings.Repeat("x", maxReplyLine)
	many := strings.Repeat("250-"+strings.Repeat("y", 900)+"\r\n", 80)
	for _, tc := range []struct {
		in    string
		code  int
		lines []string
		err   string // "", "protocol", "io"
	}{
		{in: "250 ok\r\n", code: 250, lines: []string{"ok"}},
		{in: "250 ok\n", code: 250, lines: []string{"ok"}},
		{in: "220\r\n", code: 220, lines: []string{""}},
		{in: "250-mx.example\r\n250-PIPELINING\r\n250 SIZE 100\r\n", code: 250, lines: []string{"mx.example", "PIPELINING", "SIZE 100"}},
		{in: "550 5.1.1 no\x00body\r\n", code: 550, lines: []string{"5.1.1 no\x00body"}},
		{in: "550 a\rb\r\n", code: 550, lines: []string{"a\rb"}},
		{in: "250 ok\r\n250 second\r\n", code: 250, lines: []string{"ok"}}, // the second is the next reply
		{in: "250-a\r\n251 b\r\n", err: "protocol"},
		{in: "hello\r\n", err: "protocol"},
		{in: "25\r\n", err: "protocol"},
		{in: "199 x\r\n", err: "protocol"},
		{in: "600 x\r\n", err: "protocol"},
		{in: "2a0 x\r\n", err: "protocol"},
		{in: "250x\r\n", err: "protocol"},
		{in: "250 " + long + "\r\n", err: "protocol"},
		{in: "250 " + strings.Repeat("z", 10000) + "\r\n", err: "protocol"},
		{in: many + "250 end\r\n", err: "protocol"},
		{in: "250-never ends\r\n250-", err: "io"},
		{in: "", err: "io"},
	} {
		r, err := readReply(bufio.NewReader(strings.NewReader(tc.in)))
		switch {
		case tc.err == "protocol" && !errors.Is(err, errProtocol),
			tc.err == "io" && (err == nil || errors.Is(err, errProtocol)),
			tc.err == "" && err != nil:
			t.Errorf("%.40q: error %v, want %s", tc.in, err, tc.err)
			continue
		}
		if tc.err != "" {
			continue
		}
		if r.Code != tc.code || strings.Join(r.Lines, "|") != strings.Join(tc.lines, "|") {
			t.Errorf("%q: got %d %q, want %d %q", tc.in, r.Code, r.Lines, tc.code, tc.lines)
		}
	}
}

func TestReplyStringCleansAndCaps(t *testing.T) {
	r := Reply{Code: 550, Lines: []string{"5.1.1 bad\x00\r\nX-Injected: yes", "caf\xc3\xa9 \xff\x1b[31m"}}
	got := r.String()
	want := "550-5.1.1 bad???X-Injected: yes/550 café ??[31m"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	big := Reply{Code: 451, Lines: []string{strings.Repeat("é", 2000)}}
	s := big.String()
	if len(s) > maxReportText || !utf8.ValidString(s) || !strings.HasPrefix(s, "451 éé") {
		t.Errorf("cap broken: %d bytes, valid %v", len(s), utf8.ValidString(s))
	}
}

func TestParseEHLO(t *testing.T) {
	ext := parseEHLO(Reply{Code: 250, Lines: []string{"mx.example greets you", "pipelining", "SIZE 1000", "AUTH=PLAIN LOGIN", "STARTTLS", ""}})
	if !ext.has("PIPELINING") || !ext.has("STARTTLS") || ext.has("SMTPUTF8") {
		t.Errorf("keywords: %v", ext)
	}
	if !ext.hasWord("AUTH", "plain") || !ext.hasWord("AUTH", "LOGIN") || ext.hasWord("AUTH", "CRAM-MD5") {
		t.Errorf("old AUTH= syntax not understood: %v", ext)
	}
	cn := &conn{ext: ext}
	if cn.maxSize() != 1000 {
		t.Errorf("SIZE %d", cn.maxSize())
	}
	for _, p := range []string{"", "junk", "-5"} {
		cn.ext = extensions{"SIZE": p}
		if cn.maxSize() != 0 {
			t.Errorf("SIZE %q read as a limit %d", p, cn.maxSize())
		}
	}
	var none extensions // after HELO
	if none.has("PIPELINING") || none.hasWord("AUTH", "PLAIN") {
		t.Error("nil extensions claim something")
	}
}

// FuzzReadReply feeds arbitrary peer bytes to the reply reader: it must
// not panic, must stop within the byte caps, and whatever it accepts must
// be a well-formed reply whose report text is clean.
func FuzzReadReply(f *testing.F) {
	for _, s := range []string{
		"250 ok\r\n", "250-a\r\n250 b\r\n", "220\n", "550-x\r\n551 y\r\n", "250 \x00\r\r\n",
		"250-" + strings.Repeat("a", 1200) + "\r\n", "999 x\r\n", "25", "354 go ahead\r\n250 early\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		br := bufio.NewReaderSize(strings.NewReader(string(in)), 4096)
		for range 3 {
			r, err := readReply(br)
			if err != nil {
				return
			}
			if r.Code < 200 || r.Code > 599 || len(r.Lines) == 0 {
				t.Fatalf("accepted bad reply %+v", r)
			}
			size := 0
			for _, l := range r.Lines {
				size += len(l) + 5
				if strings.Contains(l, "\n") || len(l) > maxReplyLine {
					t.Fatalf("line %q kept a line end or is too long", l)
				}
			}
			if size > maxReplyBytes+len(r.Lines)*2 {
				t.Fatalf("reply of %d bytes accepted", size)
			}
			s := r.String()
			if len(s) > maxReportText || !utf8.ValidString(s) || strings.ContainsAny(s, "\x00\r\n\x7f") {
				t.Fatalf("report text not clean: %q", s)
			}
		}
	})
}
