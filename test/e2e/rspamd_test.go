package e2e

import (
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

// rspamdStart bounds rspamd's start: it compiles its TLD list and regular
// expressions first, 15 s of CPU here, more on a loaded machine.
const rspamdStart = 3 * time.Minute

// rspamd is Debian's rspamd, run by the test with a configuration of its
// own: only the milter proxy (self-scanning) on a loopback port, no
// modules that reach the network, its DNS pointed at a closed loopback
// port, and one rule of the test's (rules.lua) that gives two verdicts on
// demand: "add header" for a Subject with TAG-ME and "quarantine" for one
// with QUARANTINE-ME. GTUBE is rspamd's own (a reject).
type rspamd struct {
	t    *testing.T
	dir  string
	Port int
	cmd  *exec.Cmd
	done chan struct{}
}

const rspamdRules = `
rspamd_config:register_symbol({
  name = 'GOQMAIL_TEST',
  score = 0.0,
  callback = function(task)
    local subj = task:get_subject() or ''
    if subj:find('QUARANTINE%-ME') then
      task:set_pre_result('quarantine', 'goqmail test quarantine')
      return true
    end
    if subj:find('TAG%-ME') then
      task:set_pre_result('add header', 'goqmail test tag')
      return true
    end
  end
})
`

func startRspamd(t *testing.T) *rspamd {
	t.Helper()
	requireTool(t, "rspamd")
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r := &rspamd{t: t, dir: dir, Port: freePort(t), done: make(chan struct{})}
	conf := fmt.Sprintf(`lua = "%[1]s/rules.lua";
options {
  pidfile = "%[1]s/rspamd.pid";
  hs_cache_dir = "%[1]s/db";
  dns {
    nameserver = ["127.0.0.1:%[2]d"];
    timeout = 1s;
    retransmits = 1;
  }
}
logging {
  type = "file";
  filename = "%[1]s/rspamd.log";
  level = "info";
}
actions {
  reject = 15;
  quarantine = 12;
  add_header = 6;
}
worker "rspamd_proxy" {
  bind_socket = "127.0.0.1:%[3]d";
  milter = yes;
  timeout = 60s;
  count = 1;
  upstream "local" {
    default = yes;
    self_scan = yes;
  }
}
`, dir, freePort(t), r.Port)
	files := map[string]string{"rspamd.conf": conf, "rules.lua": rspamdRules}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o755); err != nil {
		t.Fatal(err)
	}
	args := []string{"-f", "-c", filepath.Join(dir, "rspamd.conf"), "--var", "DBDIR=" + dir + "/db", "--var", "RUNDIR=" + dir, "--var", "LOGDIR=" + dir}
	if asRoot {
		// rspamd refuses to run its workers as root: Debian's account.
		uid, gid := lookupIDs(t, "_rspamd")
		for _, p := range []string{dir, filepath.Join(dir, "db")} {
			if err := os.Chown(p, uid, gid); err != nil {
				t.Fatal(err)
			}
		}
		args = append(args, "-u", "_rspamd", "-g", "_rspamd")
	}
	out, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	r.cmd = exec.Command("rspamd", args...)
	r.cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "TMPDIR=" + dir}
	r.cmd.Stdout, r.cmd.Stderr = out, out
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.cmd.Wait(); out.Close(); close(r.done) }()
	t.Cleanup(func() {
		r.Stop()
		if t.Failed() {
			t.Logf("rspamd log:\n%s", r.log())
		}
	})
	deadline := time.Now().Add(rspamdStart)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(r.Port), time.Second)
		if err == nil {
			c.Close()
			return r
		}
		select {
		case <-r.done:
			t.Fatalf("rspamd exited before it listened:\n%s", r.log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("rspamd did not listen on 127.0.0.1:%d within %v:\n%s", r.Port, rspamdStart, r.log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop ends rspamd and its workers (its process group) and waits for it.
func (r *rspamd) Stop() {
	select {
	case <-r.done:
		return
	default:
	}
	syscall.Kill(-r.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(20 * time.Second):
		syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
		<-r.done
	}
	// Its workers leave with the main process; make sure of the port.
	syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
}

func (r *rspamd) log() string {
	a, _ := os.ReadFile(filepath.Join(r.dir, "stderr"))
	b, _ := os.ReadFile(filepath.Join(r.dir, "rspamd.log"))
	return string(a) + string(b)
}

// gtube is the Generic Test for Unsolicited Bulk Email: every spam filter
// refuses it.
const gtube = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

// TestRspamdMilter: rspamd, connected over milter (control/milters),
// judges the mail smtpd receives: the GTUBE message is refused with
// rspamd's reply, a clean one is delivered, rspamd's "add header" verdict
// puts its header line on top of the message and "quarantine" sends the
// message to the Junk folder (the X-Goqmail-Junk line local delivery
// reads: delivery into .Junk is another engineer's part, not in this
// tree, so the test checks the line on the delivered message); and with
// rspamd stopped, MAIL gets 451, never a silent accept.
func TestRspamdMilter(t *testing.T) {
	rs := startRspamd(t)
	milter := fmt.Sprintf("inet:127.0.0.1:%d", rs.Port)
	s := NewServer(t, Options{Control: map[string]string{"milters": milter + " timeout=60\n"}})

	r := swaks(t, s, "--to", "demo@example.test", "--header", "Subject: gtube", "--body", gtube)
	if !strings.Contains(r.Out, "<** 554 5.7.1 Gtube pattern") {
		t.Fatalf("GTUBE was not refused by rspamd's verdict:\n%s", r.Out)
	}
	if got := s.WaitLog(`smtpd: \S+: milter `+milter+`: refused the message from <a@example.org>: 554 Gtube pattern`, 1, deliverTimeout); len(got) != 1 {
		t.Errorf("refusal lines %q", got)
	}

	clean := sendDemo(t, s, "a clean message")
	msg, _ := os.ReadFile(clean[0])
	if strings.Contains(string(msg), "X-Spam") || strings.Contains(string(msg), "X-Goqmail-Junk") {
		t.Errorf("the clean message was marked:\n%s", msg)
	}

	r = swaks(t, s, "--to", "demo@example.test", "--header", "Subject: TAG-ME")
	if r.Code != 0 || !acceptedAfterData.MatchString(r.Out) {
		t.Fatalf("swaks exited %d:\n%s", r.Code, r.Out)
	}
	files := s.WaitMaildir(2, deliverTimeout)
	tagged := ""
	for _, f := range files {
		if b, _ := os.ReadFile(f); strings.Contains(string(b), "Subject: TAG-ME") {
			tagged = string(b)
		}
	}
	if !strings.Contains(tagged, "\nX-Spam: Yes\nReceived: from unknown") {
		t.Errorf("rspamd's header line is not on top of the tagged message:\n%s", tagged)
	}

	r = swaks(t, s, "--to", "demo@example.test", "--header", "Subject: QUARANTINE-ME")
	if r.Code != 0 || !acceptedAfterData.MatchString(r.Out) {
		t.Fatalf("swaks exited %d:\n%s", r.Code, r.Out)
	}
	// Quarantine goes to the Junk folder (Maildir++ .Junk), not the inbox.
	junkNew := filepath.Join(s.Maildir(), ".Junk", "new")
	var junkFiles []string
	waitFor(t, deliverTimeout, "the quarantined message in Maildir/.Junk/new", func() bool {
		junkFiles, _ = filepath.Glob(filepath.Join(junkNew, "*"))
		return len(junkFiles) == 1
	})
	quarantined := ""
	if b, err := os.ReadFile(junkFiles[0]); err == nil && strings.Contains(string(b), "Subject: QUARANTINE-ME") {
		quarantined = string(b)
	}
	if !strings.Contains(quarantined, "\nX-Goqmail-Junk: milter "+milter+": Spam message quarantined\n") {
		t.Errorf("the quarantined message lacks the Junk line:\n%s", quarantined)
	}

	rs.Stop()
	r = swaks(t, s, "--to", "demo@example.test", "--header", "Subject: while rspamd is down")
	if !strings.Contains(r.Out, "<** 451 4.7.1 Service unavailable - try again later") || acceptedAfterData.MatchString(r.Out) {
		t.Fatalf("with rspamd stopped, want 451 at MAIL:\n%s", r.Out)
	}
	if got := s.WaitLog(`smtpd: warning: \S+: milter `+milter+` failed at connect: .*\(onfail=tempfail\)`, 1, deliverTimeout); len(got) != 1 {
		t.Errorf("failure lines %q", got)
	}
	if n := len(s.MaildirNew()); n != 2 {
		t.Errorf("%d messages in the inbox, want 2 (the quarantined one is in .Junk; nothing while rspamd was down)", n)
	}
}
