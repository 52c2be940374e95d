package control

import (
	"errors"
	"strings"
	"testing"
)

// TestLoadRefusesBadValues is the golden table of bad control files: each
// is refused, and the message names the file, the line, what is wrong and
// the fix. Before validation every one of these loaded (a number kept its
// default or qmail's prefix, a list line was taken as it was).
func TestLoadRefusesBadValues(t *testing.T) {
	for _, tc := range []struct {
		file, content string
		want          []string // each problem, in order
	}{
		{"databytes", "10M\n", []string{
			`control/databytes line 1: "10M" is not a number of bytes; write a whole number such as 10485760 (0 = no limit)`}},
		{"databytes", "-1\n", []string{
			`control/databytes line 1: "-1" is not a number of bytes; write a whole number such as 10485760 (0 = no limit)`}},
		{"databytes", "\n", []string{
			`control/databytes line 1: is empty; write a whole number such as 10485760 (0 = no limit)`}},
		{"databytes", "99999999999999999999\n", []string{
			`control/databytes line 1: "99999999999999999999" is too large; write a whole number such as 10485760 (0 = no limit)`}},
		{"timeoutsmtpd", "0\n", []string{
			`control/timeoutsmtpd line 1: 0 is below the minimum of 1; write a whole number of at least 1 such as 1200`}},
		{"queuelifetime", "99999999999\n", []string{
			`control/queuelifetime line 1: 99999999999 seconds is more than 68 years; write a whole number such as 604800`}},
		{"smtpgreetdelay", "301\n", []string{
			`control/smtpgreetdelay line 1: 301 is above the maximum of 300; write a whole number from 0 to 300 such as 0`}},
		{"authplaintext", "yes\n", []string{
			`control/authplaintext line 1: "yes" is not 0 or 1; write 1 (on) or 0 (off)`}},
		{"dotforward", "2\n", []string{
			`control/dotforward line 1: 2 is above the maximum of 1; write 1 (on) or 0 (off)`}},
		{"rcpthosts", "example.org\n# fine\n\nexample .org\n.example.net\nexample.com.\n", []string{
			`control/rcpthosts line 4: "example .org" is not a domain name: it holds " "; write a domain such as example.org, or .example.org for all its subdomains`,
			`control/rcpthosts line 6: "example.com." ends with a dot and would never match; write a domain such as example.org, or .example.org for all its subdomains`}},
		{"locals", ".example.org\n", []string{
			`control/locals line 1: ".example.org" starts with a dot, which locals never matches; list each domain itself: locals matches exactly (use virtualdomains or rcpthosts for subdomains)`}},
		{"virtualdomains", "virt.example:joe\nvirt.example\nbad domain:x\nvirt.example:other\nu@:x\nok.example:jo e\n", []string{
			`control/virtualdomains line 2: "virt.example" has no ':'; write domain:prepend`,
			`control/virtualdomains line 3: "bad domain:x": "bad domain" is not a domain or .domain`,
			`control/virtualdomains line 4: "virt.example:other" repeats the key of line 1, and only the first line would be used; delete one of the two lines`,
			`control/virtualdomains line 5: "u@:x": "" is not a domain name`,
			`control/virtualdomains line 6: "ok.example:jo e": the prepend "jo e" holds " "`}},
		{"smtplisten", "127.0.0.1\n:0\nexample.org:smtp\n", []string{
			`control/smtplisten line 1: "127.0.0.1" is not host:port; write host:port such as 127.0.0.1:25, [::1]:25 or :25 (every address)`,
			`control/smtplisten line 2: ":0": the port "0" is not a number from 1 to 65535`,
			`control/smtplisten line 3: "example.org:smtp": the port "smtp" is not a number from 1 to 65535`}},
		{"smtplisten", "# none\n", []string{
			`control/smtplisten: lists no address; write host:port such as 127.0.0.1:25, or delete the file for the default :25`}},
		{"syncmode", "sync\n", []string{
			`control/syncmode line 1: "sync" is not a sync mode; write auto, journal, fsync or syncfs (docs/queue.md)`}},
		{"logdest", "file\n", []string{
			`control/logdest line 1: "file" is not a log destination; write auto, stderr, files, journal or syslog (docs/logs.md)`}},
		{"logsize", "1000\n", []string{
			`control/logsize line 1: 1000 is below the minimum of 4096; write a whole number from 4096 to 1073741824 such as 16777216`}},
		{"logkeep", "0\n", []string{
			`control/logkeep line 1: 0 is below the minimum of 1; write a whole number from 1 to 10000 such as 10`}},
		{"helohost", "mail_1.example.org!\n", []string{
			`control/helohost line 1: "mail_1.example.org!" is not a domain name: it holds "!"; write a domain name such as example.org`}},
		{"bouncefrom", "mailer daemon\n", []string{
			`control/bouncefrom line 1: "mailer daemon" is not the local part of an address: it holds " "`}},
		{"aliases", "etc/aliases\n", []string{
			`control/aliases line 1: "etc/aliases" is not an absolute path; write an absolute path such as /etc/aliases`}},
		{"smtpgreeting", "\n", []string{`control/smtpgreeting line 1: is empty`}},
		{"me", "\n", []string{`control/me: missing or empty; write this host's fully qualified domain name`}},
		{"me", "mail..example.org\n", []string{`control/me line 1: "mail..example.org" has an empty label`}},
		// The checks before a recipient is accepted (antispam.go).
		{"dnsbl", "zen.example\nbl.example*0\nbl2.example=127.0.0.x\nbl3.example:\nbad_zone!\nZEN.example*2\nbl4.example=::1\n", []string{
			`control/dnsbl line 2: "bl.example*0": the weight "0" is not a number from 1 to 100; write zone[=answer,...][*weight][:reply text]`,
			`control/dnsbl line 3: "bl2.example=127.0.0.x": the answer "127.0.0.x" is not an IPv4 address or prefix`,
			`control/dnsbl line 4: "bl3.example:": the reply text after ':' is empty`,
			`control/dnsbl line 5: "bad_zone!": the zone "bad_zone!" is not a domain name`,
			`control/dnsbl line 6: "ZEN.example*2" repeats the key of line 1`,
			`control/dnsbl line 7: "bl4.example=::1": the answer "" is not an IPv4 address or prefix (':' starts the reply text)`}},
		{"dnswl", "wl.example*2\nwl2.example:trusted\n", []string{
			`control/dnswl line 1: "wl.example*2": an allowlist line has no weight; write zone[=answer,...], such as list.dnswl.org=127.0.0.0/16`,
			`control/dnswl line 2: "wl2.example:trusted": an allowlist line has no reply text`}},
		{"badmailfrom", "spammer\n@\nx y@example.org\n", []string{
			`control/badmailfrom line 1: "spammer" has no '@' and would never match a sender or recipient; write an address user@domain, or @domain for every address at that domain`,
			`control/badmailfrom line 2: "@": "" is not a domain name`,
			`control/badmailfrom line 3: "x y@example.org": "x y" is not a local part`}},
		{"badrcptto", "nobody@\n", []string{`control/badrcptto line 1: "nobody@": "" is not a domain name`}},
		{"badhelo", "friend ly\n", []string{`control/badhelo line 1: "friend ly" is not a domain name`}},
		{"dnsservers", "dns.example\n127.0.0.1:99999\n", []string{
			`control/dnsservers line 1: "dns.example" is not an IP address (a name would need DNS to find DNS)`,
			`control/dnsservers line 2: "127.0.0.1:99999": the port "99999" is not a number from 1 to 65535`}},
		{"greylistallow", "192.0.2.0/33\nexample.org\n", []string{
			`control/greylistallow line 1: "192.0.2.0/33" is not an IP address or prefix`,
			`control/greylistallow line 2: "example.org" is not an IP address or prefix`}},
		{"requirerdns", "3\n", []string{`control/requirerdns line 1: 3 is above the maximum of 2; write a whole number from 0 to 2 such as 0 (0 = no reverse DNS check)`}},
		{"dnstimeout", "0\n", []string{`control/dnstimeout line 1: 0 is below the minimum of 1`}},
		{"ratewindow", "10\n", []string{`control/ratewindow line 1: 10 is below the minimum of 60`}},
		{"greylistdelay", "5m\n", []string{`control/greylistdelay line 1: "5m" is not a number of seconds`}},
	} {
		t.Run(tc.file+" "+strings.TrimSpace(tc.content), func(t *testing.T) {
			files := map[string]string{"me": "mail.example.org\n"}
			files[tc.file] = tc.content
			s, err := Load(writeControl(t, files))
			if err == nil {
				t.Fatalf("loaded: %s = %+v", tc.file, s.Get(settingNamed(t, tc.file)))
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not match ErrInvalid: %v", err)
			}
			lines := ErrorLines(err)
			if len(lines) != len(tc.want) {
				t.Fatalf("%d problems, want %d:\n%s", len(lines), len(tc.want), strings.Join(lines, "\n"))
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("problem %d:\n got %s\nwant %s...", i+1, lines[i], w)
				}
			}
		})
	}
}

// TestLoadReportsEveryFile: problems in several files are all reported,
// and the whole configuration is refused.
func TestLoadReportsEveryFile(t *testing.T) {
	_, err := Load(writeControl(t, map[string]string{"me": "mail.example.org\n",
		"databytes": "10M\n", "maxrcpt": "many\n", "rcpthosts": "a b\n"}))
	lines := ErrorLines(err)
	if len(lines) != 3 {
		t.Fatalf("want 3 problems, got %q", lines)
	}
	for i, f := range []string{"control/rcpthosts", "control/databytes", "control/maxrcpt"} {
		if !strings.HasPrefix(lines[i], f+" line 1: ") {
			t.Errorf("problem %d = %s, want one about %s", i+1, lines[i], f)
		}
	}
}

// TestLoadAcceptsGoodValues: the values the documentation shows load.
func TestLoadAcceptsGoodValues(t *testing.T) {
	s, err := Load(writeControl(t, map[string]string{
		"me":             "mail.example.org\n",
		"locals":         "example.org\n[192.0.2.1]\n",
		"rcpthosts":      "example.org\n.example.org\n[IPv6:2001:db8::1]\n",
		"virtualdomains": "virt.example:joe\n.sub.example:subs\nsales@virt.example:sales\n:catchall\nnotvirtual.example:\n",
		"smtplisten":     ":25\n127.0.0.1:2525\n[::1]:25\nlocalhost:587\n",
		"databytes":      "10485760\n",
		"syncmode":       "fsync\n",
		"doublebounceto": "\n",
		"aliases":        "/etc/aliases\n",
		"helohost":       "Mail-1.example_internal.org\n",
		"logdest":        "files\n",
		"logsize":        "4096\n",
		"logkeep":        "3\n",
		"dnsbl":          "zen.spamhaus.org=127.0.0.2,127.0.0.4/30*2:listed at Spamhaus\nbl.example\nbl2.example*3\n",
		"dnswl":          "list.dnswl.org=127.0.0.0/16\n",
		"badmailfrom":    "spammer@example.com\n@spam.example\n@[192.0.2.1]\n",
		"badhelo":        "localhost\n.dynamic.example\n[192.0.2.1]\n",
		"dnsservers":     "127.0.0.1\n[::1]:5353\n192.0.2.53:53\n",
		"greylistallow":  "192.0.2.0/24\n2001:db8::/32\n198.51.100.7\n",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if s.Number(DataBytes) != 10485760 || len(s.List(VirtualDomains)) != 5 || s.Line(DoubleBounceTo) != "" {
		t.Errorf("values: databytes %d, virtualdomains %v, doublebounceto %q", s.Number(DataBytes), s.List(VirtualDomains), s.Line(DoubleBounceTo))
	}
}

// TestUnreadableFileIsAnError: a control file that exists but cannot be
// read is not its default.
func TestUnreadableFileIsAnError(t *testing.T) {
	dir := writeControl(t, map[string]string{"me": "mail.example.org\n"})
	// A directory where a file should be cannot be read, even by root.
	if err := mkdir(dir, "rcpthosts"); err != nil {
		t.Fatal(err)
	}
	_, err := Load(dir)
	if lines := ErrorLines(err); len(lines) != 1 || !strings.HasPrefix(lines[0], "control/rcpthosts: cannot be read: is a directory; make it readable") {
		t.Fatalf("got %q", lines)
	}
}

// TestInspectKeepsDefaults: showctl sees the defaults in place of invalid
// values, and the problems.
func TestInspectKeepsDefaults(t *testing.T) {
	s, probs := Inspect(writeControl(t, map[string]string{"me": "mail.example.org\n", "databytes": "10M\n"}))
	if len(probs) != 1 || s == nil || s.Number(DataBytes) != 0 || s.Get(DataBytes).Source != "default" {
		t.Fatalf("problems %v, databytes %v", probs, s.Get(DataBytes))
	}
}

func settingNamed(t *testing.T, name string) *Setting {
	for _, st := range All {
		if st.Name == name {
			return st
		}
	}
	t.Fatalf("no setting %s", name)
	return nil
}
