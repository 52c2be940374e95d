package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"goqmail/internal/route/dnstest"
)

const sinkPath = "/usr/sbin/smtp-sink"

// startSink runs Postfix's smtp-sink on addr (ip:port) with extra options;
// it dumps each message into the returned directory.
func startSink(t *testing.T, addr string, opts ...string) string {
	t.Helper()
	if _, err := os.Stat(sinkPath); err != nil {
		t.Fatalf("smtp-sink not installed (apt-get install postfix): %v", err)
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o777)
	os.Chmod(filepath.Dir(dir), 0o755)
	args := []string{"-d", dir + "/%M."}
	if os.Getuid() == 0 {
		args = append(args, "-u", "nobody") // smtp-sink refuses to run as root
	}
	args = append(args, opts...)
	args = append(args, addr, "10")
	cmd := exec.Command(sinkPath, args...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("smtp-sink: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitFor(t, 5*time.Second, "smtp-sink on "+addr, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return dir
}

// freePortOn returns a TCP port free on every listed loopback address.
func freePortOn(t *testing.T, ips ...string) int {
	t.Helper()
	for range 20 {
		p := freePort(t)
		ok := true
		for _, ip := range ips {
			ln, err := net.Listen("tcp", fmt.Sprintf("%s:%d", ip, p))
			if err != nil {
				ok = false
				break
			}
			ln.Close()
		}
		if ok {
			return p
		}
	}
	t.Fatal("no common free port")
	return 0
}

func sendmailAs(t *testing.T, s *Server, from string, rcpts []string, msg string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "goqmail-sendmail"), append([]string{"-i", "-f", from}, rcpts...)...)
	cmd.Env = append(os.Environ(), "GOQMAIL_ROOT="+s.Root)
	cmd.Stdin = strings.NewReader(msg)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sendmail: %v\n%s", err, out)
	}
}

// waitDumps waits for n message files in an smtp-sink dump directory.
func waitDumps(t *testing.T, dir string, n int) []string {
	t.Helper()
	var files []string
	// smtp-sink creates a dump file when the transaction starts and fills
	// it as it goes: an empty one is not a message yet.
	waitFor(t, deliverTimeout, fmt.Sprintf("%d messages at smtp-sink", n), func() bool {
		files = listFiles(t, dir)
		for _, f := range files {
			if st, err := os.Stat(f); err != nil || st.Size() == 0 {
				return false
			}
		}
		return len(files) >= n
	})
	return readAll(t, files)
}

// Remote delivery by MX: the test's DNS server says the best MX for
// far.example is 127.0.0.2, which is down, and the next 127.0.0.3, where
// smtp-sink runs. Two recipients of far.example go in one transaction; a
// recipient the sink refuses with 5xx bounces to the local sender.
func TestRemoteDeliveryByMX(t *testing.T) {
	port := freePortOn(t, "127.0.0.2", "127.0.0.3")
	dump := startSink(t, fmt.Sprintf("127.0.0.3:%d", port))
	dns := dnstest.Start(t, `
far.example. 300 IN MX 10 mx1.far.example.
far.example. 300 IN MX 20 mx2.far.example.
mx1.far.example. 300 IN A 127.0.0.2
mx2.far.example. 300 IN A 127.0.0.3
`)
	s := NewServer(t, Options{Env: []string{"GOQMAIL_DNS=" + dns.Addr, fmt.Sprintf("GOQMAIL_REMOTEPORT=%d", port)},
		Control: map[string]string{"timeoutconnect": "2\n"}})
	body := "Subject: to far away\n\n.leading dot\nlone\rCR\nend"
	sendmailAs(t, s, "demo@example.test", []string{"a@far.example", "b@far.example"}, body)
	s.WaitLog(`send: end msg`, 1, deliverTimeout)
	msgs := waitDumps(t, dump, 1)
	m := msgs[0]
	if !strings.Contains(m, "a@far.example") || !strings.Contains(m, "b@far.example") {
		t.Errorf("both recipients should be in one transaction:\n%s", m)
	}
	if !strings.Contains(m, "\n.leading dot\n") || !strings.Contains(m, "Subject: to far away") {
		t.Errorf("content changed on the way:\n%q", m)
	}
	if n := len(s.WaitLog(`remote|send: delivery \d+: success: [ab]@far\.example`, 2, deliverTimeout)); n < 2 {
		t.Errorf("successes logged: %d", n)
	}
	if len(s.MaildirNew()) != 0 {
		t.Errorf("a bounce for a delivered message")
	}
}

// smtproutes sends a domain to a relay; a 5xx from it bounces, a 4xx is
// retried (the queue keeps the message).
func TestRemoteRoutesAndFailures(t *testing.T) {
	port := freePortOn(t, "127.0.0.1")
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	startSink(t, addr, "-B", "550 5.1.1 no such user here", "-f", "rcpt")
	s := NewServer(t, Options{Control: map[string]string{"smtproutes": fmt.Sprintf("routed.example:127.0.0.1:%d\n", port)}})
	sendmailAs(t, s, "demo@example.test", []string{"x@routed.example"}, "Subject: routed\n\nhi\n")
	files := s.WaitMaildir(1, deliverTimeout)
	b := readAll(t, files)[0]
	for _, want := range []string{"failure notice", "<x@routed.example>:", "550 5.1.1", "Status: 5.1.1", "Diagnostic-Code: smtp; 550 5.1.1"} {
		if !strings.Contains(b, want) {
			t.Errorf("bounce lacks %q:\n%s", want, b)
		}
	}
	waitFor(t, deliverTimeout, "queue empty", func() bool { return len(s.QueueMessages()) == 0 })
}

// Python's aiosmtpd as an independent peer writing a Maildir: what arrives
// (read back with mblaze) is the message as queued, every line intact.
func TestRemoteToAiosmtpdMaildir(t *testing.T) {
	const python = "/usr/bin/python3" // Debian's, which has python3-aiosmtpd
	if out, err := exec.Command(python, "-c", "import aiosmtpd").CombinedOutput(); err != nil {
		t.Fatalf("aiosmtpd missing (apt-get install python3-aiosmtpd): %v\n%s", err, out)
	}
	port := freePortOn(t, "127.0.0.1")
	maildir := filepath.Join(t.TempDir(), "Maildir")
	cmd := exec.Command(python, "-m", "aiosmtpd", "-n", "-l", fmt.Sprintf("127.0.0.1:%d", port),
		"-c", "aiosmtpd.handlers.Mailbox", maildir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitFor(t, 10*time.Second, "aiosmtpd listening", func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	s := NewServer(t, Options{Control: map[string]string{"smtproutes": fmt.Sprintf("py.example:127.0.0.1:%d\n", port)}})
	body := "first line\n.starts with a dot\n..two dots\n.\nafter a lone dot\nlast line\n"
	sendmailAs(t, s, "demo@example.test", []string{"one@py.example", "two@py.example"},
		"Subject: to aiosmtpd\nMessage-ID: <aiosmtpd-test@example.test>\n\n"+body)
	var files []string
	waitFor(t, deliverTimeout, "a message in aiosmtpd's Maildir", func() bool {
		files = listFiles(t, filepath.Join(maildir, "new"))
		return len(files) >= 1
	})
	s.WaitLog(`send: end msg`, 1, deliverTimeout)
	if len(files) != 1 {
		t.Errorf("aiosmtpd got %d messages, want one transaction for both recipients", len(files))
	}
	got := mblaze(t, nil, "mshow", "-N", "-h", "", files[0])
	if !strings.Contains(got, body) {
		t.Errorf("body changed on the way; mshow shows:\n%q\nwant it to contain\n%q", got, body)
	}
	if subj := mblaze(t, nil, "mhdr", "-h", "subject", files[0]); strings.TrimSpace(subj) != "to aiosmtpd" {
		t.Errorf("subject %q", subj)
	}
	raw := readAll(t, files)[0]
	if !strings.Contains(raw, "X-RcptTo: one@py.example, two@py.example") {
		t.Errorf("recipients as aiosmtpd saw them:\n%s", raw)
	}
}
