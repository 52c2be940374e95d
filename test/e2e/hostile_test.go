package e2e

import (
	"bufio"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// snapshot maps every path under dir to its kind and size, leaving out the
// places where mail is expected to appear: the queue and the Maildir's
// new/, cur/ and tmp/.
func snapshot(t *testing.T, dir string, s *Server) map[string]string {
	t.Helper()
	allowed := []string{
		filepath.Join(s.Root, "queue") + "/",
		filepath.Join(s.Maildir(), "new") + "/",
		filepath.Join(s.Maildir(), "cur") + "/",
		filepath.Join(s.Maildir(), "tmp") + "/",
	}
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		for _, a := range allowed {
			if strings.HasPrefix(path, a) {
				return nil
			}
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		size := info.Size()
		if d.IsDir() {
			size = 0 // directory sizes change with their entries' names
		}
		out[path] = fmt.Sprintf("%v %d", info.Mode(), size)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// rawSession speaks SMTP byte for byte, for what swaks will not send
// (control characters, bare CR). It returns the reply code to each
// command, or 0 after the server hung up.
func rawSession(t *testing.T, addr string, cmds ...string) []int {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(clientTimeout))
	br := bufio.NewReader(c)
	readReply := func() int {
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return 0
			}
			if len(line) < 4 {
				t.Errorf("short reply line %q", line)
				return 0
			}
			if line[3] == ' ' {
				var code int
				fmt.Sscanf(line[:3], "%d", &code)
				return code
			}
		}
	}
	if code := readReply(); code != 220 {
		t.Fatalf("greeting %d", code)
	}
	var codes []int
	for _, cmd := range cmds {
		if _, err := c.Write([]byte(cmd)); err != nil {
			codes = append(codes, 0)
			break
		}
		code := readReply()
		codes = append(codes, code)
		if code == 0 {
			break
		}
	}
	return codes
}

// answered: every command got a reply, each one a 2xx, 3xx or 5xx
// (hostile input may be refused, never met with silence or a 4xx crash).
func answered(codes []int) bool {
	for _, c := range codes {
		if c < 200 || c >= 600 || (c >= 400 && c < 500 && c != 421) {
			return false
		}
	}
	return len(codes) > 0
}

// logLine is the only shape a goqmail log line may have: a timestamp, the
// program, printable ASCII.
var logLine = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z (goqmaild|smtpd|queue|send|lspawn|local|remote|dkimsign): [ -~]*$`)

// TestHostileInputReachesNothing: shell metacharacters, path traversal in
// local parts, control characters and forged log lines get an SMTP answer
// and nothing else: no file outside the queue and the Maildir, no shell
// run, no forged header, one log line per event.
func TestHostileInputReachesNothing(t *testing.T) {
	t.Parallel()
	requireTool(t, "swaks")
	s := NewServer(t, Options{})
	base := filepath.Dir(s.Root)
	marker := filepath.Join(os.TempDir(), fmt.Sprintf("goqmail-e2e-pwned-%d", os.Getpid()))
	os.Remove(marker)
	passwd, err := os.Stat("/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, base, s)
	logBefore := len(strings.Split(s.Log(), "\n")) - 1

	shell := fmt.Sprintf("x;touch %[1]s;`touch %[1]s`$(touch %[1]s)|tee %[1]s>%[1]s&", marker)
	sessions := 0
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"shell HELO", []string{"--helo", shell, "--to", "demo@example.test"}},
		{"shell sender", []string{"--from", `"|touch ` + marker + `"@example.org`, "--to", "demo@example.test"}},
		{"bracketed rcpt", []string{"--to", "<demo@example.test>"}},
		{"quoted traversal", []string{"--to", `"/../../etc/passwd"@example.test`}},
		{"bare traversal", []string{"--to", "../../../../tmp/x@example.test"}},
		{"traversal after user", []string{"--to", "demo/../../../x@example.test"}},
		{"dot-qmail", []string{"--to", ".qmail-x@example.test"}},
		{"program rcpt", []string{"--to", `"|touch ` + marker + `"@example.test`}},
	} {
		r := swaks(t, s, append(tc.args, "--header", "Subject: hostile "+tc.name)...)
		sessions++
		if !regexp.MustCompile(`(?m)^<[-*]{1,2} +[25]\d\d `).MatchString(r.Out) || strings.Contains(r.Out, "<** 4") || strings.Contains(r.Out, "<-  4") {
			t.Errorf("%s: no 2xx/5xx answer, or a 4xx:\n%s", tc.name, r.Out)
		}
	}

	// What swaks cannot send: control characters, a bare CR that would
	// end a log or header line, a forged log line, header injection.
	forged := "\r\n1999-01-01T00:00:00.000000Z smtpd: FORGED"
	for _, tc := range []struct {
		name string
		cmds []string
	}{
		{"control HELO", []string{"HELO evil\x1b[2J\x00\x07\rX-Injected: helo" + strings.TrimPrefix(forged, "\r\n") + "\r\n",
			"MAIL FROM:<a@example.org>\r\n", "RCPT TO:<demo@example.test>\r\n", "DATA\r\n",
			"Subject: hostile raw\r\n\r\nbody\r\n.\r\n", "QUIT\r\n"}},
		{"forged log in MAIL", []string{"EHLO x\r\n", "MAIL FROM:<a\rb" + strings.TrimPrefix(forged, "\r\n") + "@example.org>\r\n", "QUIT\r\n"}},
		{"escape in RCPT", []string{"EHLO x\r\n", "MAIL FROM:<a@example.org>\r\n", "RCPT TO:<\x1b]0;pwn\x07demo@example.test>\r\n", "QUIT\r\n"}},
		{"bare LF in DATA", []string{"EHLO x\r\n", "MAIL FROM:<a@example.org>\r\n", "RCPT TO:<demo@example.test>\r\n", "DATA\r\n",
			"Subject: bare\nX-Injected: data\r\n\r\nbody" + forged + "\r\n.\r\n", "QUIT\r\n"}},
	} {
		codes := rawSession(t, s.Addr, tc.cmds...)
		sessions++
		t.Logf("%s: replies %v", tc.name, codes)
		if !answered(codes) {
			t.Errorf("%s: replies %v, want a 2xx/3xx/5xx to every command", tc.name, codes)
		}
	}

	// Let everything accepted be delivered, or fail for good (kept in the
	// queue until bounces exist), before looking.
	ids := regexp.MustCompile(`smtpd: 127\.0\.0\.1:\d+: accepted msg ([0-9a-f]{16}) `).FindAllStringSubmatch(s.Log(), -1)
	for _, id := range ids {
		s.WaitLog(`send: (end msg `+id[1]+`$|warning: msg `+id[1]+`: \d+ recipients failed permanently)`, 1, deliverTimeout)
	}
	after := snapshot(t, base, s)
	for path, what := range after {
		if b, ok := before[path]; !ok || b != what {
			t.Errorf("hostile input changed %s (%s; before: %q)", path, what, b)
		}
	}
	for path := range before {
		if _, ok := after[path]; !ok {
			t.Errorf("hostile input removed %s", path)
		}
	}
	if _, err := os.Lstat(marker); err == nil {
		os.Remove(marker)
		t.Errorf("a shell ran: %s exists", marker)
	}
	if now, err := os.Stat("/etc/passwd"); err != nil || !now.ModTime().Equal(passwd.ModTime()) || now.Size() != passwd.Size() {
		t.Errorf("/etc/passwd changed during the test")
	}

	// Nothing delivered may carry an injected header or a raw control
	// character in its trace lines.
	for _, f := range s.MaildirNew() {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		head, _, _ := strings.Cut(string(b), "\n\n")
		if strings.Contains(head, "\nX-Injected:") {
			t.Errorf("%s: injected header:\n%s", f, head)
		}
		if strings.ContainsAny(head, "\r\x00\x1b\x07") {
			t.Errorf("%s: control character in the header:\n%q", f, head)
		}
	}

	// smtpd logs a session after its last reply: wait for all of them.
	countSessions := func() int {
		lines := strings.Split(s.Log(), "\n")
		n := 0
		for _, l := range lines[logBefore:] {
			if strings.Contains(l, " smtpd: session 127.0.0.1:") && !isProbe(l, s.Probes) {
				n++
			}
		}
		return n
	}
	waitFor(t, deliverTimeout, fmt.Sprintf("%d session lines in the log", sessions), func() bool { return countSessions() >= sessions })
	if n := countSessions(); n != sessions {
		t.Errorf("%d SMTP sessions logged %d session lines, want one each", sessions, n)
	}
	logText := s.Log()
	for _, l := range strings.Split(strings.TrimSuffix(logText, "\n"), "\n") {
		if !logLine.MatchString(l) || strings.HasPrefix(l, "1999-") {
			t.Errorf("log line is not one clean event: %q", l)
		}
	}
	if !s.Running() || strings.Contains(logText, "exited") {
		t.Errorf("a goqmail program died on hostile input")
	}
}

// isProbe tells a session line of one of Start's readiness probes.
func isProbe(line string, probes []string) bool {
	for _, p := range probes {
		if strings.Contains(line, " smtpd: session "+p+": ") {
			return true
		}
	}
	return false
}
