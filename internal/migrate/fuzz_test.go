package migrate

import (
	"strings"
	"testing"
)

// FuzzVpasswdLine checks that a vpasswd line that parses is given back
// unchanged by String, that its fixed fields hold no ':' (only the
// clear-text password, the last field, may), and that its quota and
// flags either parse to non-negative values or are refused.
func FuzzVpasswdLine(f *testing.F) {
	for _, s := range []string{
		"joe:" + sha512Hash + ":1:0:Joe User:/home/vpopmail/domains/d/joe:52428800S:secret",
		"ann:" + md5Hash + ":1:0:Ann:/home/vpopmail/domains/d/0/ann:1048576S,1000C",
		"old:" + desHash + ":1:2:Old:/home/vpopmail/domains/d/old:NOQUOTA",
		"x:::::::a:b:c",
		"postmaster:x:1:4096::/d/postmaster:1000C,10MBS:",
		"joe:x:1:0:Joe:/d:5M",
		"joe:x:1:0:Joe:/d:99999999999999999999S",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		e, err := ParseVpasswdLine(line)
		if err != nil {
			return
		}
		if got := e.String(); got != line {
			t.Fatalf("String() = %q, want %q", got, line)
		}
		for _, field := range []string{e.Name, e.Crypted, e.UID, e.Flags, e.Gecos, e.Dir, e.Quota} {
			if strings.ContainsAny(field, ":\n\r\x00") {
				t.Fatalf("field %q of %q holds a separator", field, line)
			}
		}
		if e.Name == "" {
			t.Fatalf("empty name accepted: %q", line)
		}
		again, err := ParseVpasswdLine(e.String())
		if err != nil || again != e {
			t.Fatalf("re-parse of %q = %+v, %v; want %+v", line, again, err, e)
		}
		if b, m, err := ParseQuota(e.Quota); err == nil && (b < 0 || m < 0) {
			t.Fatalf("ParseQuota(%q) = %d, %d", e.Quota, b, m)
		}
		if _, err := e.FlagBits(); err != nil {
			t.Fatalf("flags %q passed the parser but not FlagBits: %v", e.Flags, err)
		}
		_ = e.FlagNames()
		_ = choosePassword(e) // never panics on any password field
	})
}

// FuzzDotQmail feeds arbitrary .qmail contents to the planners: they must
// not panic, and whatever becomes an instruction file must parse as a
// .qmail file again to the same plan.
func FuzzDotQmail(f *testing.F) {
	for _, s := range []string{
		"| /home/vpopmail/bin/vdelivermail '' bounce-no-mailbox\n",
		"| /home/vpopmail/bin/vdelivermail '' /vp/domains/d.example/joe\n",
		"&joe@d.example\n/vp/domains/d.example/0/ann/Maildir/\n",
		"|prog 'a b' \"c\\\"d\"\n./Maildir/\n/var/mail/x\n",
		"+list\n&a@b\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		ix := testIndex()
		planDefault("d.example", []byte(data), ix)
		planUserDotQmail("joe@d.example", "/vp/domains/d.example/joe", []byte(data), ix)
		for _, isUser := range []bool{false, true} {
			p := planDotQmail("x", "d.example", []byte(data), isUser, ix)
			n := 0
			for _, set := range []bool{p.instr != nil, p.skip != "", p.problem != ""} {
				if set {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("plan of %q is not exactly one thing: %+v", data, p)
			}
			if p.alias != nil && p.instr == nil {
				t.Fatalf("alias plan of %q has no instruction file to fall back on", data)
			}
			if p.instr != nil {
				q := planDotQmail("x", "d.example", p.instr, isUser, ix)
				if q.problem != "" {
					t.Fatalf("instruction file %q of %q does not parse again: %s", p.instr, data, q.problem)
				}
			}
		}
	})
}
