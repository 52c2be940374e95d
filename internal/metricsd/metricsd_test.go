package metricsd

import (
	"io"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"goqmail/internal/logline"
	"goqmail/internal/metrics"
)

func snap(prog string, series ...metrics.Series) []byte {
	return metrics.Encode(metrics.Snapshot{Program: prog, Series: series}, nil)
}

func accepted(n uint64) metrics.Series {
	return metrics.Series{Family: metrics.SMTPAccepted, Labels: []string{"smtp"}, Value: metrics.Value{Count: n}}
}

func allUIDs(uid int) map[string]int {
	m := map[string]int{}
	for _, p := range metrics.ProgramNames {
		m[p] = uid
	}
	return m
}

// TestRestartKeepsCounts: a program's new process starts again from 0;
// the total goes on from what the old one reported. Gauges are the
// running process's only.
func TestRestartKeepsCounts(t *testing.T) {
	st := NewState(allUIDs(100))
	now := time.Now()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.Apply(100, 1, snap("smtpd", accepted(3)), now))
	must(st.Apply(100, 1, snap("smtpd", accepted(5)), now))
	must(st.Apply(100, 2, snap("smtpd", accepted(1)), now)) // restarted
	if v := st.Value(metrics.SMTPAccepted, []string{"smtp"}); v.Count != 6 {
		t.Errorf("accepted = %d, want 5 + 1", v.Count)
	}
	q := metrics.Series{Family: metrics.QueueMessages, Value: metrics.Value{Gauge: 4}}
	must(st.Apply(100, 7, snap("send", q), now))
	must(st.Apply(100, 8, snap("send"), now))
	if v := st.Value(metrics.QueueMessages, nil); v.Gauge != 0 {
		t.Errorf("queue gauge %v after send restarted without reporting it, want 0", v.Gauge)
	}
}

// TestApplyRefuses: another uid, totals that go backwards, a series that
// vanishes; each counted by reason, and the totals untouched.
func TestApplyRefuses(t *testing.T) {
	uids := allUIDs(100)
	uids["smtpd"] = 101
	st := NewState(uids)
	now := time.Now()
	if err := st.Apply(100, 1, snap("smtpd", accepted(9)), now); err == nil {
		t.Error("send's uid passed for smtpd")
	}
	if err := st.Apply(101, 1, snap("smtpd", accepted(5)), now); err != nil {
		t.Fatal(err)
	}
	if err := st.Apply(101, 1, snap("smtpd", accepted(4)), now); err == nil {
		t.Error("a counter that went backwards was taken")
	}
	if err := st.Apply(101, 1, snap("smtpd"), now); err == nil {
		t.Error("a series that vanished was taken")
	}
	if err := st.Apply(101, 1, []byte("garbage"), now); err == nil {
		t.Error("garbage was taken")
	}
	if v := st.Value(metrics.SMTPAccepted, []string{"smtp"}); v.Count != 5 {
		t.Errorf("accepted = %d, want 5", v.Count)
	}
	if st.refused["uid"] != 1 || st.refused["backwards"] != 2 || st.refused["decode"] != 1 {
		t.Errorf("refusals %v", st.refused)
	}
}

// TestEndToEnd: a client's snapshot over a real datagram socket with
// SO_PASSCRED, scraped through the HTTP handler in Prometheus's format.
func TestEndToEnd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metrics.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	st := NewState(allUIDs(os.Getuid()))
	log := logline.NewTo(io.Discard, "metrics")
	if err := PassCred(conn); err != nil { // as the supervisor does, before anyone sends
		t.Fatal(err)
	}
	go Receive(conn, st, log)
	c := metrics.New(metrics.FromSMTPD, path)
	c.Add(metrics.SMTPAccepted, 3, "submission")
	c.Inc(metrics.AuthAttempts, "smtp", "failure")
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(Handler(st, log))
	defer srv.Close()
	want := []string{
		`goqmail_smtp_messages_accepted_total{service="submission"} 3`,
		`goqmail_smtp_messages_accepted_total{service="smtp"} 0`,
		`goqmail_auth_attempts_total{result="failure",service="smtp"} 1`,
		`goqmail_metrics_snapshots_total{program="smtpd"} 1`,
		`goqmail_delivery_delay_seconds_bucket{kind="local",le="+Inf"} 0`,
		`# TYPE goqmail_queue_commit_duration_seconds histogram`,
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := srv.Client().Get(srv.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var missing []string
		for _, w := range want {
			if !strings.Contains(string(b), w+"\n") {
				missing = append(missing, w)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("scrape lacks %q; refusals %v", missing, st.refused)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
