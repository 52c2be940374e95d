package mtasts

import (
	"strings"
	"testing"
)

func TestParseRecord(t *testing.T) {
	for _, tc := range []struct{ txt, id, err string }{
		{"v=STSv1; id=20160831085700Z;", "20160831085700Z", ""},
		{"v=STSv1;id=abc", "abc", ""},
		{"v=STSv1; id=abc; ext=1", "abc", ""},
		{"v=STSv2; id=abc;", "", "does not start"},
		{"id=abc; v=STSv1;", "", "does not start"},
		{"v=STSv1;", "", "no id"},
		{"v=STSv1; id=a-b;", "", "letters and digits"},
		{"v=STSv1; id=" + strings.Repeat("a", 33), "", "letters and digits"},
		{"v=STSv1; junk", "", "key=value"},
	} {
		r, err := ParseRecord(tc.txt)
		if tc.err == "" && (err != nil || r.ID != tc.id) || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("ParseRecord(%q) = %+v, %v; want id %q err %q", tc.txt, r, err, tc.id, tc.err)
		}
	}
}

func TestParsePolicy(t *testing.T) {
	good := "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.Example.NET\r\nmax_age: 86400\r\nextension: ignored\r\n"
	p, err := ParsePolicy([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if p.Mode != Enforce || p.MaxAge != 86400 || strings.Join(p.MX, ",") != "mail.example.com,*.example.net" {
		t.Errorf("parsed %+v", p)
	}
	for _, tc := range []struct {
		host string
		ok   bool
	}{
		{"mail.example.com", true}, {"MAIL.example.com.", true}, {"a.example.net", true},
		{"example.net", false}, {"a.b.example.net", false}, {"other.example.com", false},
	} {
		if p.Matches(tc.host) != tc.ok {
			t.Errorf("Matches(%q) = %v", tc.host, !tc.ok)
		}
	}
	if back, err := ParsePolicy([]byte(p.String())); err != nil || back.String() != p.String() {
		t.Errorf("round trip: %v %q", err, back)
	}
	if p, err := ParsePolicy([]byte("version: STSv1\nmode: testing\nmx: a.test\nmax_age: 99999999999\n")); err == nil {
		t.Errorf("an 11-digit max_age parsed: %+v", p)
	}
	if p, _ := ParsePolicy([]byte("version: STSv1\nmode: none\nmax_age: 40000000\n")); p == nil || p.MaxAge != MaxAge {
		t.Errorf("max_age above a year is not capped: %+v", p)
	}
	for _, bad := range []string{
		"mode: enforce\nmx: a.test\nmax_age: 1\n",
		"version: STSv1\nmx: a.test\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmx: a.test\n",
		"version: STSv1\nmode: strict\nmx: a.test\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmx: a..test\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmx: a.test\nmax_age: -1\n",
		"version: STSv1\nmode enforce\n",
		strings.Repeat("x", MaxPolicySize+1),
	} {
		if p, err := ParsePolicy([]byte(bad)); err == nil {
			t.Errorf("ParsePolicy(%q) = %+v, want an error", bad, p)
		}
	}
}

func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmax_age: 86400\r\n"))
	f.Add([]byte("version: STSv1\nmode: none\nmax_age: 0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePolicy(b)
		if err != nil {
			return
		}
		// What parses renders and parses back to the same policy.
		q, err := ParsePolicy([]byte(p.String()))
		if err != nil || q.String() != p.String() {
			t.Fatalf("round trip of %q: %v", b, err)
		}
		p.Matches("mx.example.com")
	})
}

func FuzzParseRecord(f *testing.F) {
	f.Add("v=STSv1; id=20160831085700Z;")
	f.Fuzz(func(t *testing.T, s string) {
		if r, err := ParseRecord(s); err == nil && !validID(r.ID) {
			t.Fatalf("%q parsed with id %q", s, r.ID)
		}
	})
}
