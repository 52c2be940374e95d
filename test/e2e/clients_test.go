package e2e

import (
	"bytes"
	"context"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// clientTimeout bounds every client run: swaks and msmtp wait minutes for
// a silent server by default.
const clientTimeout = 20 * time.Second

// result is what a client printed and how it exited.
type result struct {
	Out  string // stdout and stderr together, in order
	Code int    // exit code; -1 if killed
}

// runClient runs a client program with optional stdin.
func runClient(t *testing.T, stdin []byte, name string, args ...string) result {
	t.Helper()
	requireTool(t, name)
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %q did not finish within %v:\n%s", name, args, clientTimeout, out.String())
	}
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%s: %v", name, err)
		}
		code = ee.ExitCode()
	}
	return result{Out: out.String(), Code: code}
}

// swaks runs one SMTP transaction against s with swaks. args come after
// --server and may override --from, --helo and so on.
func swaks(t *testing.T, s *Server, args ...string) result {
	t.Helper()
	base := []string{"--server", s.Addr, "--timeout", "15", "--from", "a@example.org", "--helo", "client.example.org"}
	return runClient(t, nil, "swaks", append(base, args...)...)
}

// sendDemo sends one message to demo@example.test with swaks, requires
// exit 0 and the 250 after DATA, and waits until the message is in the
// Maildir and send has ended it. It returns the Maildir's files.
func sendDemo(t *testing.T, s *Server, subject string) []string {
	t.Helper()
	r := swaks(t, s, "--to", "demo@example.test", "--header", "Subject: "+subject)
	if r.Code != 0 || !acceptedAfterData.MatchString(r.Out) {
		t.Fatalf("swaks (%s) exited %d, want 0 and a 250 after DATA:\n%s", subject, r.Code, r.Out)
	}
	files := s.WaitMaildir(1, deliverTimeout)
	s.WaitLog(`send: end msg`, 1, deliverTimeout)
	return files
}

// msmtp sends msg (LF line ends, as a user's file has them) to rcpt with
// msmtp, ignoring any msmtprc on the machine.
func msmtp(t *testing.T, s *Server, from, rcpt string, msg []byte) result {
	t.Helper()
	return runClient(t, msg, "msmtp", "-C", "/dev/null", "--host=127.0.0.1", "--port="+strconv.Itoa(s.Port),
		"--tls=off", "--auth=off", "--domain=client.example.org", "--from="+from, "--", rcpt)
}

// mblaze runs an mblaze tool with stdin and returns its stdout; a non-zero
// exit fails the test.
func mblaze(t *testing.T, stdin []byte, name string, args ...string) string {
	t.Helper()
	r := runClient(t, stdin, name, args...)
	if r.Code != 0 {
		t.Fatalf("%s %q exited %d:\n%s", name, args, r.Code, r.Out)
	}
	return r.Out
}
