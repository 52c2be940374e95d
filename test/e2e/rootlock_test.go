package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// smtpClient is a raw SMTP session for tests that need to stop in the
// middle of DATA.
type smtpClient struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialSMTP(t *testing.T, addr string) *smtpClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(clientTimeout))
	sc := &smtpClient{t: t, c: c, br: bufio.NewReader(c)}
	if l := sc.reply(); !strings.HasPrefix(l, "220 ") {
		t.Fatalf("greeting %q", l)
	}
	return sc
}

// reply reads one (possibly multi-line) reply and returns its last line;
// "" when the connection broke.
func (sc *smtpClient) reply() string {
	for {
		l, err := sc.br.ReadString('\n')
		if err != nil {
			return ""
		}
		if len(l) < 4 || l[3] == ' ' {
			return l
		}
	}
}

// begin sends the envelope and DATA; every step must succeed.
func (sc *smtpClient) begin(from, rcpt string) {
	sc.t.Helper()
	for _, cmd := range []string{"EHLO client.example.org", "MAIL FROM:<" + from + ">", "RCPT TO:<" + rcpt + ">", "DATA"} {
		fmt.Fprintf(sc.c, "%s\r\n", cmd)
		if l := sc.reply(); len(l) == 0 || (l[0] != '2' && l[0] != '3') {
			sc.t.Fatalf("%s: %q", cmd, l)
		}
	}
}

// finish sends the rest of the message and the dot, and returns the reply
// ("" if the connection broke).
func (sc *smtpClient) finish(rest []byte) string {
	sc.c.Write(rest)
	sc.c.Write([]byte(".\r\n"))
	return sc.reply()
}

// bigMessage is a message of about size bytes whose body lines all carry
// tag, so a delivered copy can be checked line by line.
func bigMessage(tag string, size int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Subject: %s\r\n\r\n", tag)
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "%s line %06d %s\r\n", tag, i, strings.Repeat("x", 60))
	}
	return b.Bytes()
}

// Kill SIGKILLs goqmaild alone (not its programs) and waits for it.
func (s *Server) Kill() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		s.t.Fatalf("kill goqmaild: %v", err)
	}
	<-s.done
}

// TestSupervisorKilledAndRestartedLosesNothing is issue 10's item 1: a
// goqmaild killed with SIGKILL in the middle of a slow DATA and started
// again at once. The programs of the dead supervisor must not go on writing
// into the queue that the new one recovers: every message answered 250 is
// delivered exactly as sent, and nothing else is delivered.
func TestSupervisorKilledAndRestartedLosesNothing(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{})
	slowMsg := bigMessage("slow-one", 200<<10)
	half := bytes.IndexByte(slowMsg[100<<10:], '\n') + 100<<10 + 1

	slow := dialSMTP(t, s.Addr)
	slow.begin("slow@example.org", "demo@example.test")
	slow.c.Write(slowMsg[:half])
	time.Sleep(300 * time.Millisecond) // the queue has the first half in tmp/

	old := s.pidFiles()
	s.Kill()
	s.Start()
	// The dead supervisor's programs died with it (SIGKILL on parent
	// death); none of them works beside the new ones.
	for svc, pid := range old {
		if p, err := readProc(pid); err == nil && p.alive() && p.PPid != s.Pid() {
			t.Errorf("%s (pid %d) of the killed goqmaild is still running", svc, pid)
		}
	}

	sent := map[string][]byte{}
	fast := dialSMTP(t, s.Addr)
	fast.begin("fast@example.org", "demo@example.test")
	fastMsg := bigMessage("fast-one", 150<<10)
	if r := fast.finish(fastMsg); strings.HasPrefix(r, "250 ") {
		sent["fast-one"] = fastMsg
	} else {
		t.Errorf("the new server refused a message: %q", r)
	}
	if r := slow.finish(slowMsg[half:]); strings.HasPrefix(r, "250 ") {
		sent["slow-one"] = slowMsg
		t.Logf("the session of the killed server was answered %q", r)
	}

	files := s.WaitMaildir(len(sent), deliverTimeout)
	waitFor(t, deliverTimeout, "queue/msg to empty", func() bool { return len(s.QueueMessages()) == 0 })
	time.Sleep(500 * time.Millisecond) // a late, unwanted delivery would show now
	files = s.WaitMaildir(len(sent), deliverTimeout)
	for _, f := range files {
		got, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tag := ""
		for name := range sent {
			if bytes.Contains(got, []byte("Subject: "+name+"\n")) {
				tag = name
			}
		}
		if tag == "" {
			t.Errorf("%s is none of the acknowledged messages %v (%d bytes, starts %q)", f, keys(sent), len(got), head(got))
			continue
		}
		want := bytes.ReplaceAll(sent[tag], []byte("\r\n"), []byte("\n"))
		if !bytes.HasSuffix(got, want) {
			t.Errorf("%s: the delivered %s differs from what was sent (%d bytes delivered, %d sent)", f, tag, len(got), len(want))
		}
		delete(sent, tag)
	}
	if len(sent) > 0 {
		t.Errorf("acknowledged but not delivered: %v", keys(sent))
	}
}

// TestSecondSupervisorRefused is issue 10's item 2: a second goqmaild on
// the same root refuses at once, says which process holds the root, and
// leaves the running server untouched: its sockets, its pid file, local
// submission, and mail after one of its programs restarts.
func TestSecondSupervisorRefused(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{})
	pidFile := filepath.Join(s.Root, "run", "goqmaild.pid")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("no pid file: %v", err)
	}
	if strings.TrimSpace(string(b)) != strconv.Itoa(s.Pid()) {
		t.Fatalf("%s holds %q, goqmaild is %d", pidFile, b, s.Pid())
	}
	sock := filepath.Join(s.Root, "run", "submit.sock")
	before, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}

	r := runClient(t, nil, filepath.Join(binDir, "goqmaild"), s.Root)
	if r.Code == 0 {
		t.Fatalf("a second goqmaild on %s exited 0:\n%s", s.Root, r.Out)
	}
	if want := fmt.Sprintf("already running on %s (pid %d", s.Root, s.Pid()); !strings.Contains(r.Out, want) {
		t.Errorf("the second goqmaild said %q, want it to contain %q", r.Out, want)
	}
	after, err := os.Stat(sock)
	if err != nil || !os.SameFile(before, after) {
		t.Errorf("the second goqmaild replaced %s (%v)", sock, err)
	}
	if b2, _ := os.ReadFile(pidFile); string(b2) != string(b) {
		t.Errorf("the second goqmaild rewrote the pid file: %q, was %q", b2, b)
	}
	// Local submission goes through the socket the second one would have
	// replaced; smtpd, restarted, reaches the queue through it too.
	sendmailAs(t, s, "demo@example.test", []string{"demo@example.test"}, "Subject: after the second goqmaild\n\nlocal\n")
	s.WaitMaildir(1, deliverTimeout)
	smtpd := s.pidFiles()["smtpd"]
	syscall.Kill(smtpd, syscall.SIGKILL)
	waitFor(t, deliverTimeout, "smtpd to be restarted", func() bool {
		p := s.pidFiles()["smtpd"]
		return p != smtpd && p != 0
	})
	if r := swaks(t, s, "--to", "demo@example.test", "--header", "Subject: after smtpd restarted"); r.Code != 0 || !acceptedAfterData.MatchString(r.Out) {
		t.Fatalf("swaks after smtpd restarted: exit %d:\n%s", r.Code, r.Out)
	}
	s.WaitMaildir(2, deliverTimeout)
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func head(b []byte) []byte {
	if len(b) > 80 {
		return b[:80]
	}
	return b
}

// TestStopAnswersNewClients is issue 10's item 3: while goqmaild stops and
// a message is still being received, a client that connects is answered
// 421 at once (it used to sit in the listen backlog with no greeting), and
// once goqmaild has exited the port refuses connections.
func TestStopAnswersNewClients(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{})
	busy := dialSMTP(t, s.Addr)
	busy.begin("a@example.org", "demo@example.test")
	busy.c.Write([]byte("Subject: mid-data\r\n\r\nbefore SIGTERM\r\n"))
	s.Signal(syscall.SIGTERM)
	s.WaitLog(`goqmaild: status: terminated: stopping`, 1, deliverTimeout)
	time.Sleep(200 * time.Millisecond) // smtpd has the signal

	c, err := net.DialTimeout("tcp", s.Addr, 2*time.Second)
	if err != nil {
		t.Fatalf("connect during the stop: %v", err)
	}
	c.SetDeadline(time.Now().Add(3 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	c.Close()
	if !strings.HasPrefix(line, "421 4.3.2 ") {
		t.Errorf("a client connecting during the stop got %q (%v), want 421 4.3.2", line, err)
	}

	if r := busy.finish([]byte("after SIGTERM\r\n")); !strings.HasPrefix(r, "250 ") {
		t.Errorf("the message in DATA was answered %q, want 250", r)
	}
	fmt.Fprint(busy.c, "QUIT\r\n")
	select {
	case <-s.done:
	case <-time.After(stopTimeout):
		t.Fatalf("goqmaild did not stop within %v", stopTimeout)
	}
	if c, err := net.DialTimeout("tcp", s.Addr, 2*time.Second); err == nil {
		c.Close()
		t.Errorf("the SMTP port still accepts connections after goqmaild exited")
	}
}

// TestFullDiskAnswers452 is issue 10's item 3 on a real full disk: the
// queue on a 4 MB tmpfs. A SIZE that does not fit, or a disk below
// queueminfree, is refused at MAIL with 452 4.3.1 before the message is
// sent; a message that meets a full disk anyway gets 452 4.3.1 (not 451
// 4.3.0) at its end; and once there is room, mail flows again.
func TestFullDiskAnswers452(t *testing.T) {
	t.Parallel()
	needRoot(t, "mounts a small tmpfs for the queue")
	s := NewServer(t, Options{NoStart: true, Control: map[string]string{"queueminfree": "1048576\n"}})
	qdir := filepath.Join(s.Root, "queue")
	st, err := os.Stat(qdir)
	if err != nil {
		t.Fatal(err)
	}
	sys := st.Sys().(*syscall.Stat_t)
	opts := fmt.Sprintf("size=4m,mode=0750,uid=%d,gid=%d", sys.Uid, sys.Gid)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "goqmail-test", qdir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (%v): %s", err, out)
	}
	t.Cleanup(func() {
		if s.Running() {
			s.Stop()
		}
		exec.Command("umount", "-l", qdir).Run()
	})
	s.Start()

	mail := func(params string) string {
		c := dialSMTP(t, s.Addr)
		defer c.c.Close()
		fmt.Fprintf(c.c, "EHLO client.example.org\r\n")
		c.reply()
		fmt.Fprintf(c.c, "MAIL FROM:<a@example.org>%s\r\n", params)
		return c.reply()
	}
	if r := mail(" SIZE=3000000"); !strings.HasPrefix(r, "452 4.3.1 ") {
		t.Errorf("MAIL with a SIZE the disk cannot take: %q, want 452 4.3.1", r)
	}
	if r := mail(" SIZE=1000"); !strings.HasPrefix(r, "250 ") {
		t.Errorf("MAIL with a SIZE that fits: %q, want 250", r)
	}
	// Fill the disk up to about 600 KB free: below queueminfree.
	filler := filepath.Join(qdir, "filler")
	var fs syscall.Statfs_t
	syscall.Statfs(qdir, &fs)
	if err := os.WriteFile(filler, make([]byte, int64(fs.Bavail)*fs.Bsize-600<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := mail(""); !strings.HasPrefix(r, "452 4.3.1 ") {
		t.Errorf("MAIL below queueminfree: %q, want 452 4.3.1", r)
	}

	// Without the floor, a message larger than the space left meets the
	// full disk at its end.
	s.SetControl("queueminfree", "0\n")
	s.Signal(syscall.SIGHUP)
	s.WaitLog(`smtpd: status: configuration reloaded`, 1, deliverTimeout)
	c := dialSMTP(t, s.Addr)
	c.begin("a@example.org", "demo@example.test")
	if r := c.finish(bigMessage("too-big", 1<<20)); !strings.HasPrefix(r, "452 4.3.1 ") {
		t.Errorf("a message that met the full disk: %q, want 452 4.3.1", r)
	}

	os.Remove(filler)
	c = dialSMTP(t, s.Addr)
	c.begin("a@example.org", "demo@example.test")
	if r := c.finish(bigMessage("fits-now", 100<<10)); !strings.HasPrefix(r, "250 ") {
		t.Errorf("with room again: %q, want 250", r)
	}
	s.WaitMaildir(1, deliverTimeout)
}
