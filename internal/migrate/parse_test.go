package migrate

import (
	"slices"
	"strings"
	"testing"

	"goqmail/internal/vdir"
)

func TestParseVpasswdLine(t *testing.T) {
	for _, c := range []struct {
		line    string
		want    VpasswdEntry
		wantErr string
	}{
		{line: "joe:$1$x$y:1:0:Joe:/vp/domains/d/joe:NOQUOTA",
			want: VpasswdEntry{Name: "joe", Crypted: "$1$x$y", UID: "1", Flags: "0", Gecos: "Joe", Dir: "/vp/domains/d/joe", Quota: "NOQUOTA"}},
		{line: "joe:x:1:0:Joe:/d:1048576S:clear:with:colons",
			want: VpasswdEntry{Name: "joe", Crypted: "x", UID: "1", Flags: "0", Gecos: "Joe", Dir: "/d", Quota: "1048576S", Clear: "clear:with:colons", HasClear: true}},
		{line: "joe:x:::::NOQUOTA:",
			want: VpasswdEntry{Name: "joe", Crypted: "x", Quota: "NOQUOTA", HasClear: true}},
		{line: "joe:x::::", wantErr: "6 fields"},
		{line: ":x:1:0::/d:NOQUOTA", wantErr: "empty user name"},
		{line: "joe:x:1:NO:Joe:/d:NOQUOTA", wantErr: `flags field "NO"`},
		{line: "joe:x:-1:0:Joe:/d:NOQUOTA", wantErr: `uid field "-1"`},
		{line: "joe:x:1:0:Joe:/d:NOQUOTA\r", wantErr: "carriage return"},
	} {
		got, err := ParseVpasswdLine(c.line)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("ParseVpasswdLine(%q) error %v, want %q", c.line, err, c.wantErr)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseVpasswdLine(%q) = %+v, %v; want %+v", c.line, got, err, c.want)
		}
		if got.String() != c.line {
			t.Errorf("String() = %q, want %q", got.String(), c.line)
		}
	}
}

func TestFlagNames(t *testing.T) {
	for flags, want := range map[string][]string{
		"":      nil,
		"0":     nil,
		"2":     {"NO_POP"},
		"24":    {"NO_IMAP", "BOUNCE_MAIL"},
		"69632": {"QA_ADMIN", "0x10000"}, // 0x11000: QA_ADMIN and an unknown bit
	} {
		got := VpasswdEntry{Flags: flags}.FlagNames()
		if !slices.Equal(got, want) {
			t.Errorf("FlagNames(%s) = %q, want %q", flags, got, want)
		}
	}
}

func TestParseQuota(t *testing.T) {
	for _, c := range []struct {
		in          string
		bytes, msgs int64
		bad         bool
	}{
		{in: "NOQUOTA"},
		{in: ""},
		{in: "1048576S", bytes: 1 << 20},
		{in: "1048576S,1000C", bytes: 1 << 20, msgs: 1000},
		{in: "1000C,10MBS", bytes: 10 << 20, msgs: 1000},
		{in: "1mbs,1000C", bytes: 1 << 20, msgs: 1000},
		{in: "5M", bytes: 5 << 20},
		{in: "1024KB", bytes: 1 << 20},
		{in: "50000000", bytes: 50000000},
		{in: "0S", bytes: 0},
		{in: "S", bad: true},
		{in: "1000c", bad: true},
		{in: "10G", bad: true},
		{in: "-5S", bad: true},
		{in: "1048576S,", bad: true},
		{in: "99999999999999999999S", bad: true},
		{in: "9999999999999999M", bad: true},
	} {
		b, m, err := ParseQuota(c.in)
		if (err != nil) != c.bad || b != c.bytes || m != c.msgs {
			t.Errorf("ParseQuota(%q) = %d, %d, %v; want %d, %d, bad %v", c.in, b, m, err, c.bytes, c.msgs, c.bad)
		}
	}
}

func TestFormatQuota(t *testing.T) {
	for _, c := range []struct {
		bytes, msgs int64
		want        string
	}{
		{0, 0, "no quota"},
		{50 << 20, 0, "quota 50 MB"},
		{1536, 0, "quota 1536 bytes"},
		{2048, 10, "quota 2 KB, 10 messages"},
		{0, 7, "quota 7 messages"},
	} {
		if got := FormatQuota(c.bytes, c.msgs); got != c.want {
			t.Errorf("FormatQuota(%d, %d) = %q, want %q", c.bytes, c.msgs, got, c.want)
		}
	}
}

func TestShellWords(t *testing.T) {
	for in, want := range map[string][]string{
		" /vp/bin/vdelivermail '' bounce-no-mailbox": {"/vp/bin/vdelivermail", "", "bounce-no-mailbox"},
		"/vp/bin/vdelivermail \"\" delete":           {"/vp/bin/vdelivermail", "", "delete"},
		"a 'b c' \"d\\\"e\" f\\ g":                   {"a", "b c", "d\"e", "f g"},
		"x 'unterminated":                            {"x", "unterminated"},
		"":                                           nil,
		"\t a\t":                                     {"a"},
		"vdelivermail '' /vp/domains/d/postmaster/":   {"vdelivermail", "", "/vp/domains/d/postmaster/"},
		"vdelivermail ''x'' y":                        {"vdelivermail", "x", "y"},
		"vdelivermail '' joe@example.com extra words": {"vdelivermail", "", "joe@example.com", "extra", "words"},
	} {
		if got := shellWords(in); !slices.Equal(got, want) {
			t.Errorf("shellWords(%q) = %q, want %q", in, got, want)
		}
	}
}

// testIndex knows joe@d.example (home /vp/domains/d.example/joe) and
// ann@d.example (hashed home /vp/domains/d.example/0/ann).
func testIndex() *mailboxIndex {
	return &mailboxIndex{
		byOldHome: map[string]string{"/vp/domains/d.example/joe": "joe@d.example", "/vp/domains/d.example/0/ann": "ann@d.example"},
		newHome:   map[string]string{"joe@d.example": "/new/vmail/d.example/joe", "ann@d.example": "/new/vmail/d.example/ann"},
		oldRoot:   "/vp",
	}
}

func TestPlanDefault(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    string // Catchall.String()
		note    bool
		problem string
	}{
		{in: "| /vp/bin/vdelivermail '' bounce-no-mailbox\n", want: "bounce"},
		{in: "|/vp/bin/vdelivermail '' delete\n", want: "reject", note: true},
		{in: "| /vp/bin/vdelivermail '' /vp/domains/d.example/joe\n", want: "mailbox:joe"},
		{in: "| /vp/bin/vdelivermail '' /vp/domains/d.example/0/ann/Maildir/\n", want: "mailbox:ann"},
		{in: "| /vp/bin/vdelivermail '' /vp/domains/d.example/nobody\n", problem: "no imported user's mailbox"},
		{in: "| /vp/bin/vdelivermail '' someone@else.example\n", want: "forward:someone@else.example"},
		{in: "| /vp/bin/vdelivermail '' &someone@else.example\n", want: "forward:someone@else.example"},
		{in: "| /vp/bin/vdelivermail '' postmaster\n", problem: "not understood"},
		{in: "| /vp/bin/vdelivermail bounce-no-mailbox\n", problem: "not vpopmail's single vdelivermail line"},
		{in: "| /usr/bin/spamc | /vp/bin/vdelivermail '' bounce-no-mailbox\n", problem: "not vpopmail's single vdelivermail line"},
		{in: "| /vp/bin/vdelivermail '' bounce-no-mailbox\n&copy@example.com\n", problem: "not vpopmail's single vdelivermail line"},
		{in: "\n| /vp/bin/vdelivermail '' bounce-no-mailbox\n", problem: "blank"},
	} {
		got, note, problem := planDefault("d.example", []byte(c.in), testIndex())
		if c.problem != "" {
			if !strings.Contains(problem, c.problem) {
				t.Errorf("planDefault(%q) problem %q, want %q", c.in, problem, c.problem)
			}
			continue
		}
		if problem != "" || got.String() != c.want || (note != "") != c.note {
			t.Errorf("planDefault(%q) = %s, %q, %q; want %s (note %v)", c.in, got, note, problem, c.want, c.note)
		}
	}
	// A catch-all naming another domain's user forwards there.
	ix := testIndex()
	got, _, problem := planDefault("other.example", []byte("| /vp/bin/vdelivermail '' /vp/domains/d.example/joe\n"), ix)
	if problem != "" || got != (vdir.Catchall{Kind: vdir.CatchForward, Target: "joe@d.example"}) {
		t.Errorf("cross-domain catch-all = %v, %q", got, problem)
	}
}

func TestPlanDotQmail(t *testing.T) {
	for _, c := range []struct {
		name, ext, in string
		isUser        bool
		alias         []string
		instr         string
		skip, problem bool
		notes         int
	}{
		{name: "forwards", ext: "sales", in: "&joe@d.example\nann@d.example\n", alias: []string{"joe@d.example", "ann@d.example"}, instr: "&joe@d.example\n&ann@d.example\n"},
		{name: "bare local", ext: "team", in: "&joe\n", alias: []string{"joe@d.example"}, instr: "&joe\n"},
		{name: "user maildir", ext: "archive", in: "&x@remote.example\n/vp/domains/d.example/0/ann/Maildir/\n", alias: []string{"x@remote.example", "ann@d.example"},
			instr: "&x@remote.example\n/new/vmail/d.example/ann/Maildir/\n"},
		{name: "dots in local", ext: "first:last", in: "&joe@d.example\n", alias: []string{"joe@d.example"}, instr: "&joe@d.example\n"},
		{name: "comments", ext: "c", in: "# forward\n&joe@d.example\n", alias: []string{"joe@d.example"}, instr: "&joe@d.example\n"},
		{name: "program", ext: "prog", in: "|/usr/bin/procmail\n", instr: "|/usr/bin/procmail\n"},
		{name: "other maildir", ext: "box", in: "/srv/mail/box/\n", instr: "/srv/mail/box/\n"},
		{name: "subfolder", ext: "spam", in: "/vp/domains/d.example/joe/Maildir/.Spam/\n", instr: "/new/vmail/d.example/joe/Maildir/.Spam/\n"},
		{name: "mbox", ext: "mbox", in: "/var/mail/x\n", instr: "/var/mail/x\n"},
		{name: "old tree", ext: "list", in: "|ezmlm-send '/vp/domains/d.example/list'\n", instr: "|ezmlm-send '/vp/domains/d.example/list'\n", notes: 1},
		{name: "wildcard", ext: "list-default", in: "&joe@d.example\n", instr: "&joe@d.example\n"},
		{name: "bad local", ext: "a=b", in: "&joe@d.example\n", instr: "&joe@d.example\n"},
		{name: "user own box", ext: "joe", in: "/vp/domains/d.example/joe/Maildir/\n", isUser: true, skip: true},
		{name: "user forward", ext: "joe", in: "&x@remote.example\n/vp/domains/d.example/joe/Maildir/\n", isUser: true,
			instr: "&x@remote.example\n/new/vmail/d.example/joe/Maildir/\n"},
		{name: "user forward only", ext: "ann", in: "&x@remote.example\n", isUser: true, instr: "&x@remote.example\n"},
		{name: "empty", ext: "e", in: "", problem: true},
		{name: "blank first line", ext: "b", in: "\n&joe@d.example\n", problem: true},
	} {
		p := planDotQmail(c.ext, "d.example", []byte(c.in), c.isUser, testIndex())
		switch {
		case c.problem:
			if p.problem == "" {
				t.Errorf("%s: no problem: %+v", c.name, p)
			}
		case c.skip:
			if p.skip == "" {
				t.Errorf("%s: not skipped: %+v", c.name, p)
			}
		case c.alias != nil:
			// The instruction file is the fallback for an alias the
			// directory refuses.
			if !slices.Equal(p.alias, c.alias) || string(p.instr) != c.instr {
				t.Errorf("%s: alias %q instr %q, want alias %q instr %q", c.name, p.alias, p.instr, c.alias, c.instr)
			}
		default:
			if string(p.instr) != c.instr || p.alias != nil || len(p.notes) != c.notes {
				t.Errorf("%s: instr %q alias %q notes %q, want instr %q, %d notes", c.name, p.instr, p.alias, p.notes, c.instr, c.notes)
			}
		}
	}
}

func TestPlanUserDotQmail(t *testing.T) {
	home := "/vp/domains/d.example/joe"
	for _, c := range []struct {
		in, instr string
		skip      bool
	}{
		{in: "&x@remote.example\n", instr: "&x@remote.example\n"},
		// qmailadmin's "forward and keep a copy"; vdelivermail delivered
		// to a path without '/' as a Maildir too.
		{in: "&x@remote.example\n/vp/domains/d.example/joe/Maildir\n", instr: "&x@remote.example\n/new/vmail/d.example/joe/Maildir/\n"},
		{in: "./Maildir/\n", skip: true},
		{in: "/vp/domains/d.example/joe/Maildir/\n", skip: true},
		{in: "| /usr/bin/autorespond 86400 3 /vp/domains/d.example/joe/vacation/message /vp/domains/d.example/joe/vacation\n./Maildir/\n",
			instr: "| /usr/bin/autorespond 86400 3 /vp/domains/d.example/joe/vacation/message /vp/domains/d.example/joe/vacation\n/new/vmail/d.example/joe/Maildir/\n"},
	} {
		p := planUserDotQmail("joe@d.example", home, []byte(c.in), testIndex())
		if c.skip {
			if p.skip == "" {
				t.Errorf("%q: not skipped: %+v", c.in, p)
			}
			continue
		}
		if string(p.instr) != c.instr {
			t.Errorf("%q: instr %q, want %q", c.in, p.instr, c.instr)
		}
	}
}

func TestChoosePassword(t *testing.T) {
	for _, c := range []struct {
		name string
		e    VpasswdEntry
		hash string // scheme of a kept hash
		// clear: a new hash from this clear-text password
		clear string
		lost  string
	}{
		{name: "md5", e: VpasswdEntry{Crypted: md5Hash}, hash: "MD5-CRYPT"},
		{name: "sha256", e: VpasswdEntry{Crypted: sha256Hash}, hash: "SHA256-CRYPT"},
		{name: "sha512 with clear", e: VpasswdEntry{Crypted: sha512Hash, Clear: "other", HasClear: true}, hash: "SHA512-CRYPT"},
		{name: "des with clear", e: VpasswdEntry{Crypted: desHash, Clear: "des-pass", HasClear: true}, clear: "des-pass"},
		{name: "des", e: VpasswdEntry{Crypted: desHash}, lost: "DES crypt"},
		{name: "des, empty clear", e: VpasswdEntry{Crypted: desHash, HasClear: true}, lost: "DES crypt"},
		{name: "des, long clear", e: VpasswdEntry{Crypted: desHash, Clear: strings.Repeat("x", 73), HasClear: true}, lost: "longer than 72"},
		{name: "empty", e: VpasswdEntry{}, lost: "empty password field"},
		{name: "locked", e: VpasswdEntry{Crypted: "!" + md5Hash}, lost: "unknown hash format"},
		{name: "broken md5", e: VpasswdEntry{Crypted: "$1$salt"}, lost: "$1$"},
		{name: "nt hash", e: VpasswdEntry{Crypted: "$3$$8846f7eaee8fb117ad06bdd830b7586c"}, lost: "not verifiable: $3$"},
	} {
		p := choosePassword(c.e)
		switch {
		case c.hash != "":
			if !strings.HasPrefix(p.hash, "{"+c.hash+"}$") || p.lost != "" || p.what != c.hash {
				t.Errorf("%s: %+v, want hash %s", c.name, p, c.hash)
			}
		case c.clear != "":
			if p.clear != c.clear || p.hash != "" || p.lost != "" {
				t.Errorf("%s: %+v, want clear %q", c.name, p, c.clear)
			}
		default:
			if p.hash != "" || p.clear != "" || !strings.Contains(p.lost, c.lost) {
				t.Errorf("%s: %+v, want lost %q", c.name, p, c.lost)
			}
		}
	}
}

func TestParseAssignDomains(t *testing.T) {
	in := "=joe:joe:1000:1000:/home/joe:::\n" +
		"+joe-:joe:1000:1000:/home/joe:-::\n" + // a user's extensions, no dot
		"+Virt.Example-:virt.example:89:89:/vp/domains/virt.example:-::\n" +
		"+alias.example-:virt.example:89:89:/vp/domains/virt.example/:-::\n" +
		"+nodash.example:x:89:89:/vp/x:-::\n" +
		"+rel.example-:rel.example:89:89:vp/rel:-::\n" +
		".\n"
	got := parseAssignDomains([]byte(in))
	want := []assignDomain{
		{"virt.example", "virt.example", "/vp/domains/virt.example"},
		{"alias.example", "virt.example", "/vp/domains/virt.example"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("parseAssignDomains = %+v, want %+v", got, want)
	}
	served := map[string]bool{"virt.example": true}
	for line, want := range map[string]bool{
		"+virt.example-:virt.example:89:89:/elsewhere:-::":    true,
		"+new.example-:new.example:89:89:/vp/domains/new:-::": true, // in the old tree
		"+new.example-:new.example:89:89:/srv/new:-::":        false,
		"=joe:joe:1000:1000:/home/joe:::":                     false,
	} {
		if got := isVpopmailAssignLine(line, served, "/vp"); got != want {
			t.Errorf("isVpopmailAssignLine(%q) = %v, want %v", line, got, want)
		}
	}
}

func TestMergeAndDrop(t *testing.T) {
	got, n := mergeLines([]byte("a.example\nB.example"), []byte("b.example\nc.example\n\nc.example\n"))
	if string(got) != "a.example\nB.example\nc.example\n" || n != 1 {
		t.Errorf("mergeLines = %q, %d", got, n)
	}
	out, n := dropVirtualDomains([]byte("v.example:v.example\n.x.example:pre\nV2.example:v2.example\nu@v.example:x\n"), map[string]bool{"v.example": true, "v2.example": true})
	if string(out) != ".x.example:pre\nu@v.example:x\n" || n != 2 {
		t.Errorf("dropVirtualDomains = %q, %d", out, n)
	}
}
