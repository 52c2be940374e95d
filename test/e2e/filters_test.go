package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// smtpdUID is the uid smtpd and the programs it starts run as: the
// goqmaild account as root, the test's own uid otherwise.
func smtpdUID(t *testing.T) int {
	if asRoot {
		uid, _ := lookupIDs(t, "goqmaild")
		return uid
	}
	return os.Getuid()
}

// writeScript writes an executable script into ROOT, where smtpd's
// account can run it.
func writeScript(t *testing.T, s *Server, name, text string) string {
	t.Helper()
	path := filepath.Join(s.Root, name)
	if err := os.WriteFile(path, []byte(text), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// testFilter is a QMAILQUEUE filter from the test suite in the style of
// simscan and qmail-scanner: it reads the message, refuses one that
// carries a marker (notqmail's custom error on descriptor 6), tags the
// rest with a header line naming the uid it ran as, and hands them to
// goqmail's qmail-queue, whose exit code is its own.
const testFilter = `#!/bin/sh
tmp=$(mktemp) || exit 53
trap 'rm -f "$tmp"' EXIT
cat > "$tmp" || exit 54
if grep -q FILTER-REJECT-ME "$tmp"; then
	echo "Dthe test filter refuses this message (#5.7.1)" >&6
	exit 82
fi
{ echo "X-Test-Filter: scanned by uid $(id -u)"; cat "$tmp"; } | "$GOQMAIL_QMAILQUEUE"
exit $?
`

// TestQmailQueueFilter: a QMAILQUEUE filter script runs for each message
// as smtpd's own unprivileged account; the marked message is refused with
// the filter's text, the others are tagged and delivered through
// goqmail's qmail-queue (installed as ROOT/bin/qmail-queue by goqmail
// install; here the build's goqmail-qmail-queue), which reports the queue
// id back, so the reply and the log name it as without a filter.
func TestQmailQueueFilter(t *testing.T) {
	s := NewServer(t, Options{NoStart: true})
	prog := writeScript(t, s, "testfilter", testFilter)
	s.SetControl("qmailqueue", prog+"\n")
	s.Start()

	r := swaks(t, s, "--to", "demo@example.test", "--header", "Subject: marked", "--body", "FILTER-REJECT-ME")
	if !strings.Contains(r.Out, "<** 554 5.3.0 the test filter refuses this message (#5.7.1)") {
		t.Fatalf("the marked message was not refused with the filter's text:\n%s", r.Out)
	}
	r = swaks(t, s, "--to", "demo@example.test", "--header", "Subject: clean", "--body", "a clean message")
	if r.Code != 0 || !acceptedAfterData.MatchString(r.Out) {
		t.Fatalf("swaks exited %d, want 0 and a 250 naming the queue id:\n%s", r.Code, r.Out)
	}
	files := s.WaitMaildir(1, deliverTimeout)
	msg, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if want := "X-Test-Filter: scanned by uid " + strconv.Itoa(smtpdUID(t)) + "\nReceived: from unknown"; !strings.Contains(string(msg), want) {
		t.Errorf("the delivered message lacks %q above smtpd's Received line:\n%s", want, msg)
	}
	if strings.Contains(string(msg), "invoked by uid") || !strings.Contains(string(msg), "Subject: clean") {
		t.Errorf("the queue added a local submitter's trace line, or the message is not the one sent:\n%s", msg)
	}
	if got := s.WaitLog(`smtpd: \S+: accepted msg [0-9a-f]{16} from <a@example.org>`, 1, deliverTimeout); len(got) != 1 {
		t.Errorf("accepted lines %q", got)
	}
	if got := s.WaitLog(`smtpd: \S+: qmailqueue \S+testfilter: refused the message from <a@example.org>: the test filter refuses`, 1, deliverTimeout); len(got) != 1 {
		t.Errorf("refusal lines %q", got)
	}
}

// TestSMTPPlugin: a qmail-spp plugin from the test suite runs at RCPT as
// smtpd's account, with the session in its environment: it refuses one
// recipient with its own reply, and adds a header line to the message of
// the others.
func TestSMTPPlugin(t *testing.T) {
	s := NewServer(t, Options{NoStart: true})
	writeScript(t, s, "rcptplugin", `#!/bin/sh
case "$SMTPRCPTTO" in
blocked@*) echo "E550 5.7.1 $SMTPRCPTTO is blocked by the test plugin"; exit 0;;
esac
echo "HX-Test-Plugin: $SMTPMAILFROM to $SMTPRCPTTO from $TCPREMOTEIP by uid $(id -u)"
`)
	s.SetControl("smtpplugins", "[rcpt]\nrcptplugin\n")
	s.Start()

	r := swaks(t, s, "--to", "blocked@example.test")
	if !strings.Contains(r.Out, "<** 550 5.7.1 blocked@example.test is blocked by the test plugin") {
		t.Fatalf("the blocked recipient was not refused by the plugin:\n%s", r.Out)
	}
	files := sendDemo(t, s, "through the plugin")
	msg, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	want := regexp.MustCompile(`(?m)^X-Test-Plugin: a@example.org to demo@example.test from 127\.0\.0\.1 by uid ` + strconv.Itoa(smtpdUID(t)) + `$`)
	if !want.Match(msg) {
		t.Errorf("the delivered message lacks the plugin's header line:\n%s", msg)
	}
	if got := s.WaitLog(`smtpd: \S+: refused rcpt <blocked@example.test> from <a@example.org>: 550 blocked@example.test is blocked by the test plugin \(plugin rcptplugin\)`, 1, deliverTimeout); len(got) != 1 {
		t.Errorf("refusal lines %q", got)
	}
}
