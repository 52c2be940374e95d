package logsum

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"testing"
	"time"

	"goqmail/internal/logparse"
)

var update = flag.Bool("update", false, "rewrite testdata/*.summary")

func summarise(t *testing.T, path string) *Summary {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := New()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		s.Add(logparse.Parse(sc.Text()))
	}
	return s
}

// The golden excerpt tells a known story: two messages in by SMTP (one
// with a local recipient delivered after 1 s and a remote one refused for
// good, so one bounce, whose delivery is deferred), three refusals, a
// second message delivered after 3 s, and a result whose start came
// before the log.
func TestSummaryCountsTheStory(t *testing.T) {
	s := summarise(t, "testdata/story.log")
	for _, c := range []struct {
		what      string
		got, want int
	}{
		{"lines", s.Lines, 34}, {"not goqmail's", s.Foreign, 1},
		{"messages in", s.In(), 2}, {"by SMTP", s.SMTP, 2}, {"bounces", s.Bounces(), 1},
		{"refused", s.Refused, 3}, {"delivered", s.Delivered, 3}, {"local", s.DeliveredLocal, 2},
		{"remote", s.DeliveredRemote, 0}, {"failed", s.Failed, 1}, {"deferred", s.Deferred, 1},
		{"warnings", s.Warnings, 1}, {"alerts", s.Alerts, 0},
		{"delays", len(s.delays), 2}, {"delivery times", len(s.xdelays), 2},
	} {
		if c.got != c.want {
			t.Errorf("%s: %d, want %d", c.what, c.got, c.want)
		}
	}
	if s.domFailed["far.example"] != 1 || s.domDeferred["example.org"] != 1 || s.domains["example.test"] != 2 {
		t.Errorf("domains: delivered %v deferred %v failed %v", s.domains, s.domDeferred, s.domFailed)
	}
	var out bytes.Buffer
	s.Write(&out, 5)
	const golden = "testdata/story.summary"
	if *update {
		os.WriteFile(golden, out.Bytes(), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != string(want) {
		t.Errorf("summary differs from %s (go test -update to accept):\n%s", golden, out.String())
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Second)
	}
	for p, want := range map[float64]time.Duration{50: 50 * time.Second, 90: 90 * time.Second, 99: 99 * time.Second, 100: 100 * time.Second} {
		if got := Percentile(d, p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if got := Percentile(d[:1], 99); got != time.Second {
		t.Errorf("one value: %v", got)
	}
	if Percentile(nil, 50) != 0 {
		t.Error("no values")
	}
}
