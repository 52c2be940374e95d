package ctlcheck

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"goqmail/internal/accounts"
)

// good is a valid configuration, as `goqmail init` makes it.
var good = map[string]string{
	"control/me":         "mail.example.test\n",
	"control/locals":     "example.test\nmail.example.test\n",
	"control/rcpthosts":  "example.test\nmail.example.test\n",
	"control/smtplisten": "127.0.0.1:2525\n",
	"control/tcp.smtp":   "# rules\n127.:allow,RELAYCLIENT=\"\"\n",
	"users/assign":       "=demo:demo:1000:1000:/home/demo:::\n.\n",
}

// setup writes good plus files (content "" deletes a file of good;
// "CERT" writes a certificate; "DIR" makes a directory there).
func setup(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"control", "users"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	all := map[string]string{}
	for k, v := range good {
		all[k] = v
	}
	for k, v := range files {
		all[k] = v
	}
	for name, content := range all {
		path := filepath.Join(root, name)
		var err error
		switch content {
		case "":
			continue
		case "CERT":
			err = os.WriteFile(path, selfSigned(t), 0o640)
		case "DIR":
			err = os.Mkdir(path, 0o755)
		default:
			err = os.WriteFile(path, []byte(strings.ReplaceAll(content, "ROOT", root)), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestGoodConfiguration(t *testing.T) {
	root := setup(t, map[string]string{"control/servercert.pem": "CERT", "control/submissionlisten": "127.0.0.1:587\n",
		"control/smtproutes": "# smarthost\n:relay.example.test:2525 user pass word\n", "control/defaultdelivery": "./Maildir/\n|/usr/bin/true\n"})
	res := Check(root, Options{})
	if len(res.Problems) != 0 || len(res.Warnings) != 0 {
		t.Fatalf("problems %q, warnings %q", res.Problems, res.Warnings)
	}
}

// TestProblems is the golden table: each bad configuration and the
// problems it must produce, each naming file, line, what and fix. None of
// these was refused before (most loaded with a warning or in silence).
func TestProblems(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []string // prefixes of the problems, in order
	}{
		{"databytes 10M", map[string]string{"control/databytes": "10M\n"}, []string{
			`control/databytes line 1: "10M" is not a number of bytes; write a whole number such as 10485760 (0 = no limit)`}},
		{"garbage in rcpthosts", map[string]string{"control/rcpthosts": "example.test\n\n# ok\nexample test\n<html>\n"}, []string{
			`control/rcpthosts line 4: "example test" is not a domain name: it holds " "; write a domain such as example.org`,
			`control/rcpthosts line 5: "<html>" is not a domain name: it holds "<"`}},
		{"garbage in virtualdomains", map[string]string{"control/virtualdomains": "# v\nvirt.test:joe\nvirt.test joe\n"}, []string{
			`control/virtualdomains line 3: "virt.test joe" has no ':'; write domain:prepend`}},
		{"tcp.smtp syntax, every line", map[string]string{"control/tcp.smtp": "127.:allow\n10.0.0.1 allow\n192.168.:allow,DATABYTES=\"10M\"\n"}, []string{
			`control/tcp.smtp line 2: missing ':' between address and instructions in "10.0.0.1 allow"; write ADDRESS:allow`,
			`control/tcp.smtp line 3: DATABYTES="10M" is not a number of bytes`}},
		{"smtproutes, with the file's line numbers", map[string]string{"control/smtproutes": "# routes\n\nexample.test:relay.test\nnocolon\nexample.test:other.test\n"}, []string{
			`control/smtproutes line 4: no ':' in "nocolon"; write domain:relay[:port]`,
			`control/smtproutes line 5: "example.test" repeats line 3, which wins`}},
		{"invalid certificate", map[string]string{"control/servercert.pem": "-----BEGIN JUNK-----\n"}, []string{
			`control/servercert.pem: cannot be used: tls certificate `}},
		{"unreadable certificate", map[string]string{"control/servercert.pem": "DIR"}, []string{
			`control/servercert.pem: cannot be used: `}},
		{"TLS listeners without a certificate", map[string]string{"control/smtpslisten": "127.0.0.1:465\n", "control/pop3slisten": "127.0.0.1:995\n", "control/submissionlisten": "127.0.0.1:587\n"}, []string{
			`control/smtpslisten: lists addresses, but control/servercert.pem does not exist`,
			`control/pop3slisten: lists addresses, but control/servercert.pem does not exist`,
			`control/submissionlisten: lists addresses, but control/servercert.pem does not exist: submission needs AUTH`}},
		// The web speaks HTTPS only (docs/web.md).
		{"web without a certificate, a bad webadmins line", map[string]string{"control/weblisten": "127.0.0.1:2443\n", "control/webadmins": "bob@example.com\nbad login\n"}, []string{
			`control/webadmins line 2: "bad login" is not a login`,
			`control/weblisten: lists addresses, but control/servercert.pem does not exist`}},
		{"web on the SMTP port", map[string]string{"control/smtplisten": ":2525\n", "control/weblisten": "127.0.0.1:2525\n", "control/servercert.pem": "CERT"}, []string{
			`control/weblisten: "127.0.0.1:2525" overlaps ":2525" in control/smtplisten`}},
		{"one port twice", map[string]string{"control/smtplisten": ":2525\n", "control/submissionlisten": "127.0.0.1:2525\n", "control/servercert.pem": "CERT"}, []string{
			`control/submissionlisten: "127.0.0.1:2525" overlaps ":2525" in control/smtplisten`}},
		// A refusal the check cannot give would silently refuse nothing.
		{"spfreject without spfcheck, dmarcreject alone", map[string]string{"control/spfreject": "*\n", "control/dmarcreject": "1\n"}, []string{
			`control/spfreject: lists domains, but control/spfcheck is not 1: nothing would be refused; write 1 into control/spfcheck`,
			`control/dmarcreject: is 1, but control/dmarccheck is not`}},
		{"filter hooks", map[string]string{"control/milters": "inet:127.0.0.1:11332\nrspamd:11332\n", "control/smtpplugins": "[rcpt]\nplugins/missing\n",
			"control/qmailqueue": "/nonexistent/simscan\n", "control/tcp.smtp": "127.:allow,QMAILQUEUE=\"bin/scanner\"\n10.:allow,SPPCONFFILE=\"control/spp.10\"\n"}, []string{
			`control/milters line 2: "rspamd:11332": "rspamd" is not inet or unix; write inet:HOST:PORT or unix:/PATH`,
			`control/smtpplugins line 2: ROOT/plugins/missing is not an executable file; write a section line`,
			`control/qmailqueue line 1: stat /nonexistent/simscan: no such file or directory; install the filter program`,
			`control/tcp.smtp line 1: QMAILQUEUE: "bin/scanner" is not an absolute path; write QMAILQUEUE=`,
			`control/spp.10: open ROOT/control/spp.10: no such file or directory; create the file or remove SPPCONFFILE`}},
		{"defaultdelivery without ./", map[string]string{"control/defaultdelivery": "# default\nMaildir/\n"}, []string{
			`control/defaultdelivery line 2: "Maildir/" would forward mail to the address "Maildir/"; start a Maildir or mbox path with ./`}},
		{"users/assign", map[string]string{"users/assign": "=a:u:1:1:/h:::\nbroken\n=b:u:1:1:relative:::\n.\n"}, []string{
			`users/assign line 2: `, `users/assign line 3: `}},
		{"aliases file", map[string]string{"control/aliases": "ROOT/aliases\n", "aliases": "postmaster: root\nbad line without colon\n"}, []string{
			`ROOT/aliases line 2: `}},
		{"aliases file missing", map[string]string{"control/aliases": "/nonexistent/aliases\n"}, []string{
			`control/aliases line 1: /nonexistent/aliases cannot be used: `}},
		{"checkpassword not executable", map[string]string{"control/checkpassword": "ROOT/control/me\n"}, []string{
			`control/checkpassword line 1: ROOT/control/me is not an executable file`}},
		// goqmail-log could not start, and every program would wait
		// behind its full pipe: refuse the start instead.
		{"log files without log/", map[string]string{"control/logdest": "files\n"}, []string{
			`control/logdest: is files, but ROOT/log is not a directory (stat ROOT/log: no such file or directory); run goqmail install`}},
		{"log files in a file", map[string]string{"control/logdest": "files\n", "log": "x\n"}, []string{
			`control/logdest: is files, but ROOT/log is not a directory (not a directory)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := setup(t, tc.files)
			res := Check(root, Options{})
			var got []string
			for _, p := range res.Problems {
				got = append(got, p.String())
			}
			if len(got) != len(tc.want) {
				t.Fatalf("%d problems, want %d:\n%s", len(got), len(tc.want), strings.Join(got, "\n"))
			}
			for i, w := range tc.want {
				w = strings.ReplaceAll(w, "ROOT", root)
				if !strings.HasPrefix(got[i], w) {
					t.Errorf("problem %d:\n got %s\nwant %s...", i+1, got[i], w)
				}
			}
		})
	}
}

// TestWarnings: what stays a warning (and so does not stop goqmaild).
func TestWarnings(t *testing.T) {
	root := setup(t, map[string]string{
		"control/tcp.smtp":         "=host.example:allow\n127.:allow\n127.0.0.1:deny\n127.:deny\n",
		"control/submissionlisten": "127.0.0.1:587\n", "control/authplaintext": "1\n",
		"control/concurrencyremote": "5000\n",
	})
	res := Check(root, Options{})
	if len(res.Problems) != 0 {
		t.Fatalf("problems: %q", res.Problems)
	}
	all := strings.Join(res.Warnings, "\n")
	for _, w := range []string{"control/concurrencyremote line 1: 5000 is above goqmail's cap of 1000",
		"control/tcp.smtp line 1: ", "control/tcp.smtp line 4: every address of",
		"control/submissionlisten: no control/servercert.pem: submission passwords travel in clear text"} {
		if !strings.Contains(all, w) {
			t.Errorf("warnings lack %q:\n%s", w, all)
		}
	}
}

// TestReadableByAccounts: as root, a file the program's account cannot
// read is a problem, though root (who runs the check) can read it.
func TestReadableByAccounts(t *testing.T) {
	root := setup(t, map[string]string{"control/servercert.pem": "CERT", "control/smtproutes": ":relay.test\n"})
	os.Chmod(filepath.Join(root, "control", "servercert.pem"), 0o600)
	os.Chmod(filepath.Join(root, "control", "rcpthosts"), 0o640)
	me := os.Getuid()
	if me == 54321 {
		t.Skip("the test's fake account has our uid")
	}
	res := Check(root, Options{Accounts: map[string]accounts.IDs{"smtpd": {UID: 54321, GID: 54321}, "remote": {UID: 54322, GID: 54322}}})
	var got []string
	for _, p := range res.Problems {
		got = append(got, p.String())
	}
	want := []string{
		"control/rcpthosts: cannot be read by goqmaild (uid 54321, gid 54321), the account smtpd runs as",
		"control/servercert.pem: cannot be read by goqmaild (uid 54321, gid 54321), the account smtpd runs as",
	}
	if len(got) != len(want) {
		t.Fatalf("problems:\n%s", strings.Join(got, "\n"))
	}
	for i, w := range want {
		if !strings.HasPrefix(got[i], w) {
			t.Errorf("got %s\nwant %s...", got[i], w)
		}
	}
	// goqmail-log must be able to write log/.
	os.Mkdir(filepath.Join(root, "log"), 0o750)
	os.WriteFile(filepath.Join(root, "control", "logdest"), []byte("files\n"), 0o644)
	res = Check(root, Options{Accounts: map[string]accounts.IDs{"log": {UID: 54323, GID: 54323}}})
	if len(res.Problems) != 1 || !strings.HasPrefix(res.Problems[0].String(), "control/logdest: is files, but "+filepath.Join(root, "log")+" cannot be written by goqmaill") {
		t.Errorf("log/ not writable by goqmaill: %q", res.Problems)
	}
	os.Remove(filepath.Join(root, "control", "logdest"))
	if !strings.Contains(got[1], "chown root:goqmailnf") {
		t.Errorf("certificate fix should keep the key private: %s", got[1])
	}
	// Group-readable by the account's group is enough.
	os.Chown(filepath.Join(root, "control", "servercert.pem"), 0, 54321)
	os.Chmod(filepath.Join(root, "control", "servercert.pem"), 0o640)
	os.Chown(filepath.Join(root, "control", "rcpthosts"), 0, 54321)
	if os.Getuid() == 0 {
		if res := Check(root, Options{Accounts: map[string]accounts.IDs{"smtpd": {UID: 54321, GID: 54321}}}); len(res.Problems) != 0 {
			t.Errorf("group-readable files refused: %q", res.Problems)
		}
	}
}

// selfSigned is a key and a certificate in one PEM file.
func selfSigned(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mail.example.test"},
		DNSNames: []string{"mail.example.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	pem.Encode(&b, &pem.Block{Type: "PRIVATE KEY", Bytes: kder})
	pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	return b.Bytes()
}

// The outbound settings fail the check, naming the file and the fix: a
// DKIM key that dkimkeys names but that does not exist, SRS without
// secrets, an SRS domain outside rcpthosts.
func TestOutboundSettings(t *testing.T) {
	root := t.TempDir()
	ctl := filepath.Join(root, "control")
	os.MkdirAll(ctl, 0o755)
	for name, content := range map[string]string{"me": "mx.example.org\n", "rcpthosts": "example.org\n",
		"dkimkeys": "example.org:sel1\n", "srsdomain": "fwd.example\n"} {
		os.WriteFile(filepath.Join(ctl, name), []byte(content), 0o644)
	}
	res := Check(root, Options{})
	text := fmt.Sprint(res.Problems)
	for _, want := range []string{"control/dkimkeys line 1", "goqmail dkim keygen example.org --selector sel1",
		"control/srssecrets", "goqmail srs rotate", "fwd.example is not in rcpthosts"} {
		if !strings.Contains(text, want) {
			t.Errorf("problems lack %q:\n%s", want, text)
		}
	}
}
