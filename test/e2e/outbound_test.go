package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"goqmail/internal/route/dnstest"
)

// Mail that other servers trust (issue 14, docs/outbound.md), checked
// with independent tools: Debian's python3-dkim verifies the signatures
// against the key record the test DNS server serves, python3-spf checks
// the SRS sender, and goqmail's own dns records/check meet the same DNS.

const debianPython = "/usr/bin/python3" // Debian's, with python3-dkim, python3-spf, python3-dnspython

func requirePython(t *testing.T, modules ...string) {
	t.Helper()
	for _, m := range modules {
		if out, err := exec.Command(debianPython, "-c", "import "+m).CombinedOutput(); err != nil {
			t.Fatalf("python module %s missing (apt-get install python3-dkim python3-nacl python3-spf python3-dnspython): %v\n%s", m, err, out)
		}
	}
}

// goqmailCmd runs bin/goqmail with args on s's root and returns its
// output and exit code.
func adminCmd(t *testing.T, s *Server, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "goqmail"), append(args, "-root", s.Root)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("goqmail %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return string(out), code
}

// resolverPy points dnspython's default resolver at the test DNS server.
const resolverPy = `
import sys, dns.resolver
host, port = sys.argv[1].rsplit(":", 1)
r = dns.resolver.Resolver(configure=False)
r.nameservers = [host]
r.port = int(port)
dns.resolver.default_resolver = r
`

// dkimVerifyPy verifies the message in argv[2] with python3-dkim, looking
// keys up in the test DNS server; exit 0 when the signature verifies.
const dkimVerifyPy = resolverPy + `
import dkim
def txt(name, timeout=5):
    try:
        a = dns.resolver.resolve(name.decode().rstrip("."), "TXT")
    except Exception:
        return None
    return b"".join(a[0].strings)
msg = open(sys.argv[2], "rb").read()
ok = dkim.verify(msg, dnsfunc=txt)
print("dkim verify:", ok)
sys.exit(0 if ok else 1)
`

// spfCheckPy prints python3-spf's result for (ip, sender, helo).
const spfCheckPy = resolverPy + `
import spf
print(spf.check2(i=sys.argv[2], s=sys.argv[3], h=sys.argv[4])[0])
`

func python(t *testing.T, script string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(debianPython, append([]string{"-c", script}, args...)...)
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("python: %v", err)
		}
		code = ee.ExitCode()
	}
	return string(out), code
}

// stripSinkHeaders drops the X- lines smtp-sink puts before the message
// (its own record of the session), leaving what goqmail sent.
func stripSinkHeaders(dump string) string {
	lines := strings.SplitAfter(dump, "\n")
	i := 0
	for i < len(lines) && regexp.MustCompile(`^X-(Client-Addr|Client-Proto|Helo-Args|Mail-Args|Rcpt-Args):`).MatchString(lines[i]) {
		i++
	}
	return strings.Join(lines[i:], "")
}

var mailArgs = regexp.MustCompile(`(?m)^X-Mail-Args: (?:FROM:)?<([^>]*)>`)

// Mail goqmail sends for its own domain verifies with python3-dkim against
// the record `goqmail dkim show` prints, served by the test DNS server;
// the same message with its body or a signed header changed does not.
// Both algorithms; sendmail submissions and bounces are signed, mail from
// a stranger over SMTP is not.
func TestDKIMSignaturesVerify(t *testing.T) {
	requirePython(t, "dkim", "nacl", "dns.resolver")
	for _, alg := range []string{"rsa", "ed25519"} {
		t.Run(alg, func(t *testing.T) {
			port := freePortOn(t, "127.0.0.1")
			dump := startSink(t, fmt.Sprintf("127.0.0.1:%d", port))
			s := NewServer(t, Options{NoStart: true, Control: map[string]string{
				"smtproutes": fmt.Sprintf("far.example:127.0.0.1:%d\n", port)}})
			if out, code := adminCmd(t, s, nil, "dkim", "keygen", "example.test", "--selector", "sel"+alg, "--algorithm", alg); code != 0 {
				t.Fatalf("keygen exit %d:\n%s", code, out)
			}
			rec, code := adminCmd(t, s, nil, "dkim", "show", "example.test")
			if code != 0 || !strings.Contains(rec, "k="+alg) {
				t.Fatalf("dkim show exit %d:\n%s", code, rec)
			}
			dns := dnstest.Start(t, rec)
			s.Start()

			sendmailAs(t, s, "demo@example.test", []string{"x@far.example"},
				"From: Demo <demo@example.test>\nTo: x@far.example\nSubject: signed by goqmail\n\nhello  there\nsecond line\n")
			// A stranger's mail over SMTP claiming our domain is not signed.
			if r := swaks(t, s, "--from", "demo@example.test", "--to", "demo@example.test", "--header", "From: demo@example.test"); r.Code != 0 {
				t.Fatalf("swaks: %s", r.Out)
			}
			msgs := waitDumps(t, dump, 1)
			signed := stripSinkHeaders(msgs[0])
			// On top of what goqmail sent (smtp-sink adds its own Received).
			if i, j := strings.Index(signed, "\nDKIM-Signature: "), strings.Index(signed, "\nReceived: (goqmail"); i < 0 || j < i ||
				!strings.Contains(signed, "a="+alg+"-sha256") {
				t.Fatalf("the message does not start with a DKIM-Signature of %s:\n%s", alg, signed)
			}
			file := filepath.Join(t.TempDir(), "msg")
			check := func(what, msg string, want int) {
				t.Helper()
				os.WriteFile(file, []byte(msg), 0o644)
				if out, code := python(t, dkimVerifyPy, dns.Addr, file); code != want {
					t.Errorf("%s: dkim verify exit %d, want %d:\n%s\n%s", what, code, want, out, msg)
				}
			}
			check("as received", signed, 0)
			check("body changed", strings.Replace(signed, "hello  there", "hello there!", 1), 1)
			check("subject changed", strings.Replace(signed, "Subject: signed by goqmail", "Subject: signed by someone", 1), 1)

			local := readAll(t, s.WaitMaildir(1, deliverTimeout))[0]
			if strings.Contains(local, "DKIM-Signature:") {
				t.Errorf("a stranger's SMTP mail was signed:\n%s", local)
			}
			s.WaitLog(`dkimsign: msg [0-9a-f]+: signed d=example.test s=sel`+alg, 1, deliverTimeout)
		})
	}
}

// SRS: a forward through a .qmail file leaves with an SRS sender in
// goqmail's domain, which passes python3-spf's check of that domain where
// the original sender fails; a bounce to it reaches the original sender;
// a forged or altered SRS address is refused at RCPT.
func TestSRSForwardAndBounce(t *testing.T) {
	requirePython(t, "spf", "dns.resolver")
	port := freePortOn(t, "127.0.0.1")
	dump := startSink(t, fmt.Sprintf("127.0.0.1:%d", port))
	dns := dnstest.Start(t, `
example.test. 300 IN TXT "v=spf1 ip4:127.0.0.1 -all"
orig.example. 300 IN TXT "v=spf1 ip4:192.0.2.1 -all"
`)
	s := NewServer(t, Options{NoStart: true, Control: map[string]string{
		"srsdomain":  "example.test\n",
		"smtproutes": fmt.Sprintf("far.example:127.0.0.1:%d\norig.example:127.0.0.1:%d\n", port, port)}})
	if out, code := adminCmd(t, s, nil, "srs", "rotate"); code != 0 {
		t.Fatalf("srs rotate exit %d:\n%s", code, out)
	}
	writeUserFile(t, s, demoHome(s), ".qmail-fwd", "&x@far.example\n")
	s.Start()

	if r := swaks(t, s, "--from", "ann@orig.example", "--to", "demo-fwd@example.test", "--header", "Subject: to be forwarded"); r.Code != 0 {
		t.Fatalf("swaks: %s", r.Out)
	}
	fwd := waitDumps(t, dump, 1)[0]
	m := mailArgs.FindStringSubmatch(fwd)
	if m == nil || !strings.HasPrefix(m[1], "SRS0=") || !strings.HasSuffix(m[1], "=orig.example=ann@example.test") {
		t.Fatalf("the forward's envelope sender is not an SRS address of example.test:\n%s", fwd)
	}
	srsAddr := m[1]
	if out, _ := python(t, spfCheckPy, dns.Addr, "127.0.0.1", srsAddr, "mail.example.test"); strings.TrimSpace(out) != "pass" {
		t.Errorf("SPF of %s from 127.0.0.1: %s, want pass", srsAddr, out)
	}
	if out, _ := python(t, spfCheckPy, dns.Addr, "127.0.0.1", "ann@orig.example", "mail.example.test"); strings.TrimSpace(out) != "fail" {
		t.Errorf("SPF of the original sender from 127.0.0.1: %s, want fail (the reason for SRS)", out)
	}

	// The next hop bounces: the bounce goes to the original sender.
	if r := swaks(t, s, "--from", "", "--to", srsAddr, "--header", "Subject: bounce of the forward"); r.Code != 0 {
		t.Fatalf("bounce to %s refused:\n%s", srsAddr, r.Out)
	}
	waitFor(t, deliverTimeout, "the bounce at the sink", func() bool { return len(listFiles(t, dump)) >= 2 })
	var bounce string
	for _, d := range waitDumps(t, dump, 2) {
		if strings.Contains(d, "Subject: bounce of the forward") {
			bounce = d
		}
	}
	if !regexp.MustCompile(`(?m)^X-Rcpt-Args: (?:TO:)?<ann@orig\.example>`).MatchString(bounce) {
		t.Errorf("the bounce did not go to ann@orig.example:\n%s", bounce)
	}

	// Forged: another user behind a valid-looking hash, a made-up hash.
	for _, forged := range []string{strings.Replace(srsAddr, "=ann@", "=bob@", 1), "SRS0=AAAA=AA=orig.example=ann@example.test"} {
		r := swaks(t, s, "--from", "", "--to", forged, "--quit-after", "RCPT")
		if !strings.Contains(r.Out, "550 5.1.1 invalid SRS address") {
			t.Errorf("forged %s not refused at RCPT:\n%s", forged, r.Out)
		}
	}
}

// `goqmail dns records` loaded into the test DNS server makes `goqmail
// dns check` say all is well; without any one of the records, the check
// fails and names that record.
func TestDNSRecordsAndCheck(t *testing.T) {
	s := NewServer(t, Options{NoStart: true, Control: map[string]string{"submissionlisten": "127.0.0.1:2587\n"}})
	if out, code := adminCmd(t, s, nil, "dkim", "keygen", "example.test"); code != 0 {
		t.Fatalf("keygen exit %d:\n%s", code, out)
	}
	zone, code := adminCmd(t, s, nil, "dns", "records", "example.test", "--ip", "127.0.0.1,::1")
	if code != 0 {
		t.Fatalf("dns records exit %d:\n%s", code, zone)
	}
	var recs []string
	for _, l := range strings.Split(zone, "\n") {
		if l != "" && !strings.HasPrefix(l, ";") {
			recs = append(recs, l)
		}
	}
	for _, want := range []string{" IN MX ", " IN A 127.0.0.1", " IN AAAA ::1", "v=spf1", "._domainkey.example.test.", "_dmarc.example.test.",
		"_mta-sts.example.test.", "_smtp._tls.example.test.", "_submission._tcp.example.test.", "autoconfig.example.test.", "in-addr.arpa.", "ip6.arpa."} {
		if !strings.Contains(zone, want) {
			t.Errorf("dns records lacks %q:\n%s", want, zone)
		}
	}
	check := func(zone string) (string, int) {
		dns := dnstest.Start(t, zone)
		return adminCmd(t, s, []string{"GOQMAIL_DNS=" + dns.Addr}, "dns", "check", "example.test", "--ip", "127.0.0.1,::1")
	}
	if out, code := check(zone); code != 0 || !strings.Contains(out, "all is well") {
		t.Fatalf("check of the full zone: exit %d, want 0 and all is well:\n%s", code, out)
	}
	for i, gone := range recs {
		rest := append(append([]string(nil), recs[:i]...), recs[i+1:]...)
		out, code := check(strings.Join(rest, "\n"))
		if code != 1 || !strings.Contains(out, "publish: "+gone) {
			t.Errorf("without %q: exit %d, want 1 and the record named:\n%s", gone, code, out)
		}
	}
	// A wrong record is named as wrong, not missing.
	wrong := strings.Replace(zone, "v=spf1 mx -all", "v=spf1 ip4:192.0.2.9 -all", 1)
	if out, code := check(wrong); code != 1 || !strings.Contains(out, "PROBLEM SPF: wrong:") {
		t.Errorf("wrong SPF: exit %d:\n%s", code, out)
	}
}
