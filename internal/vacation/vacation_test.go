package vacation

import (
	"fmt"
	"mime"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)

func cfg() Config {
	return Config{On: true, Subject: "Away", Days: 7, Addresses: []string{"bob@example.com", "info@example.com"}, Socket: "/x/run/submit.sock", Body: "I am away.\n"}
}

func header(t *testing.T, h string) mail.Header {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(h + "\nbody\n"))
	if err != nil {
		t.Fatal(err)
	}
	return m.Header
}

func TestDecideTable(t *testing.T) {
	personal := "From: alice@example.org\nTo: Bob <BOB@example.com>\nSubject: hi\n"
	for _, tc := range []struct {
		name, sender, header string
		edit                 func(*Config)
		want                 string
	}{
		{"personal", "alice@example.org", personal, nil, ""},
		{"cc", "alice@example.org", "To: x@example.org\nCc: info@example.com\n", nil, ""},
		{"unparsable to, address present", "alice@example.org", "To: \"broken <bob@example.com>\n", nil, ""},
		{"unparsable to, longer address", "alice@example.org", "To: \"broken <xbob@example.com>\n", nil, ReasonNotListed},
		{"off", "alice@example.org", personal, func(c *Config) { c.On = false }, ReasonOff},
		{"before from", "alice@example.org", personal, func(c *Config) { c.From = t0.Unix() + 1 }, ReasonNotYet},
		{"after until", "alice@example.org", personal, func(c *Config) { c.Until = t0.Unix() }, ReasonOver},
		{"within dates", "alice@example.org", personal, func(c *Config) { c.From, c.Until = t0.Unix()-1, t0.Unix()+1 }, ""},
		{"null sender", "", personal, nil, ReasonNull},
		{"qmail null", "#@[]", personal, nil, ReasonNull},
		{"mailer-daemon", "MAILER-DAEMON@example.org", personal, nil, ReasonDaemon},
		{"owner-", "owner-list@example.org", personal, nil, ReasonDaemon},
		{"-request", "list-request@example.org", personal, nil, ReasonDaemon},
		{"ezmlm return", "list-return-12-bob=example.com@example.org", personal, nil, ReasonDaemon},
		{"precedence bulk", "alice@example.org", personal + "Precedence: Bulk\n", nil, ReasonList},
		{"precedence list", "alice@example.org", personal + "Precedence: list\n", nil, ReasonList},
		{"precedence junk", "alice@example.org", personal + "Precedence: junk\n", nil, ReasonList},
		{"list-id", "alice@example.org", personal + "List-Id: <l.example.org>\n", nil, ReasonList},
		{"list-unsubscribe", "alice@example.org", personal + "List-Unsubscribe: <mailto:u@example.org>\n", nil, ReasonList},
		{"ezmlm mailing-list", "alice@example.org", personal + "Mailing-List: contact l-help@example.org\n", nil, ReasonList},
		{"auto-replied", "alice@example.org", personal + "Auto-Submitted: auto-replied\n", nil, ReasonAuto},
		{"auto-generated", "alice@example.org", personal + "Auto-Submitted: auto-generated\n", nil, ReasonAuto},
		{"auto-submitted no", "alice@example.org", personal + "Auto-Submitted: no\n", nil, ""},
		{"not addressed", "alice@example.org", "To: list@example.org\n", nil, ReasonNotListed},
		{"no to", "alice@example.org", "Subject: x\n", nil, ReasonNotListed},
		{"self", "Bob@Example.com", personal, nil, ReasonSelf},
	} {
		c := cfg()
		if tc.edit != nil {
			tc.edit(&c)
		}
		got := Decide(c, Message{Sender: tc.sender, Header: header(t, tc.header)}, t0)
		if got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestClaimOncePerPeriod(t *testing.T) {
	dir := t.TempDir()
	claim := func(sender string, at time.Time) bool {
		t.Helper()
		ok, err := Claim(dir, sender, 7, at)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !claim("alice@example.org", t0) {
		t.Fatal("first claim refused")
	}
	if claim("ALICE@example.org", t0.Add(time.Hour)) {
		t.Error("second reply within the period")
	}
	if !claim("carol@example.org", t0.Add(time.Hour)) {
		t.Error("another sender refused")
	}
	if !claim("alice@example.org", t0.Add(7*24*time.Hour+time.Second)) {
		t.Error("no reply after the period")
	}
}

func TestClaimBounded(t *testing.T) {
	defer func(n int) { maxState = n }(maxState)
	maxState = 40
	dir := t.TempDir()
	for i := 0; i < maxState+50; i++ {
		if ok, err := Claim(dir, fmt.Sprintf("s%d@example.org", i), 7, t0.Add(time.Duration(i)*time.Second)); err != nil || !ok {
			t.Fatal(i, ok, err)
		}
	}
	data, _ := os.ReadFile(filepath.Join(dir, StateFile))
	if n := strings.Count(string(data), "\n"); n != maxState {
		t.Fatalf("%d entries, want %d", n, maxState)
	}
	if strings.Contains(string(data), " s0@") || !strings.Contains(string(data), fmt.Sprintf(" s%d@", maxState+49)) {
		t.Error("the oldest entries were not the ones dropped")
	}
	// Garbage in the file is forgotten, not fatal.
	os.WriteFile(filepath.Join(dir, StateFile), []byte("junk\n\x00\n99999999999999999999 x\n"), 0o600)
	if ok, err := Claim(dir, "a@example.org", 7, t0); err != nil || !ok {
		t.Fatal(ok, err)
	}
}

func TestConfigRoundTrip(t *testing.T) {
	dir := t.TempDir()
	c := cfg()
	c.Subject = "Weg\r\nBcc: x@example.org"
	c.From, c.Until = 100, 200
	c.Body = "line 1\n\nline 3 ü\n"
	if err := WriteConfig(dir, c); err != nil {
		t.Fatal(err)
	}
	got, err := ReadConfig(dir)
	c.Subject = "Weg  Bcc: x@example.org"
	if err != nil || fmt.Sprint(got) != fmt.Sprint(c) {
		t.Fatalf("%+v %v", got, err)
	}
	for _, bad := range []string{"On: 2\nDays: 7\nAddress: a@b\n\n", "On: 1\nDays: x\nAddress: a@b\n\n", "On: 1\nDays: 7\nAddress: a@b\nColor: red\n\n", "On: 1\nDays: 7\nAddress: a@b\n", "On: 1\nDays: 0\nAddress: a@b\n\n"} {
		if _, err := ParseConfig([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestReply(t *testing.T) {
	c := cfg()
	c.Subject = ""
	h := header(t, "From: alice@example.org\nTo: info@example.com\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\nMessage-ID: <m1@example.org>\nReferences: <m0@example.org> bogus\n")
	r := string(Reply(c, Message{Sender: "alice@example.org", Header: h}, t0))
	m, err := mail.ReadMessage(strings.NewReader(r))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"From": "info@example.com", "To": "<alice@example.org>", "Auto-Submitted": "auto-replied",
		"In-Reply-To": "<m1@example.org>", "References": "<m0@example.org> <m1@example.org>",
	} {
		if got := m.Header.Get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if s, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject")); s != "Re: Grüße" {
		t.Errorf("subject %q", s)
	}
}

func TestDecideBadSender(t *testing.T) {
	h := header(t, "To: bob@example.com\n")
	for _, s := range []string{"a\nb@example.org", "nodomain", "a b@example.org", strings.Repeat("a", 300) + "@example.org"} {
		if got := Decide(cfg(), Message{Sender: s, Header: h}, t0); got != ReasonBadSender {
			t.Errorf("%q: %q", s, got)
		}
	}
}

// FuzzDecideReply: any header and sender; a reply Decide approves is a
// message whose header parses and whose lines fit SMTP's 998.
func FuzzDecideReply(f *testing.F) {
	f.Add("alice@example.org", "To: bob@example.com\nSubject: hi\nMessage-ID: <a@b>\nReferences: <x@y>\n")
	f.Add("x@example.org", "To: =?utf-8?q?=E2=80=AE?= <bob@example.com>\nSubject: =?bogus?x?zz?=\n")
	f.Fuzz(func(t *testing.T, sender, head string) {
		m, err := mail.ReadMessage(strings.NewReader(head + "\n\nbody\n"))
		if err != nil {
			return
		}
		msg := Message{Sender: sender, Header: m.Header}
		if Decide(cfg(), msg, t0) != "" {
			return
		}
		c := cfg()
		c.Subject = ""
		r := Reply(c, msg, t0)
		if _, err := mail.ReadMessage(strings.NewReader(string(r))); err != nil {
			t.Fatalf("reply does not parse: %v\n%s", err, r)
		}
		for _, l := range strings.Split(string(r), "\n") {
			if len(l) > 998 {
				t.Fatalf("line of %d bytes", len(l))
			}
		}
	})
}
