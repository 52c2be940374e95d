package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// scrape reads /metrics and returns every sample by its series as the
// text format writes it (name{labels}).
func scrape(t *testing.T, url string) (map[string]float64, []byte) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("scrape %s: %d %v", url, resp.StatusCode, err)
	}
	m := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("sample %q: %v", line, err)
		}
		m[line[:i]] = v
	}
	return m, body
}

// TestMetricsCountWhatWasSent: with control/metricslisten set, the
// endpoint passes `promtool check metrics`, goqmail-metrics runs under its
// own account, and the counters move by exactly what the test sent: 3
// messages accepted and delivered, 2 recipients refused (relaying
// denied), 1 message refused (DATA without a valid recipient). A stopped
// (SIGSTOP) goqmail-metrics holds up no mail, and once it runs again the
// totals are exact (snapshots are cumulative). Before this there was no
// endpoint at all.
func TestMetricsCountWhatWasSent(t *testing.T) {
	requireTool(t, "swaks")
	if _, err := exec.LookPath("promtool"); err != nil {
		t.Fatalf("promtool not found (%v): install the Debian package prometheus; .ci/run must install it", err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	s := NewServer(t, Options{Control: map[string]string{"metricslisten": addr + "\n"}})
	url := "http://" + addr + "/metrics"
	var base map[string]float64
	waitFor(t, startTimeout, "goqmail-metrics to answer with smtpd's first snapshot", func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		base, _ = scrape(t, url)
		return base[`goqmail_metrics_snapshots_total{program="smtpd"}`] > 0
	})
	if asRoot {
		pid := s.pidFiles()["metrics"]
		uid, _ := lookupIDs(t, "goqmailm")
		if got := procUID(t, pid); got != uid {
			t.Errorf("goqmail-metrics runs as uid %d, want goqmailm's %d", got, uid)
		}
	}

	for i := range 3 {
		r := swaks(t, s, "--to", "demo@example.test", "--header", fmt.Sprintf("Subject: metrics %d", i))
		if r.Code != 0 || !acceptedAfterData.MatchString(r.Out) {
			t.Fatalf("swaks exited %d, want 0 and a 250 after DATA:\n%s", r.Code, r.Out)
		}
	}
	for range 2 {
		r := swaks(t, s, "--to", "someone@elsewhere.example")
		if !strings.Contains(r.Out, "<** 553 ") {
			t.Fatalf("relaying not refused with 553:\n%s", r.Out)
		}
	}
	sc := dialSMTP(t, s.Addr)
	for _, step := range []struct{ cmd, want string }{{"EHLO client.example.org", "250 "},
		{"MAIL FROM:<a@example.org>", "250 "}, {"RCPT TO:<x@elsewhere.example>", "553 "}, {"DATA", "554 "}, {"QUIT", "221 "}} {
		fmt.Fprintf(sc.c, "%s\r\n", step.cmd)
		if l := sc.reply(); !strings.HasPrefix(l, step.want) {
			t.Fatalf("%s: %q, want %s", step.cmd, l, step.want)
		}
	}
	s.WaitMaildir(3, deliverTimeout)
	s.WaitLog(`send: end msg`, 3, deliverTimeout)

	want := map[string]float64{
		`goqmail_smtp_messages_accepted_total{service="smtp"}`:                     3,
		`goqmail_smtp_recipients_refused_total{reason="relaying_denied"}`:          3,
		`goqmail_smtp_messages_refused_total{reason="no_valid_recipients"}`:        1,
		`goqmail_deliveries_total{kind="local",result="success"}`:                  3,
		`goqmail_deliveries_total{kind="local",result="failure"}`:                  0,
		`goqmail_deliveries_total{kind="remote",result="success"}`:                 0,
		`goqmail_queue_messages_committed_total`:                                   3,
		`goqmail_queue_commit_duration_seconds_count`:                              3,
		`goqmail_delivery_delay_seconds_count{kind="local"}`:                       3,
		`goqmail_delivery_attempt_duration_seconds_bucket{kind="local",le="+Inf"}`: 3,
	}
	check := func(m map[string]float64) []string {
		var bad []string
		for k, d := range want {
			if got := m[k] - base[k]; got != d {
				bad = append(bad, fmt.Sprintf("%s moved by %v, want %v", k, got, d))
			}
		}
		if m["goqmail_queue_messages"] != 0 {
			bad = append(bad, fmt.Sprintf("goqmail_queue_messages %v, want 0", m["goqmail_queue_messages"]))
		}
		return bad
	}
	var bad []string
	var body []byte
	deadline := time.Now().Add(deliverTimeout)
	for {
		var m map[string]float64
		m, body = scrape(t, url)
		if bad = check(m); len(bad) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the counters did not move by what was sent: %s", strings.Join(bad, "; "))
		}
		time.Sleep(50 * time.Millisecond)
	}
	lint := exec.Command("promtool", "check", "metrics")
	lint.Stdin = bytes.NewReader(body)
	if out, err := lint.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}

	// A stopped goqmail-metrics: mail goes on; afterwards the totals are exact.
	pid := s.pidFiles()["metrics"]
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := true
	defer func() {
		if stopped {
			syscall.Kill(pid, syscall.SIGCONT)
		}
	}()
	for i := range 2 {
		r := swaks(t, s, "--to", "demo@example.test", "--header", fmt.Sprintf("Subject: metrics stopped %d", i))
		if r.Code != 0 || !acceptedAfterData.MatchString(r.Out) {
			t.Fatalf("with goqmail-metrics stopped, swaks exited %d:\n%s", r.Code, r.Out)
		}
	}
	s.WaitMaildir(5, deliverTimeout)
	syscall.Kill(pid, syscall.SIGCONT)
	stopped = false
	for _, k := range []string{`goqmail_smtp_messages_accepted_total{service="smtp"}`, `goqmail_deliveries_total{kind="local",result="success"}`,
		`goqmail_queue_messages_committed_total`, `goqmail_queue_commit_duration_seconds_count`, `goqmail_delivery_delay_seconds_count{kind="local"}`,
		`goqmail_delivery_attempt_duration_seconds_bucket{kind="local",le="+Inf"}`} {
		want[k] += 2
	}
	deadline = time.Now().Add(2 * heartbeatWait)
	for {
		m, _ := scrape(t, url)
		if bad = check(m); len(bad) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after goqmail-metrics ran again: %s", strings.Join(bad, "; "))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestMetricsDocRulesValid: the alert rules in docs/metrics.md pass
// `promtool check rules`.
func TestMetricsDocRulesValid(t *testing.T) {
	if _, err := exec.LookPath("promtool"); err != nil {
		t.Fatalf("promtool not found (%v): install the Debian package prometheus; .ci/run must install it", err)
	}
	b, err := os.ReadFile("../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "```yaml\n")
	rules, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("docs/metrics.md has no ```yaml block of alert rules")
	}
	path := filepath.Join(t.TempDir(), "rules.yml")
	os.WriteFile(path, []byte(rules), 0o644)
	if out, err := exec.Command("promtool", "check", "rules", path).CombinedOutput(); err != nil {
		t.Errorf("promtool check rules on docs/metrics.md's rules: %v\n%s", err, out)
	}
}

// heartbeatWait covers internal/metrics' heartbeat: a program whose
// snapshots were dropped sends again within it.
const heartbeatWait = 20 * time.Second

// procUID is the real uid of a process.
func procUID(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "Uid:" {
			uid, _ := strconv.Atoi(f[1])
			return uid
		}
	}
	t.Fatalf("no Uid in /proc/%d/status", pid)
	return -1
}
