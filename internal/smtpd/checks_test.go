package smtpd

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"goqmail/internal/logparse"
)

// Every refusal of a check is logged with its check and reason, in a line
// the log parser reads as a refusal (docs/logs.md), and DNS failures are
// logged as warnings. The scripts are the golden dialogs'.
func TestCheckRefusalsAreLogged(t *testing.T) {
	for _, tc := range []struct {
		script string
		want   []string // logparse reasons of the refusals, in order
		detail string   // in the first refusal's line
		warn   string   // a warning line that must be there
	}{
		{"dnsbl-listed", []string{"dnsbl: 554 5.7.1", "dnsbl: 554 5.7.1"}, "by dnsbl (dnsbl bl.example (1): 1 of dnsblthreshold 1)", ""},
		{"dnsbl-weights", []string{"dnsbl: 554 5.7.1"}, "dnsbl light.example (1), heavy.example (2): 3 of dnsblthreshold 3", ""},
		{"dnsbl-failure", nil, "", "dnsbl broken.example: no server answered: 127.0.0.1:"},
		{"dnsbl-failure", nil, "", "dnsbl silent.example: timed out (taken as not listed)"},
		{"badmailfrom", []string{"badmailfrom: 553 5.7.1", "badmailfrom: 553 5.7.1"}, "(badmailfrom spammer@example.com)", ""},
		{"badrcptto", []string{"badrcptto: 553 5.7.1", "badrcptto: 553 5.7.1"}, "(badrcptto former@example.org)", ""},
		{"badhelo", []string{"badhelo: 550 5.7.1"}, `(HELO "host-1-2-3-4.Dynamic.Example" is in badhelo)`, ""},
		{"rblsmtpd-block", []string{"rblsmtpd: 553 5.7.1"}, "(tcp.smtp sets RBLSMTPD)", ""},
		{"rdns-none", []string{"rdns: 550 5.7.25"}, "(no reverse DNS (requirerdns))", ""},
		{"rdns-tempfail", []string{"rdns: 451 4.7.25"}, "(reverse DNS lookup failed)", "reverse DNS: no server answered"},
		{"ratelimit-messages", []string{"ratelimit: 450 4.7.1", "ratelimit: 450 4.7.1"}, "(msgrateperip 2 per 1h0m0s)", ""},
		{"ratelimit-user", []string{"ratelimit: 450 4.7.1"}, "(rcptrateperuser 2 per 1h0m0s)", ""},
	} {
		t.Run(tc.script, func(t *testing.T) {
			file := filepath.Join("testdata", "dialogs", tc.script+".txt")
			steps, err := parseDialog(file)
			if err != nil {
				t.Fatal(err)
			}
			env := runDialog(t, file, steps)
			var got []string
			first, warned := "", false
			for _, line := range strings.Split(env.logs.String(), "\n") {
				l := logparse.Parse(line)
				if l.Prog != "smtpd" {
					continue
				}
				if (l.Kind == logparse.RefusedRcpt || l.Kind == logparse.RefusedSender) && strings.Contains(l.Text, " by ") {
					got = append(got, l.Reason)
					if first == "" {
						first = l.Text
					}
				}
				if tc.warn != "" && l.Kind == logparse.Warning && strings.Contains(l.Text, tc.warn) {
					warned = true
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("refusals logged %q, want %q\n%s", got, tc.want, env.logs)
			}
			if !strings.Contains(first, tc.detail) {
				t.Errorf("first refusal %q lacks %q", first, tc.detail)
			}
			if tc.warn != "" && !warned {
				t.Errorf("no warning with %q:\n%s", tc.warn, env.logs)
			}
		})
	}
}
