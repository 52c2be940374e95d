package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"goqmail/internal/proto"
	"goqmail/internal/submit/submittest"
	"goqmail/internal/vacation"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	q := submittest.Start(t, filepath.Join(dir, "submit.sock"), proto.Result{OK: true, ID: "77"})
	vdir := filepath.Join(dir, "vac")
	c := vacation.Config{On: true, Days: 7, Addresses: []string{"bob@example.com"}, Socket: q.Path, Body: "Away.\n"}
	if err := vacation.WriteConfig(vdir, c); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	deliver := func(sender, msg string) string {
		var out bytes.Buffer
		env := map[string]string{"SENDER": sender}
		if code := run([]string{vdir}, func(k string) string { return env[k] }, strings.NewReader(msg), &out, now); code != 0 {
			t.Fatalf("exit %d", code)
		}
		return out.String()
	}
	msg := "From: alice@example.org\nTo: bob@example.com\nSubject: lunch\nMessage-ID: <a1@example.org>\n\nhello\n"
	if out := deliver("alice@example.org", msg); !strings.Contains(out, "replied to alice@example.org qp 77") {
		t.Fatalf("first: %s", out)
	}
	if out := deliver("alice@example.org", msg); !strings.Contains(out, "answered within 7 days") {
		t.Fatalf("second: %s", out)
	}
	if out := deliver("list@example.org", "To: bob@example.com\nList-Id: <l.example.org>\n\nx\n"); !strings.Contains(out, "list or bulk") {
		t.Fatalf("list: %s", out)
	}
	subs := q.Submissions()
	if len(subs) != 1 || subs[0].Sender != "" || len(subs[0].Rcpts) != 1 || subs[0].Rcpts[0] != "alice@example.org" {
		t.Fatalf("submissions %+v", subs)
	}
	if !strings.Contains(subs[0].Content, "Auto-Submitted: auto-replied\n") || !strings.Contains(subs[0].Content, "Subject: Re: lunch\n") {
		t.Errorf("reply:\n%s", subs[0].Content)
	}
	// Failures say so and still exit 0 (never bounce the incoming mail).
	q.SetAnswer(proto.Result{Text: "refused"})
	if out := deliver("carol@example.org", msg); !strings.Contains(out, "queue refused the reply: refused") {
		t.Errorf("refused: %s", out)
	}
	var out bytes.Buffer
	if code := run([]string{filepath.Join(dir, "none")}, func(string) string { return "x@example.org" }, strings.NewReader(msg), &out, now); code != 0 || !strings.Contains(out.String(), "no settings") {
		t.Errorf("missing dir: %d %s", code, out.String())
	}
	if code := run(nil, func(string) string { return "" }, strings.NewReader(""), &out, now); code != 0 {
		t.Errorf("usage: exit %d", code)
	}
}
