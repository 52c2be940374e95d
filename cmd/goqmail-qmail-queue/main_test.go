package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"goqmail/internal/proto"
	"goqmail/internal/qmailqueue"
	"goqmail/internal/submit/submittest"
)

// setup makes ROOT/run/submit.sock with a fake queue answering answer.
func setup(t *testing.T, answer proto.Result) (string, *submittest.Queue) {
	t.Helper()
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "run"), 0o755); err != nil {
		t.Fatal(err)
	}
	return root, submittest.Start(t, filepath.Join(root, "run", "submit.sock"), answer)
}

func envelope(sender string, rcpts ...string) io.Reader {
	return strings.NewReader(string(qmailqueue.AppendEnvelope(nil, sender, rcpts)))
}

// TestQueuesMessage: the message of descriptor 0 and the envelope of
// descriptor 1 reach the queue as they are, and a caller that reads
// descriptor 6 learns the queue id.
func TestQueuesMessage(t *testing.T) {
	root, q := setup(t, proto.Result{OK: true, ID: "18ebb2eb4a47baed"})
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	msg := "X-Filtered: yes\nSubject: hi\n\nbody\n"
	code := queuer{root: root, network: true, report: w}.run(strings.NewReader(msg), envelope("a@example.com", "b@example.org", "c@example.org"))
	w.Close()
	if code != 0 {
		t.Fatalf("exit %d, want 0", code)
	}
	got := q.Submissions()
	if len(got) != 1 || !got[0].Committed || got[0].Content != msg || got[0].Sender != "a@example.com" ||
		strings.Join(got[0].Rcpts, " ") != "b@example.org c@example.org" || !got[0].Network {
		t.Fatalf("queued %+v", got)
	}
	report, _ := io.ReadAll(r)
	if id := qmailqueue.ParseQueued(report); id != "18ebb2eb4a47baed" {
		t.Errorf("descriptor 6 said %q, want the queue id", report)
	}
}

// TestGivesUpWithoutEnvelopeEnd: an envelope without its last NUL (the
// caller gave up: smtpd refusing a message a filter already read) queues
// nothing.
func TestGivesUpWithoutEnvelopeEnd(t *testing.T) {
	root, q := setup(t, proto.Result{OK: true, ID: "18ebb2eb4a47baed"})
	code := queuer{root: root}.run(strings.NewReader("Subject: x\n\nbody\n"), strings.NewReader("Fa@example.com\x00Tb@example.org\x00"))
	if code != qmailqueue.ExitRead {
		t.Errorf("exit %d, want %d", code, qmailqueue.ExitRead)
	}
	if got := q.Submissions(); len(got) != 0 {
		t.Errorf("queued %+v", got)
	}
	if code := (queuer{root: root}).run(strings.NewReader("x\n"), strings.NewReader("Ta@b\x00\x00")); code != qmailqueue.ExitEnvelope {
		t.Errorf("malformed envelope: exit %d, want %d", code, qmailqueue.ExitEnvelope)
	}
}

// TestRefusals: the queue's refusal becomes qmail-queue's exit code, or
// exit 82 with the queue's own text when descriptor 6 is read.
func TestRefusals(t *testing.T) {
	for _, c := range []struct {
		answer proto.Result
		exit   int
		custom string
	}{
		{proto.Result{Text: "message too big (#5.3.4)"}, qmailqueue.ExitRefused, "Dmessage too big (#5.3.4)"},
		{proto.Result{Temporary: true, Text: "queue busy (#4.3.0)"}, qmailqueue.ExitTempRefused, "Zqueue busy (#4.3.0)"},
		{proto.Result{Temporary: true, Text: "disk full (#4.3.1)"}, qmailqueue.ExitWrite, "Zdisk full (#4.3.1)"},
	} {
		root, _ := setup(t, c.answer)
		if code := (queuer{root: root}).run(strings.NewReader("x\n"), envelope("a@b", "c@d")); code != c.exit {
			t.Errorf("%q without descriptor 6: exit %d, want %d", c.answer.Text, code, c.exit)
		}
		r, w, _ := os.Pipe()
		code := queuer{root: root, report: w}.run(strings.NewReader("x\n"), envelope("a@b", "c@d"))
		w.Close()
		b, _ := io.ReadAll(r)
		if code != qmailqueue.ExitCustom || strings.TrimSpace(string(b)) != c.custom {
			t.Errorf("%q with descriptor 6: exit %d and %q, want 82 and %q", c.answer.Text, code, b, c.custom)
		}
		o := qmailqueue.ExitOutcome(code, b)
		if o.Permanent == c.answer.Temporary {
			t.Errorf("%q: outcome %+v", c.answer.Text, o)
		}
	}
	// No queue at all.
	root := t.TempDir()
	if code := (queuer{root: root}).run(strings.NewReader("x\n"), envelope("a@b", "c@d")); code != qmailqueue.ExitQueue {
		t.Errorf("queue down: exit %d, want %d", code, qmailqueue.ExitQueue)
	}
}

func TestFindRoot(t *testing.T) {
	env := func(v string) func(string) string { return func(string) string { return v } }
	if r := findRoot(env("/srv/gq"), ""); r != "/srv/gq" {
		t.Errorf("from $GOQMAIL_ROOT: %q", r)
	}
	root := t.TempDir()
	for _, d := range []string{"bin", "control"} {
		os.Mkdir(filepath.Join(root, d), 0o755)
	}
	os.WriteFile(filepath.Join(root, "control", "me"), []byte("x\n"), 0o644)
	exe := filepath.Join(root, "bin", "qmail-queue")
	os.WriteFile(exe, nil, 0o755)
	if r := findRoot(env(""), exe); r != root {
		t.Errorf("from the executable: %q, want %q", r, root)
	}
	if r := findRoot(env(""), filepath.Join(t.TempDir(), "qmail-queue")); r != "/var/goqmail" {
		t.Errorf("default: %q", r)
	}
}
