package main

import (
	"bytes"
	"goqmail/internal/submit/submittest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"goqmail/internal/proto"
)

// submission is what the fake queue received on one connection.
type submission struct {
	uid       int
	sender    string
	rcpts     []string
	content   string
	committed bool
}

// fakeQueue is the queue's submit socket (internal/submit/submittest).
type fakeQueue struct{ q *submittest.Queue }

func startQueue(t *testing.T, path string) *fakeQueue {
	return &fakeQueue{submittest.Start(t, path, proto.Result{OK: true, ID: "0123456789abcdef"})}
}

func (f *fakeQueue) take() []submission {
	var out []submission
	for _, s := range f.q.Take() {
		out = append(out, submission{uid: s.UID, sender: s.Sender, rcpts: s.Rcpts, content: s.Content, committed: s.Committed})
	}
	return out
}

func (f *fakeQueue) setAnswer(r proto.Result) { f.q.SetAnswer(r) }

// makeRoot creates a goqmail directory with the controls sendmail reads.
func makeRoot(t *testing.T) string {
	root := t.TempDir()
	for _, d := range []string{"control", "run", "bin"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, v := range map[string]string{
		"me": "mail.example.test", "defaulthost": "host", "defaultdomain": "example.test",
		"idhost": "id.example.test", "rcpthosts": "example.test",
	} {
		if err := os.WriteFile(filepath.Join(root, "control", name), []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// buildCommand builds the command as ROOT/bin/sendmail, where it is installed.
func buildCommand(t *testing.T, root string) string {
	bin := filepath.Join(root, "bin", "sendmail")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type result struct {
	stdout, stderr string
	code           int
}

func runCmd(t *testing.T, bin string, env []string, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

// TestCommand builds the command and drives it against a fake queue.
func TestCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	root := makeRoot(t)
	bin := buildCommand(t, root)
	q := startQueue(t, filepath.Join(root, "run", "submit.sock"))
	env := []string{"GOQMAIL_ROOT=" + root, "USER=tester", "NAME=Test User", "PATH=" + os.Getenv("PATH")}
	uid := os.Getuid()

	one := func(t *testing.T, r result, want int) submission {
		t.Helper()
		if r.code != want {
			t.Fatalf("exit %d, want %d; stderr: %s", r.code, want, r.stderr)
		}
		got := q.take()
		if len(got) != 1 {
			t.Fatalf("%d submissions, want 1: %+v", len(got), got)
		}
		if got[0].uid != uid {
			t.Errorf("peer uid %d, want %d", got[0].uid, uid)
		}
		return got[0]
	}

	t.Run("plain", func(t *testing.T) {
		s := one(t, runCmd(t, bin, env, "Subject: hi\r\n\r\nhello\r\n.\r\nnot sent\r\n", "bob", "carol@elsewhere.example"), 0)
		if s.sender != "tester@host.example.test" || strings.Join(s.rcpts, " ") != "bob@host.example.test carol@elsewhere.example" || !s.committed {
			t.Errorf("envelope %+v", s)
		}
		for _, re := range []string{
			`(?m)^Date: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [-+]\d{4}\n`,
			`(?m)^Message-ID: <\d{14}\.\d+\.1@id\.example\.test>\n`,
			`(?m)^From: "Test User" <tester@host\.example\.test>\n`,
			`\nSubject: hi\n\nhello\n$`,
		} {
			if !regexp.MustCompile(re).MatchString(s.content) {
				t.Errorf("content does not match %s:\n%s", re, s.content)
			}
		}
	})
	t.Run("-i keeps dot lines", func(t *testing.T) {
		s := one(t, runCmd(t, bin, env, "Subject: hi\n\nhello\n.\nstill\n", "-i", "bob"), 0)
		if !strings.HasSuffix(s.content, "\n\nhello\n.\nstill\n") {
			t.Errorf("content:\n%s", s.content)
		}
	})
	t.Run("-t with Bcc and -f", func(t *testing.T) {
		msg := "From: Me <me@mine.example>\nTo: ann, bob@x.example\nCc: carol@x.example\nBcc: dave@y.example\nSubject: t\n\nbody\n"
		s := one(t, runCmd(t, bin, env, msg, "-t", "-f", "bounce@b.example", "extra@z.example"), 0)
		if s.sender != "bounce@b.example" {
			t.Errorf("sender %q", s.sender)
		}
		if got := strings.Join(s.rcpts, " "); got != "extra@z.example ann@host.example.test bob@x.example carol@x.example dave@y.example" {
			t.Errorf("recipients %s", got)
		}
		if strings.Contains(s.content, "dave") || !strings.Contains(s.content, "\nTo: ann@host.example.test, bob@x.example\n") ||
			!strings.Contains(s.content, "From: Me <me@mine.example>\n") {
			t.Errorf("content:\n%s", s.content)
		}
	})
	t.Run("null sender", func(t *testing.T) {
		for _, f := range []string{"", "<>"} {
			s := one(t, runCmd(t, bin, env, "Subject: x\n\n", "-f", f, "bob"), 0)
			if s.sender != "" {
				t.Errorf("-f %q: sender %q", f, s.sender)
			}
		}
	})
	t.Run("usage errors", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{nil, "no recipients"},
			{[]string{"-Z", "bob"}, "unknown option -Z"},
			{[]string{"bob\nBcc: x"}, "control character"},
			{[]string{"bob@@x"}, "bad address"},
			{[]string{"-f", "a b c", "bob"}, "sender"},
		} {
			r := runCmd(t, bin, env, "Subject: x\n\nbody\n", tc.args...)
			if r.code != 64 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("%q: exit %d, stderr %q; want 64 and %q", tc.args, r.code, r.stderr, tc.want)
			}
		}
		r := runCmd(t, bin, env, "To: undisclosed-recipients:;\n\nbody\n", "-t")
		if r.code != 64 || !strings.Contains(r.stderr, "no recipients") {
			t.Errorf("-t without recipients: exit %d, %q", r.code, r.stderr)
		}
		if got := q.take(); len(got) != 0 {
			t.Errorf("submitted after usage errors: %+v", got)
		}
	})
	t.Run("NUL refused", func(t *testing.T) {
		r := runCmd(t, bin, env, "Subject: x\n\nbinary \x00 data\n", "bob")
		if r.code != 65 || !strings.Contains(r.stderr, "NUL") {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
		time.Sleep(50 * time.Millisecond) // let the fake queue read the Abort
		for _, s := range q.take() {
			if s.committed {
				t.Errorf("committed: %+v", s)
			}
		}
	})
	t.Run("queue answers", func(t *testing.T) {
		defer q.setAnswer(proto.Result{OK: true, ID: "0123456789abcdef"})
		q.setAnswer(proto.Result{Temporary: true, Text: "qq write error or disk full (#4.3.0)"})
		r := runCmd(t, bin, env, "Subject: x\n\n", "bob")
		if r.code != 75 || !strings.Contains(r.stderr, "disk full") {
			t.Errorf("temporary: exit %d, %q", r.code, r.stderr)
		}
		q.setAnswer(proto.Result{Text: "qq permanent problem (#5.3.0)"})
		r = runCmd(t, bin, env, "Subject: x\n\n", "bob")
		if r.code != 73 || !strings.Contains(r.stderr, "permanent problem") {
			t.Errorf("permanent: exit %d, %q", r.code, r.stderr)
		}
		q.take()
	})
	t.Run("queue down", func(t *testing.T) {
		other := makeRoot(t)
		r := runCmd(t, bin, []string{"GOQMAIL_ROOT=" + other, "USER=tester"}, "Subject: x\n\n", "bob")
		if r.code != 75 || !strings.Contains(r.stderr, "goqmaild running") {
			t.Errorf("exit %d, %q", r.code, r.stderr)
		}
	})
	t.Run("no root", func(t *testing.T) {
		lone := filepath.Join(t.TempDir(), "sendmail")
		data, _ := os.ReadFile(bin)
		os.WriteFile(lone, data, 0o755)
		r := runCmd(t, lone, []string{"USER=tester"}, "", "bob")
		if r.code != 78 || !strings.Contains(r.stderr, "GOQMAIL_ROOT") {
			t.Errorf("exit %d, %q", r.code, r.stderr)
		}
	})
	t.Run("mailq and newaliases by name", func(t *testing.T) {
		script := "#!/bin/sh\necho \"args: $*\"\necho \"root: $GOQMAIL_ROOT\"\n"
		if err := os.WriteFile(filepath.Join(root, "bin", "goqmail"), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"mailq", "newaliases"} {
			os.Symlink("sendmail", filepath.Join(root, "bin", name))
		}
		noRoot := []string{"USER=tester", "PATH=" + os.Getenv("PATH")} // found from the executable
		r := runCmd(t, filepath.Join(root, "bin", "mailq"), noRoot, "")
		if r.code != 0 || r.stdout != "args: queue list -root "+root+"\nroot: "+root+"\n" {
			t.Errorf("mailq: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
		r = runCmd(t, bin, noRoot, "", "-bp")
		if r.code != 0 || !strings.HasPrefix(r.stdout, "args: queue list ") {
			t.Errorf("-bp: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
		r = runCmd(t, filepath.Join(root, "bin", "newaliases"), noRoot, "")
		if r.code != 0 || !strings.Contains(r.stderr, "control/aliases") {
			t.Errorf("newaliases: exit %d, %q", r.code, r.stderr)
		}
		r = runCmd(t, bin, noRoot, "", "-q")
		if r.code != 0 || !strings.Contains(r.stderr, "SIGALRM") {
			t.Errorf("-q: exit %d, %q", r.code, r.stderr)
		}
	})
	t.Run("-bs", func(t *testing.T) {
		dialog := "EHLO client\r\nMAIL FROM:<me@mine.example>\r\nRCPT TO:<someone@remote.example>\r\nRCPT TO:<postmaster>\r\nDATA\r\nSubject: smtp\r\n\r\n..dot\r\nbody\r\n.\r\nQUIT\r\n"
		r := runCmd(t, bin, env, dialog, "-bs")
		codes := replyCodes(r.stdout)
		if r.code != 0 || codes != "220 250 250 250 250 354 250 221" {
			t.Fatalf("exit %d, replies %q:\n%s\nstderr: %s", r.code, codes, r.stdout, r.stderr)
		}
		s := one(t, r, 0)
		if s.sender != "me@mine.example" || strings.Join(s.rcpts, " ") != "someone@remote.example postmaster@mail.example.test" {
			t.Errorf("envelope %+v", s)
		}
		if !regexp.MustCompile(`^Received: from unknown \(HELO client\) \(127\.0\.0\.1\)\n  by mail\.example\.test with ESMTP; .*\nSubject: smtp\n\n\.dot\nbody\n$`).MatchString(s.content) {
			t.Errorf("content:\n%q", s.content)
		}
	})
	t.Run("-bs HELO pipelined and a refusal", func(t *testing.T) {
		defer q.setAnswer(proto.Result{OK: true, ID: "0123456789abcdef"})
		q.setAnswer(proto.Result{Temporary: true, Text: "qq write error or disk full (#4.3.0)"})
		dialog := "HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<x@remote.example>\r\nDATA\r\nSubject: s\r\n\r\nb\r\n.\r\nQUIT\r\n"
		r := runCmd(t, bin, env, dialog, "-bs")
		if codes := replyCodes(r.stdout); codes != "220 250 250 250 354 451 221" {
			t.Errorf("replies %q:\n%s", codes, r.stdout)
		}
		q.take()
	})
}

// TestSMTPTimeout checks that -bs gives up on a silent client after
// control/timeoutsmtpd even though its standard input is a pipe, which
// cannot take a read deadline.
func TestSMTPTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	root := makeRoot(t)
	os.WriteFile(filepath.Join(root, "control", "timeoutsmtpd"), []byte("1\n"), 0o644)
	bin := buildCommand(t, root)
	cmd := exec.Command(bin, "-bs")
	cmd.Env = []string{"GOQMAIL_ROOT=" + root}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	var out bytes.Buffer
	cmd.Stdout = &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stdin.Write([]byte("HELO c\r\n"))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v", err)
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("no timeout after 20 s; output:\n%s", out.String())
	}
	if codes := replyCodes(out.String()); codes != "220 250 421" {
		t.Errorf("replies %q:\n%s", codes, out.String())
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("gave up after %v, before the 1 s timeout", d)
	}
}

// replyCodes lists the codes of the final lines of SMTP replies.
func replyCodes(out string) string {
	var codes []string
	for _, line := range strings.Split(out, "\r\n") {
		if len(line) >= 4 && line[3] == ' ' {
			codes = append(codes, line[:3])
		}
	}
	return strings.Join(codes, " ")
}
