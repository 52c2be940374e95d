package inject

import (
	"errors"
	"strings"
	"testing"

	"goqmail/internal/address"
)

func TestRecipients(t *testing.T) {
	c := testConfig()
	tests := []struct {
		arg  string
		want string // space-separated; "" = error
		err  error
	}{
		{"bob", "bob@host.example.test", nil},
		{"bob@mail", "bob@mail.example.test", nil},
		{"bob@Mail.Example.ORG", "bob@mail.example.org", nil},
		{"<bob@x.example>", "bob@x.example", nil},
		{"Bob@x.example", "Bob@x.example", nil},
		{"bob@[192.0.2.1]", "bob@[192.0.2.1]", nil},
		{`"odd name"@x.example`, "odd name@x.example", nil},
		{"a, b@x.example", "a@host.example.test b@x.example", nil},
		{"Bob Smith <bob@x.example>", "bob@x.example", nil},
		{"", "", ErrAddress},
		{"bob\n@x.example", "", address.ErrBadChar},
		{"bob\x00", "", address.ErrBadChar},
		{"bob\x7f", "", address.ErrBadChar},
		{strings.Repeat("a", 1001), "", address.ErrTooLong},
		{strings.Repeat("a", 300) + "@x.example", "", address.ErrTooLong},
		{"bob@x..example", "", ErrAddress},
		{"bob@-x.example", "", ErrAddress},
		{"bob@x.example SIZE=10", "", ErrAddress},
		{"a@b@c.example", "", ErrAddress},
		{"jörg@x.example", "", ErrAddress},
		{"undisclosed:;", "", ErrAddress},
	}
	for _, tt := range tests {
		got, err := c.Recipients(tt.arg)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("Recipients(%q) = %v, %v; want error %v", tt.arg, got, err, tt.err)
			}
			continue
		}
		if err != nil || strings.Join(got, " ") != tt.want {
			t.Errorf("Recipients(%q) = %q, %v; want %q", tt.arg, got, err, tt.want)
		}
	}
}

func TestSender(t *testing.T) {
	c := testConfig()
	tests := []struct{ arg, want string }{
		{"", ""},
		{"<>", ""},
		{" <>", ""},
		{"bounce", "bounce@host.example.test"},
		{"list-owner@lists", "list-owner@lists.example.test"},
		{"<x@y.example>", "x@y.example"},
		{"Owner <owner@y.example>", "owner@y.example"},
	}
	for _, tt := range tests {
		got, err := c.Sender(tt.arg)
		if err != nil || got != tt.want {
			t.Errorf("Sender(%q) = %q, %v; want %q", tt.arg, got, err, tt.want)
		}
	}
	for _, bad := range []string{"a, b@x.example", "x\ny@z.example", "a b", "<a@b"} {
		if got, err := c.Sender(bad); !errors.Is(err, ErrAddress) {
			t.Errorf("Sender(%q) = %q, %v; want ErrAddress", bad, got, err)
		}
	}
}

func TestDefaultSender(t *testing.T) {
	c := testConfig()
	if got, err := c.DefaultSender(); err != nil || got != "alice@host.example.test" {
		t.Errorf("DefaultSender = %q, %v", got, err)
	}
	c.Identity.SenderUser, c.Identity.SenderHost = "bounces", "Lists.Example.ORG"
	if got, err := c.DefaultSender(); err != nil || got != "bounces@lists.example.org" {
		t.Errorf("DefaultSender with QMAILSUSER/QMAILSHOST = %q, %v", got, err)
	}
	c.Identity.SenderHost = "bad host"
	if _, err := c.DefaultSender(); !errors.Is(err, ErrAddress) {
		t.Errorf("DefaultSender with a bad host: %v", err)
	}
}

func TestCompleteList(t *testing.T) {
	tests := []struct{ in, want string }{
		{"joe", "joe@h.d"},
		{"joe@x", "joe@x.d"},
		{"joe@x.y", "joe@x.y"},
		{"joe@[1.2.3.4]", "joe@[1.2.3.4]"},
		{"Joe <joe> (c)", "Joe <joe@h.d> (c)"},
		{`"a b"`, `"a b"@h.d`},
		{`"a".b`, `"a".b@h.d`},
		{"a . b @ x", "a . b @ x.d"},
		{"<@r1,@r2:joe>", "<@r1,@r2:joe@h.d>"},
		{"<>", "<>"},
		{"g: a, b; , c", "g: a@h.d, b@h.d; , c@h.d"},
		{"g:;", "g:;"},
		{"joe (x@y) ,,ann", "joe@h.d (x@y) ,,ann@h.d"},
		{"J\xc3\xb6rg <j>", "J\xc3\xb6rg <j@h.d>"},
	}
	for _, tt := range tests {
		got, _, err := completeList([]byte(tt.in), "@h.d", ".d")
		if err != nil || string(got) != tt.want {
			t.Errorf("completeList(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"Joe Smith", `"open`, "(open", "[open", "a@b c@d", "<a@b", "g: a", "a@", "<@r a>", "a\x01"} {
		if got, _, err := completeList([]byte(bad), "@h.d", ".d"); !errors.Is(err, errList) {
			t.Errorf("completeList(%q) = %q, %v; want errList", bad, got, err)
		}
	}
}

func TestNewIdentity(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	acct := Account{Name: "alice", Gecos: "& Liddell,Room 1,,"}
	tests := []struct {
		name string
		env  map[string]string
		flag string
		want Identity
	}{
		{"account only", nil, "", Identity{User: "alice", FullName: "Alice Liddell", SenderUser: "alice"}},
		{"USER", map[string]string{"USER": "bob", "LOGNAME": "carol"}, "", Identity{User: "bob", FullName: "Alice Liddell", SenderUser: "bob"}},
		{"MAILUSER beats USER", map[string]string{"USER": "bob", "MAILUSER": "mu"}, "", Identity{User: "mu", FullName: "Alice Liddell", SenderUser: "mu"}},
		{"QMAIL vars", map[string]string{"QMAILUSER": "qu", "QMAILHOST": "qh.example", "QMAILSUSER": "su", "QMAILSHOST": "sh.example", "QMAILNAME": "Q Name", "NAME": "N"},
			"", Identity{User: "qu", Host: "qh.example", FullName: "Q Name", SenderUser: "su", SenderHost: "sh.example"}},
		{"-F beats env", map[string]string{"NAME": "N", "MAILNAME": "M"}, "Flag Name", Identity{User: "alice", FullName: "Flag Name", SenderUser: "alice"}},
		{"MAILNAME beats NAME", map[string]string{"NAME": "N", "MAILNAME": "M"}, "", Identity{User: "alice", FullName: "M", SenderUser: "alice"}},
		{"MAILHOST", map[string]string{"MAILHOST": "mh.example"}, "", Identity{User: "alice", Host: "mh.example", FullName: "Alice Liddell", SenderUser: "alice", SenderHost: "mh.example"}},
		{"bad values skipped", map[string]string{"QMAILUSER": "a\nb", "USER": "x y", "LOGNAME": "ok", "NAME": "Evil\nBcc: x"}, "",
			Identity{User: "ok", FullName: "Evil Bcc: x", SenderUser: "ok"}},
	}
	for _, tt := range tests {
		if got := NewIdentity(env(tt.env), acct, tt.flag); got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
	if got := NewIdentity(env(nil), Account{}, ""); got.User != "anonymous" || got.FullName != "" {
		t.Errorf("no account: %+v", got)
	}
}
