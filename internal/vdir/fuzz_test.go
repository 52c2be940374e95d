package vdir

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// FuzzTables: every file parser either refuses its input or returns a
// value that formats to text parsing back to the same value, so what a
// writer writes is always what a reader reads.
func FuzzTables(f *testing.F) {
	f.Add([]byte("postmaster=bob\ncatchall=forward:a@b.org,c\nquota=9\n"), []byte("bob 1 2\nalice 0 0\n"), []byte("info: bob, x@y.org\n# c\n"), []byte("bob:{PLAIN}x:1:2::/h::\n"))
	f.Add([]byte("aliasof=example.org\n"), []byte(""), []byte("a:b"), []byte("a:b"))
	f.Add([]byte("catchall=mailbox:u\r\n"), []byte(" bob 1 2 \n"), []byte("x: \"q q\"@b.org\n"), []byte("x"))
	f.Fuzz(func(t *testing.T, dom, boxes, aliases, passwd []byte) {
		const name = "example.com"
		if d, err := parseDomainFile(name, dom); err == nil {
			d2, err := parseDomainFile(name, formatDomainFile(d))
			if err != nil || d2 != d {
				t.Fatalf("domain round trip: %+v -> %+v, %v", d, d2, err)
			}
		}
		if m, err := parseMailboxes(boxes); err == nil {
			m2, err := parseMailboxes(formatMailboxes(m))
			if err != nil || !reflect.DeepEqual(m, m2) {
				t.Fatalf("mailboxes round trip: %v -> %v, %v", m, m2, err)
			}
		}
		if m, err := parseAliases(name, aliases); err == nil {
			m2, err := parseAliases(name, formatAliases(m))
			if err != nil || !reflect.DeepEqual(m, m2) {
				t.Fatalf("aliases round trip: %v -> %v, %v", m, m2, err)
			}
			for l, ts := range m {
				for _, tg := range ts {
					if !strings.Contains(tg, "@") || strings.ContainsAny(tg, ", \n") {
						t.Fatalf("alias %s target %q", l, tg)
					}
				}
			}
		}
		if m, err := parsePasswd(passwd); err == nil {
			boxes := map[string]box{}
			for l, h := range m {
				if strings.ContainsAny(h, "\n") {
					t.Fatalf("hash with newline for %s", l)
				}
				boxes[l] = box{}
			}
			out := formatPasswd(boxes, m, 1, 2, func(l string) string { return "/h/" + l })
			m2, err := parsePasswd(out)
			if err != nil || !reflect.DeepEqual(m, m2) {
				t.Fatalf("passwd round trip: %v -> %v, %v", m, m2, err)
			}
		}
	})
}

// FuzzNames: accepted names are idempotent under the check and safe as
// path components.
func FuzzNames(f *testing.F) {
	for _, s := range []string{"Example.COM", "a..b", "../x", "bob", ".bob", "default", "a/b.c", "x-y.z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, check := range []func(string) (string, error){CheckDomain, CheckLocal} {
			got, err := check(s)
			if err != nil {
				continue
			}
			if again, err := check(got); err != nil || again != got {
				t.Fatalf("not idempotent: %q -> %q -> %q, %v", s, got, again, err)
			}
			if got == "" || got[0] == '.' || strings.ContainsAny(got, "/\x00 :\n") || got != strings.ToLower(got) {
				t.Fatalf("unsafe name %q from %q", got, s)
			}
		}
	})
}

// FuzzResolve: RCPT TO hands Resolve whatever a client sent. It never
// fails on a readable directory, never names a mailbox that is not a
// user, and never answers for a domain it does not serve.
func FuzzResolve(f *testing.F) {
	root := f.TempDir()
	d := OpenFiles(root+"/vdir", root+"/vmail", os.Getuid(), os.Getgid())
	d.cost = 4
	for _, err := range []error{
		d.AddDomain(Domain{Name: "example.com"}),
		d.AddUserHash(User{Local: "bob", Domain: "example.com", Hash: "{PLAIN}x"}),
		d.SetAlias(Alias{Local: "info", Domain: "example.com", Targets: []string{"bob", "a@b.org"}}),
		d.SetDomain(Domain{Name: "example.com", Catchall: Catchall{CatchMailbox, "bob"}}),
		d.AddDomain(Domain{Name: "example.net", AliasOf: "example.com"}),
		d.AddDomain(Domain{Name: "example.org"}),
	} {
		if err != nil {
			f.Fatal(err)
		}
	}
	for _, s := range [][2]string{{"bob", "example.com"}, {"INFO", "Example.NET"}, {"x", "example.org"}, {"postmaster", "../vdir"}, {"a", ".lock"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, local, domain string) {
		r, err := d.Resolve(local, domain)
		if err != nil {
			t.Fatalf("Resolve(%q, %q): %v", local, domain, err)
		}
		served := map[string]bool{"example.com": true, "example.net": true, "example.org": true}
		switch r.Kind {
		case Mailbox:
			if r.Local != "bob" || r.Domain != "example.com" {
				t.Fatalf("mailbox %+v", r)
			}
		case Forward:
			if r.Domain != "example.com" || len(r.Targets) == 0 {
				t.Fatalf("forward %+v", r)
			}
		case NoSuch:
			if r.Domain != "" && r.Domain != "example.org" {
				t.Fatalf("nosuch %+v", r)
			}
		default:
			t.Fatalf("kind %+v", r)
		}
		if !served[strings.ToLower(domain)] && r.Kind != NoSuch {
			t.Fatalf("answered for %q: %+v", domain, r)
		}
	})
}
