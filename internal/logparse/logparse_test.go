package logparse

import (
	"bufio"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

const stamp = "2026-01-26T01:02:03.000004Z "

// Golden lines, as the programs write them (the Printf formats cited in
// kinds), and what the parser must make of them.
func TestParseGolden(t *testing.T) {
	for _, tc := range []struct {
		line string
		want Line
	}{
		{"smtpd: 127.0.0.1:42902: accepted msg 18ebb2eb4a47baed from <me@example.org> to 2 recipients, 238 bytes",
			Line{Kind: Accepted, Client: "127.0.0.1:42902", MsgID: "18ebb2eb4a47baed", Sender: "me@example.org", Count: [3]int{2}, Bytes: 238}},
		{"smtpd: [::1]:5: accepted msg 18ebb2eb4a47baed from <> to 1 recipients, 9 bytes",
			Line{Kind: Accepted, Client: "[::1]:5", MsgID: "18ebb2eb4a47baed", Count: [3]int{1}, Bytes: 9}},
		{"smtpd: 127.0.0.1:1: refused rcpt <a@elsewhere.example> from <x@y>: 553 sorry, that domain isn't in my list of allowed rcpthosts; relaying denied <z>",
			Line{Kind: RefusedRcpt, Client: "127.0.0.1:1", Rcpts: []string{"a@elsewhere.example"}, Sender: "x@y",
				Reason: "553 sorry, that domain isn't in my list of allowed rcpthosts; relaying denied <z>"}},
		{"smtpd: 127.0.0.2:5: refused rcpt <u@example.org> from <x@y> by dnsbl (dnsbl zen.example (1): 1 of dnsblthreshold 1): 554 5.7.1 your address [127.0.0.2] is listed at zen.example",
			Line{Kind: RefusedRcpt, Client: "127.0.0.2:5", Rcpts: []string{"u@example.org"}, Sender: "x@y", Reason: "dnsbl: 554 5.7.1"}},
		{"smtpd: 127.0.0.1:6: refused rcpt <u@example.org> from <> by greylist (greylisted: first attempt): 451 4.7.1 greylisted: please try again in 5 minutes",
			Line{Kind: RefusedRcpt, Client: "127.0.0.1:6", Rcpts: []string{"u@example.org"}, Reason: "greylist: 451 4.7.1"}},
		{"smtpd: 127.0.0.1:7: refused sender <x@y> by ratelimit (msgrateperip 2 per 1h0m0s): 450 4.7.1 too many messages from your address 127.0.0.1 (limit 2 per hour); try again in 30 minutes",
			Line{Kind: RefusedSender, Client: "127.0.0.1:7", Sender: "x@y", Reason: "ratelimit: 450 4.7.1"}},
		{"smtpd: 127.0.0.1:1: refused sender <x@y> for user ann: 553 5.7.1 not yours",
			Line{Kind: RefusedSender, Client: "127.0.0.1:1", Sender: "x@y", Reason: "553 5.7.1 not yours"}},
		{"smtpd: 127.0.0.1:7: dmarc fail from <a@bank.example> for header.from bank.example (policy quarantine): to Junk",
			Line{Kind: DMARC, Client: "127.0.0.1:7", Sender: "a@bank.example", Reason: "dmarc fail for bank.example (p=quarantine): to Junk"}},
		{"smtpd: 127.0.0.1:7: dmarc temperror from <> for header.from x.example (policy reject): deferred",
			Line{Kind: DMARC, Client: "127.0.0.1:7", Reason: "dmarc temperror for x.example (p=reject): deferred"}},
		{"smtpd: 127.0.0.2:40012: refused on smtp with 421 4.7.0: 20 sessions from 127.0.0.2 already (concurrencyperip 20)",
			Line{Kind: RefusedConn, Client: "127.0.0.2:40012", Reason: "connection refused: concurrencyperip"}},
		{"smtpd: 198.51.100.7:5612: refused on smtps (closed before TLS): 500 sessions, the budget of submission and smtps (concurrencysubmission 500) is used up",
			Line{Kind: RefusedConn, Client: "198.51.100.7:5612", Reason: "connection refused: concurrencysubmission"}},
		{"pop3d: 127.0.0.2:41000: refused: 301 connections from this address this minute (connectrateperip 300); 12 more refused since the last report",
			Line{Kind: RefusedConn, Client: "127.0.0.2:41000", Reason: "connection refused: connectrateperip"}},
		{"smtpd: session 127.0.0.1:1: helo \"a b\": 3 accepted, 2 refused, client disconnected (1.2s)",
			Line{Kind: Session, Client: "127.0.0.1:1", Count: [3]int{3, 2}, Reason: "client disconnected"}},
		{"smtpd: 127.0.0.1:1: accepted msg 4242 from <me@example.org> to 1 recipients, 9 bytes",
			Line{Kind: Accepted, Client: "127.0.0.1:1", MsgID: "4242", Sender: "me@example.org", Count: [3]int{1}, Bytes: 9}},
		{"smtpd: 127.0.0.1:1: milter inet:127.0.0.1:11332: refused the message from <x@y>: 554 Gtube pattern",
			Line{Kind: Filter, Client: "127.0.0.1:1", Reason: "milter inet:127.0.0.1:11332: refused the message from <x@y>: 554 Gtube pattern"}},
		{"smtpd: 127.0.0.1:1: plugin control/smtpplugins:3: refused rcpt <a@b>: 553 sorry",
			Line{Kind: Filter, Client: "127.0.0.1:1", Reason: "plugin control/smtpplugins:3: refused rcpt <a@b>: 553 sorry"}},
		{"queue: msg 18ebb2eb4a47baed: committed 350 bytes from uid 0 qp 1, 3 recipients",
			Line{Kind: Committed, MsgID: "18ebb2eb4a47baed", Bytes: 350}},
		{"queue: msg 18ebb2eb4a47bb10: committed 1790 bytes bounce of msg 18ebb2eb4a47baed, 1 recipients",
			Line{Kind: Committed, MsgID: "18ebb2eb4a47bb10", Bytes: 1790, BounceID: "18ebb2eb4a47baed"}},
		{"send: info msg 18ebb2eb4a47baed: bytes 350 from <> qp 21675 uid 999",
			Line{Kind: Info, MsgID: "18ebb2eb4a47baed", Bytes: 350}},
		{"send: starting delivery 12: msg 18ebb2eb4a47baed to remote a@far.example b@far.example",
			Line{Kind: Start, Seq: 12, MsgID: "18ebb2eb4a47baed", Channel: "remote", Rcpts: []string{"a@far.example", "b@far.example"}}},
		{"send: delivery 12: failure: b@far.example: 127.0.0.3:25 does not like recipient./Remote host said: 550 5.1.1 no",
			Line{Kind: Result, Seq: 12, Result: "failure", Reason: "b@far.example: 127.0.0.3:25 does not like recipient./Remote host said: 550 5.1.1 no"}},
		{"send: bounce msg 18ebb2eb4a47baed qp 18ebb2eb4a47bb10",
			Line{Kind: Bounce, MsgID: "18ebb2eb4a47baed", BounceID: "18ebb2eb4a47bb10"}},
		{"send: bounce msg 18ebb2eb4a47baed: double bounce: discarding",
			Line{Kind: Bounce, MsgID: "18ebb2eb4a47baed", Reason: "double bounce: discarding"}},
		{"lspawn: delivery 3: msg 18ebb2eb4a47baed: demo-x@example.test as demo (uid 1001)",
			Line{Kind: Spawn, Seq: 3, MsgID: "18ebb2eb4a47baed", Rcpts: []string{"demo-x@example.test"}}},
		{"remote: delivery 7: msg 18ebb2eb4a47baed to far.example: 1 accepted, 2 failed, 3 deferred (no host answered)",
			Line{Kind: RemoteJob, Seq: 7, MsgID: "18ebb2eb4a47baed", Count: [3]int{1, 2, 3}}},
		// A line of a kind send does not write is not send's.
		{"smtpd: new msg 18ebb2eb4a47baed", Line{Kind: Other, MsgID: "18ebb2eb4a47baed"}},
		{"send: warning: msg 18ebb2eb4a47baed: unable to queue its bounce: x", Line{Kind: Warning, MsgID: "18ebb2eb4a47baed"}},
	} {
		got := Parse(stamp + tc.line)
		tc.want.Time = time.Date(2026, 1, 26, 1, 2, 3, 4000, time.UTC)
		prog, text, _ := strings.Cut(tc.line, ": ")
		tc.want.Prog, tc.want.Text = prog, text
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s\n got %+v\nwant %+v", tc.line, got, tc.want)
		}
	}
}

// A syslog daemon's or journalctl's prefix before our time is skipped;
// a line without our time and program is not ours.
func TestParsePrefixesAndForeignLines(t *testing.T) {
	l := Parse("Jan 26 01:02:03 mx goqmail-send: " + stamp + "send: end msg 18ebb2eb4a47baed")
	if l.Kind != End || l.MsgID != "18ebb2eb4a47baed" || l.Prog != "send" || l.Time.IsZero() {
		t.Errorf("syslog line: %+v", l)
	}
	for _, s := range []string{"", "panic: runtime error", "Jan 26 01:02:03 mx postfix/smtpd[1]: connect from x"} {
		if l := Parse(s); l.Kind != Foreign {
			t.Errorf("%q: %+v", s, l)
		}
	}
}

// docLine is an example line of docs/logs.md: indented four spaces and
// starting with a program's name.
var docLine = regexp.MustCompile(`^    (goqmaild|smtpd|queue|send|lspawn|local|remote|auth|pop3d|log): (.*)$`)

// Every example line of docs/logs.md is recognised (a specific kind, or
// an alert, warning or status line), and every kind the parser knows has
// an example there: the document and the parser cannot drift apart.
func TestDocsListEveryLine(t *testing.T) {
	f, err := os.Open("../../docs/logs.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[Kind]bool{}
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if !docLine.MatchString(sc.Text()) {
			continue
		}
		n++
		l := Parse(stamp + strings.TrimPrefix(sc.Text(), "    "))
		if l.Kind == Other || l.Kind == Foreign {
			t.Errorf("docs/logs.md: %q is a line the parser does not know: add its pattern to kinds", sc.Text())
		}
		seen[l.Kind] = true
	}
	if n < 30 {
		t.Fatalf("only %d example lines found in docs/logs.md: does docLine still match them?", n)
	}
	for _, k := range append(Kinds(), Alert, Warning, Status) {
		if !seen[k] {
			t.Errorf("no example of %q in docs/logs.md: document the line", k)
		}
	}
}
