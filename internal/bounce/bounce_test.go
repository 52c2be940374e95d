package bounce

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fixedTokens returns a token source that yields toks in turn, then the
// last one forever, so outputs are stable.
func fixedTokens(toks ...string) func() string {
	i := 0
	return func() string {
		t := toks[min(i, len(toks)-1)]
		i++
		return t
	}
}

var (
	testNow     = time.Date(2024, 3, 5, 14, 7, 9, 0, time.FixedZone("", 3600))
	testArrival = time.Date(2024, 3, 5, 13, 59, 30, 0, time.FixedZone("", 3600))
)

const testOriginal = "Received: from unknown (HELO client) (127.0.0.1)\n" +
	"  by mail.example.test with ESMTP; Tue, 05 Mar 2024 13:59:30 +0100\n" +
	"From: Alice <alice@example.org>\n" +
	"To: nobody@example.test, bob@remote.example\n" +
	"Subject: hello\n" +
	"Message-ID: <1234@example.org>\n" +
	"\n" +
	"Hi Bob,\n" +
	"\n" +
	"-- \n" +
	"Alice\n"

func baseParams() Params {
	return Params{
		Now:           testNow,
		FromAddr:      "MAILER-DAEMON@mail.example.test",
		Host:          "mail.example.test",
		ReportingMTA:  "mail.example.test",
		QueueID:       "18ebb2eb4a47baed",
		Arrival:       testArrival,
		To:            "alice@example.org",
		OrigSender:    "alice@example.org",
		MessageIDHost: "mail.example.test",
		Failures: []Failure{
			{Rcpt: "nobody@example.test", Text: "Sorry, no mailbox here by that name. (#5.1.1)/"},
			{Rcpt: "bob@remote.example", Remote: "192.0.2.1",
				Text: "192.0.2.1 does not like recipient./Remote host said: 550 5.1.1 <bob@remote.example>: Recipient address rejected: User unknown/Giving up on 192.0.2.1./"},
		},
	}
}

func doubleParams() Params {
	p := baseParams()
	p.To = "postmaster@mail.example.test"
	p.OrigSender = ""
	p.Double = true
	p.Failures = []Failure{{Rcpt: "alice@example.org", Remote: "mx.example.org",
		Text: "Connected to 198.51.100.7 but sender was rejected./Remote host said: 553 sorry, that domain isn't allowed to be relayed thru this MTA (#5.7.1)/"}}
	return p
}

func render(t testing.TB, p Params, original string) []byte {
	t.Helper()
	var out bytes.Buffer
	err := write(&out, p, strings.NewReader(original), int64(len(original)), fixedTokens("TESTTOKEN0000000000000000A"))
	if err != nil {
		t.Fatalf("write: %v", err)
	}
	return out.Bytes()
}

func TestGolden(t *testing.T) {
	tooBig := baseParams()
	tooBig.MaxOriginal = 100
	tests := []struct {
		name     string
		p        Params
		original string
	}{
		{"normal", baseParams(), testOriginal},
		{"double", doubleParams(), testOriginal},
		{"toobig", tooBig, testOriginal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := render(t, tt.p, tt.original)
			path := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s:\n%s", path, got)
			}
		})
	}
}
