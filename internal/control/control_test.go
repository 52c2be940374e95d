package control

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeControl(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadDefaultsAndFiles(t *testing.T) {
	dir := writeControl(t, map[string]string{
		"me":               "mail.example.org  \t\nignored second line\n",
		"rcpthosts":        "# comment\nexample.org\n\n.example.net  \n",
		"databytes":        "1000\n",
		"concurrencylocal": "5000\n",
	})
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Line(Me); got != "mail.example.org" {
		t.Errorf("me = %q", got)
	}
	if got := s.List(Locals); len(got) != 1 || got[0] != "mail.example.org" || s.Get(Locals).Source != "default (me)" {
		t.Errorf("locals = %v from %s", got, s.Get(Locals).Source)
	}
	if got := s.List(RcptHosts); strings.Join(got, "|") != "example.org|.example.net" {
		t.Errorf("rcpthosts = %v", got)
	}
	if s.Number(DataBytes) != 1000 || s.Get(DataBytes).Source != "control/databytes" {
		t.Errorf("databytes = %d", s.Number(DataBytes))
	}
	if s.Number(ConcurrencyLocal) != 1000 {
		t.Errorf("concurrencylocal not capped: %d", s.Number(ConcurrencyLocal))
	}
	if len(s.Warnings) != 2 { // me's second line, concurrencylocal's cap
		t.Errorf("warnings = %v", s.Warnings)
	}
	if s.Line(SMTPGreeting) != "mail.example.org" || s.Line(EnvNoAtHost) != "mail.example.org" {
		t.Error("me-derived defaults not applied")
	}
	if _, ok := s.Present(TCPRules); ok {
		t.Error("tcp.smtp reported present")
	}
	if !strings.Contains(s.Describe(), "databytes:") {
		t.Error("Describe lacks databytes")
	}
}

func TestLoadWithoutMe(t *testing.T) {
	if _, err := Load(writeControl(t, nil)); !errors.Is(err, ErrNoMe) {
		t.Fatalf("Load without me: %v", err)
	}
}

func TestDomainSet(t *testing.T) {
	d := NewDomainSet([]string{"Example.org", ".example.net"})
	cases := map[string]bool{
		"example.org": true, "EXAMPLE.ORG": true, "sub.example.org": false,
		"example.net": false, "a.example.net": true, "a.b.example.net": true,
		"badexample.net": false, "": false,
	}
	for dom, want := range cases {
		if got := d.Match(dom); got != want {
			t.Errorf("Match(%q) = %v, want %v", dom, got, want)
		}
	}
	if d.Exact("a.example.net") || !d.Exact("example.org") {
		t.Error("Exact wrong")
	}
}

func TestEveryNameUniqueAndDocumented(t *testing.T) {
	seen := map[string]bool{}
	doc, err := os.ReadFile("../../docs/control.md")
	if err != nil {
		t.Fatalf("docs/control.md: %v", err)
	}
	for _, st := range All {
		if seen[st.Name] {
			t.Errorf("%s declared twice", st.Name)
		}
		seen[st.Name] = true
		if !strings.Contains(string(doc), "`"+st.Name+"`") {
			t.Errorf("docs/control.md does not describe %s", st.Name)
		}
	}
}

func mkdir(dir, name string) error { return os.Mkdir(filepath.Join(dir, name), 0o755) }

func TestZoneLines(t *testing.T) {
	z, err := ParseZoneLine("Zen.Example=127.0.0.2,127.0.0.8/30*3:listed; see https://zen.example/", false)
	if err != nil || z.Zone != "zen.example" || z.Weight != 3 || z.Text != "listed; see https://zen.example/" || len(z.Answers) != 2 {
		t.Fatalf("%+v, %v", z, err)
	}
	for a, want := range map[string]bool{"127.0.0.2": true, "127.0.0.3": false, "127.0.0.9": true, "127.0.0.12": false} {
		if z.Listed(netip.MustParseAddr(a)) != want {
			t.Errorf("answer %s listed = %v", a, !want)
		}
	}
	d, err := ParseZoneLine("bl.example", false)
	if err != nil || d.Weight != 1 || d.Text != "" || d.Answers != nil {
		t.Fatalf("%+v, %v", d, err)
	}
	// Any 127/8 answer by default, but not Spamhaus's error codes, and
	// never an address outside 127/8 (a resolver that answers NXDOMAIN
	// with an advertising server).
	for a, want := range map[string]bool{"127.0.0.2": true, "127.1.2.3": true, "127.255.255.254": false, "192.0.2.1": false} {
		if d.Listed(netip.MustParseAddr(a)) != want {
			t.Errorf("default: answer %s listed = %v", a, !want)
		}
	}
}

func TestAddrSet(t *testing.T) {
	s := NewAddrSet([]string{"Spammer@Example.com", "@spam.example"})
	for addr, want := range map[string]string{"spammer@example.COM": "spammer@example.com", "anyone@SPAM.example": "@spam.example",
		"other@example.com": "", "x@sub.spam.example": "", "": "", "spammer@example.com.evil": ""} {
		if got, _ := s.Match(addr); got != want {
			t.Errorf("%q matched %q, want %q", addr, got, want)
		}
	}
	var none *AddrSet
	if _, ok := none.Match("a@b"); ok || none.Len() != 0 {
		t.Error("a nil set matched")
	}
}
