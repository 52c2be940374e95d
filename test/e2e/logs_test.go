package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"goqmail/internal/logdir"
	"goqmail/internal/logparse"
)

// Issue 16, item 1: logs that last. These servers log to files
// (control/logdest files): goqmail-log writes ROOT/log.

// logDir is the server's log directory.
func (s *Server) logDir() string { return filepath.Join(s.Root, "log") }

// FileLog returns every line of ROOT/log, the finished files first.
func (s *Server) FileLog() []string {
	s.t.Helper()
	files, err := logdir.Files(s.logDir())
	if err != nil {
		s.t.Fatal(err)
	}
	var lines []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // rotated away while we looked
		}
		lines = append(lines, strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")...)
	}
	return lines
}

// WaitFileLog waits until ROOT/log has at least n lines matching re.
func (s *Server) WaitFileLog(re string, n int) []string {
	s.t.Helper()
	rx := regexp.MustCompile(re)
	var hits []string
	waitFor(s.t, deliverTimeout, fmt.Sprintf("%d lines matching %q in %s", n, re, s.logDir()), func() bool {
		hits = hits[:0]
		for _, l := range s.FileLog() {
			if rx.MatchString(l) {
				hits = append(hits, l)
			}
		}
		return len(hits) >= n
	})
	return hits
}

// fileLogServer is a server logging to files that rotate every 4096
// bytes, keeping every rotated file.
func fileLogServer(t *testing.T, control map[string]string) *Server {
	t.Helper()
	opts := Options{Control: map[string]string{"logdest": "files\n", "logsize": "4096\n", "logkeep": "1000\n"}}
	for k, v := range control {
		opts.Control[k] = v
	}
	s := NewServer(t, opts)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s:\n%s", s.logDir(), strings.Join(s.FileLog(), "\n"))
		}
	})
	return s
}

// TestLogFilesRotateAndTraceOneMessage: with logdest files, every
// program's lines land in ROOT/log, rotated at the size limit into files
// no larger than it, each line whole and stamped with its time and
// program; and one message, accepted by smtpd, delivered locally and
// remotely, one recipient refused by the remote host and so bounced, can
// be followed by its queue id through smtpd, queue, send, lspawn, remote
// and the bounce.
func TestLogFilesRotateAndTraceOneMessage(t *testing.T) {
	t.Parallel()
	okPort, badPort := freePortOn(t, "127.0.0.1"), freePortOn(t, "127.0.0.1")
	okDump := startSink(t, fmt.Sprintf("127.0.0.1:%d", okPort))
	startSink(t, fmt.Sprintf("127.0.0.1:%d", badPort), "-B", "550 5.1.1 no such user here", "-f", "rcpt")
	s := fileLogServer(t, map[string]string{
		"smtproutes": fmt.Sprintf("ok.example:127.0.0.1:%d\nbad.example:127.0.0.1:%d\n", okPort, badPort),
		"tcp.smtp":   "127.:allow,RELAYCLIENT=\"\"\n",
		"logsize":    "16777216\n",
	})
	// At 16 MiB nothing rotates; a SIGHUP brings logsize down to 4096,
	// and enough mail follows for several rotations.
	for i := 0; i < 2; i++ {
		sendDemoN(t, s, fmt.Sprintf("filler %d", i), i+1)
	}
	if old, _ := logdir.Finished(s.logDir()); len(old) != 0 {
		t.Fatalf("rotated at 16 MiB: %v", old)
	}
	s.SetControl("logsize", "4096\n")
	s.Signal(syscall.SIGHUP)
	s.WaitFileLog(`log: status: configuration reloaded$`, 1)
	for i := 2; i < 8; i++ {
		sendDemoN(t, s, fmt.Sprintf("filler %d", i), i+1)
	}
	r := swaks(t, s, "--from", "demo@example.test", "--to", "demo@example.test,a@ok.example,b@bad.example", "--header", "Subject: traced")
	m := regexp.MustCompile(`250 2\.0\.0 ok \d+ qp ([0-9a-f]{16})`).FindStringSubmatch(r.Out)
	if r.Code != 0 || m == nil {
		t.Fatalf("swaks: exit %d:\n%s", r.Code, r.Out)
	}
	id := m[1]
	waitDumps(t, okDump, 1)
	s.WaitMaildir(10, deliverTimeout) // 8 fillers, the traced message, its bounce
	bounce := s.WaitFileLog(`send: bounce msg `+id+` qp [0-9a-f]{16}$`, 1)[0]
	bounceID := bounce[len(bounce)-16:]
	s.WaitFileLog(`send: end msg `+bounceID+`$`, 1)
	s.Stop()

	// Rotation: several finished files, none larger than logsize, and
	// every line of every file whole and ours.
	finished, err := logdir.Finished(s.logDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(finished) < 2 {
		t.Errorf("%d rotated files in %s, want at least 2 at logsize 4096", len(finished), s.logDir())
	}
	files, _ := logdir.Files(s.logDir())
	for _, f := range files[1:] { // the first was finished at the SIGHUP's first write
		b, _ := os.ReadFile(f)
		if len(b) > 4096 || (len(b) > 0 && b[len(b)-1] != '\n') {
			t.Errorf("%s: %d bytes, last byte %q", f, len(b), b[len(b)-1:])
		}
	}
	lines := s.FileLog()
	progs := map[string]bool{}
	for _, l := range lines {
		p := logparse.Parse(l)
		if p.Kind == logparse.Foreign {
			t.Errorf("a line that is not a whole goqmail line: %q", l)
		}
		progs[p.Prog] = true
	}
	for _, p := range []string{"goqmaild", "log", "queue", "send", "smtpd", "lspawn", "remote"} {
		if !progs[p] {
			t.Errorf("no line of %s in %s", p, s.logDir())
		}
	}
	if !strings.HasSuffix(lines[len(lines)-1], "goqmaild: status: stopped") {
		t.Errorf("the last line is %q, want goqmaild's stop", lines[len(lines)-1])
	}
	if log := s.stderrLog(); strings.TrimSpace(log) != "" {
		t.Errorf("goqmaild's standard error got lines while logging to files:\n%s", log)
	}

	// The trail of one message: every program names its id.
	var seqs []string
	for _, l := range lines {
		if m := regexp.MustCompile(`send: starting delivery (\d+): msg ` + id + ` `).FindStringSubmatch(l); m != nil {
			seqs = append(seqs, m[1])
		}
	}
	if len(seqs) != 3 {
		t.Fatalf("%d deliveries of %s started, want 3 (local, ok.example, bad.example)", len(seqs), id)
	}
	trail := []string{
		`smtpd: 127\.0\.0\.1:\d+: accepted msg ` + id + ` from <demo@example\.test> to 3 recipients`,
		`queue: msg ` + id + `: committed \d+ bytes from uid \d+ qp \d+, 3 recipients`,
		`send: new msg ` + id + `$`,
		`send: info msg ` + id + `: bytes \d+ from <demo@example\.test>`,
		`lspawn: delivery \d+: msg ` + id + `: demo@example\.test as \S+ \(uid \d+\)`,
		`remote: delivery \d+: msg ` + id + ` to ok\.example: 1 accepted, 0 failed, 0 deferred \(via 127\.0\.0\.1:\d+ \[none\]\)`,
		`remote: delivery \d+: msg ` + id + ` to bad\.example: 0 accepted, 1 failed, 0 deferred \(via 127\.0\.0\.1:\d+ \[none\]\)`,
		`send: delivery (` + strings.Join(seqs, "|") + `): failure: b@bad\.example: .*550 5\.1\.1`,
		`send: bounce msg ` + id + ` qp ` + bounceID + `$`,
		`queue: msg ` + bounceID + `: committed \d+ bytes bounce of msg ` + id + `, 1 recipients`,
		`send: end msg ` + id + `$`,
	}
	for _, re := range trail {
		rx := regexp.MustCompile(re)
		found := false
		for _, l := range lines {
			found = found || rx.MatchString(l)
		}
		if !found {
			t.Errorf("no line matching %q in %s", re, s.logDir())
		}
	}
}

// sendDemoN sends one message to demo@example.test and waits until the
// Maildir holds n.
func sendDemoN(t *testing.T, s *Server, subject string, n int) {
	t.Helper()
	if r := swaks(t, s, "--to", "demo@example.test", "--header", "Subject: "+subject); r.Code != 0 || !acceptedAfterData.MatchString(r.Out) {
		t.Fatalf("swaks (%s) exited %d:\n%s", subject, r.Code, r.Out)
	}
	s.WaitMaildir(n, deliverTimeout)
}

// TestLogSummaryAgreesWithTheRun: goqmail log summary, on the files of a
// run whose every message the test knows, counts what happened: five
// messages in (three by SMTP, two by sendmail), two recipients refused,
// five deliveries (four messages and a bounce, all to the demo Maildir),
// one failure and its bounce, one deferral. The same lines through
// standard input give the same summary.
func TestLogSummaryAgreesWithTheRun(t *testing.T) {
	t.Parallel()
	badPort := freePortOn(t, "127.0.0.1")
	startSink(t, fmt.Sprintf("127.0.0.1:%d", badPort), "-B", "550 5.1.1 no such user here", "-f", "rcpt")
	s := fileLogServer(t, map[string]string{
		"smtproutes": fmt.Sprintf("bad.example:127.0.0.1:%d\n:127.0.0.1:%d\n", badPort, freePort(t)),
	})
	for i := 1; i <= 3; i++ {
		sendDemoN(t, s, fmt.Sprintf("by smtp %d", i), i)
	}
	for i := 0; i < 2; i++ {
		if r := swaks(t, s, "--to", "x@elsewhere.example"); !strings.Contains(r.Out, "relaying denied") {
			t.Fatalf("relaying was not refused:\n%s", r.Out)
		}
	}
	sendmailAs(t, s, "demo@example.test", []string{"demo@example.test", "b@bad.example"}, "Subject: one fails\n\nx\n")
	sendmailAs(t, s, "demo@example.test", []string{"c@later.example"}, "Subject: deferred\n\nx\n")
	s.WaitMaildir(5, deliverTimeout) // 3 + 1 + the bounce
	s.WaitFileLog(`send: delivery \d+: deferral: c@later\.example: `, 1)
	s.WaitFileLog(`send: end msg `, 5)
	s.Stop()

	run := func(stdin []byte, args ...string) string {
		cmd := exec.Command(filepath.Join(binDir, "goqmail"), append([]string{"log", "summary"}, args...)...)
		if stdin != nil {
			cmd.Stdin = strings.NewReader(string(stdin))
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("goqmail log summary %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	out := run(nil, "-root", s.Root)
	for _, want := range []struct {
		label string
		n     int
	}{
		{"received", 5}, {"by SMTP", 3}, {"bounces made", 1}, {"refused", 2},
		{"delivered", 5}, {"deferred", 1}, {"failed", 1},
	} {
		m := regexp.MustCompile(`(?m)^ +` + want.label + ` +(\d+)`).FindStringSubmatch(out)
		if m == nil {
			t.Errorf("no %q in the summary", want.label)
			continue
		}
		if n, _ := strconv.Atoi(m[1]); n != want.n {
			t.Errorf("%s: %d, the test knows %d", want.label, n, want.n)
		}
	}
	for _, want := range []string{
		"(local 5, remote 0)",
		"       2  553 sorry, that domain isn't in my list of allowed rcpthosts; relaying denied",
		"       5  demo@example.test",
		"Delay, arrival to delivery (5)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("summary:\n%s", out)
	}
	var all []byte
	for _, l := range s.FileLog() {
		all = append(all, l+"\n"...)
	}
	if again := run(all, "-"); again != out {
		t.Errorf("the summary of standard input differs:\n%s", again)
	}
}

// journalStandIn is a datagram socket in journald's place; it decodes
// each native-protocol datagram into its fields.
type journalStandIn struct {
	path    string
	entries chan map[string]string
}

func startJournal(t *testing.T) *journalStandIn {
	t.Helper()
	dir := t.TempDir()
	os.Chmod(dir, 0o755) // goqmail-log runs as goqmaill
	j := &journalStandIn{path: filepath.Join(dir, "socket"), entries: make(chan map[string]string, 10000)}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: j.path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(j.path, 0o666) // as journald's is
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 1<<16)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			fields := map[string]string{}
			for _, f := range strings.Split(strings.TrimSuffix(string(buf[:n]), "\n"), "\n") {
				k, v, _ := strings.Cut(f, "=")
				fields[k] = v
			}
			j.entries <- fields
		}
	}()
	return j
}

// TestJournalWhenStderrIsTheJournal: with logdest auto (the default) and
// goqmaild's standard error the stream systemd's JOURNAL_STREAM names,
// every line goes to the journal through its native protocol, nothing to
// standard error: the whole line as MESSAGE, the program as
// SYSLOG_IDENTIFIER, the mail facility, warnings at priority 4, and the
// queue id as GOQMAIL_QUEUE_ID in the lines of every program that handles
// the message.
func TestJournalWhenStderrIsTheJournal(t *testing.T) {
	t.Parallel()
	j := startJournal(t)
	s := NewServer(t, Options{NoStart: true})
	st, err := os.Stat(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	sys := st.Sys().(*syscall.Stat_t)
	s.env = append(s.env, fmt.Sprintf("JOURNAL_STREAM=%d:%d", sys.Dev, sys.Ino), "GOQMAIL_JOURNAL_SOCKET="+j.path)
	s.Start()
	sendDemoN(t, s, "to the journal", 1)
	smtpd := s.pidFiles()["smtpd"]
	syscall.Kill(smtpd, syscall.SIGKILL)

	var id string
	var all []map[string]string
	ended, gotWarning := false, false
	deadline := time.After(deliverTimeout)
	for !gotWarning || !ended {
		var e map[string]string
		select {
		case e = <-j.entries:
		case <-deadline:
			t.Fatalf("waited %v for the journal entries; have %d, id %q, end %v, warning %v", deliverTimeout, len(all), id, ended, gotWarning)
		}
		msg := e["MESSAGE"]
		if p := logparse.Parse(msg); p.Kind == logparse.Foreign || e["SYSLOG_IDENTIFIER"] != "goqmaild" && e["SYSLOG_IDENTIFIER"] != "goqmail-"+p.Prog {
			t.Errorf("entry %v: MESSAGE is not a whole line of the program it names", e)
		}
		if e["SYSLOG_FACILITY"] != "2" {
			t.Errorf("entry %v: not the mail facility", e)
		}
		if m := regexp.MustCompile(`smtpd: \S+: accepted msg ([0-9a-f]{16}) `).FindStringSubmatch(msg); m != nil {
			id = m[1]
		}
		all = append(all, e)
		ended = ended || id != "" && strings.Contains(msg, "send: end msg "+id)
		if strings.Contains(msg, "goqmaild: warning: smtpd exited") {
			gotWarning = true
			if e["PRIORITY"] != "4" || e["SYSLOG_IDENTIFIER"] != "goqmaild" {
				t.Errorf("goqmaild's warning: %v", e)
			}
		} else if !strings.Contains(msg, ": warning: ") && !strings.Contains(msg, ": alert: ") && e["PRIORITY"] != "6" {
			t.Errorf("entry %v: an ordinary line not at priority 6", e)
		}
	}
	idents := map[string]bool{}
	for _, e := range all {
		if e["GOQMAIL_QUEUE_ID"] == id {
			idents[e["SYSLOG_IDENTIFIER"]] = true
		}
	}
	for _, ident := range []string{"goqmail-smtpd", "goqmail-queue", "goqmail-send", "goqmail-lspawn"} {
		if !idents[ident] {
			t.Errorf("no entry of %s with GOQMAIL_QUEUE_ID=%s (have %v)", ident, id, idents)
		}
	}
	if log := s.stderrLog(); strings.TrimSpace(log) != "" {
		t.Errorf("goqmaild's standard error got lines while logging to the journal:\n%s", log)
	}
}

// TestSyslogDestination: logdest syslog writes each line to /dev/log's
// socket (a stand-in here) in the format syslog(3) writes, facility mail,
// the program as the tag.
func TestSyslogDestination(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	path := filepath.Join(dir, "log")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() }) // after the server's stop
	os.Chmod(path, 0o666)
	s := NewServer(t, Options{Control: map[string]string{"logdest": "syslog\n"}, Env: []string{"GOQMAIL_SYSLOG_SOCKET=" + path}})
	sendDemoN(t, s, "to syslog", 1)
	rx := regexp.MustCompile(`^<22>[A-Z][a-z][a-z] [ 0-9]\d \d\d:\d\d:\d\d goqmail-send: \d{4}-\d\d-\d\dT[0-9:.]+Z send: end msg [0-9a-f]{16}$`)
	buf := make([]byte, 1<<16)
	c.SetReadDeadline(time.Now().Add(deliverTimeout))
	for {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("no end msg line from goqmail-send at the syslog socket: %v", err)
		}
		if rx.Match(buf[:n]) {
			break
		}
	}
	// The configuration check looks for the real /dev/log, which this
	// machine may lack: it says so, and that is all goqmaild's standard
	// error may hold.
	for _, l := range strings.Split(strings.TrimSpace(s.stderrLog()), "\n") {
		if l != "" && !strings.Contains(l, "warning: configuration: control/logdest: is syslog, but /dev/log does not exist") {
			t.Errorf("goqmaild's standard error got a line while logging to syslog: %s", l)
		}
	}
}
