package smtpd

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"goqmail/internal/address"
	"goqmail/internal/control"
	"goqmail/internal/logline"
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

// Greylisting without a directory smtpd can keep its state in refuses
// goqmail-smtpd's configuration, naming the file and the fix; LoadConfig
// alone (sendmail -bs, as any user) does not look.
func TestGreylistingNeedsItsDirectory(t *testing.T) {
	root := t.TempDir()
	ctl := filepath.Join(root, "control")
	os.Mkdir(ctl, 0o755)
	os.WriteFile(filepath.Join(ctl, "me"), []byte("mail.example.org\n"), 0o644)
	os.WriteFile(filepath.Join(ctl, "greylistdelay"), []byte("300\n"), 0o644)
	cfg, _, err := LoadConfig(ctl)
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	err = CheckGreylistDir(cfg)
	if !errors.Is(err, control.ErrInvalid) || !strings.Contains(err.Error(), "control/greylistdelay: greylisting keeps its state in "+filepath.Join(root, "greylist")) ||
		!strings.Contains(err.Error(), "goqmail install") {
		t.Errorf("no directory: %v", err)
	}
	os.Mkdir(filepath.Join(root, "greylist"), 0o700)
	if err := CheckGreylistDir(cfg); err != nil {
		t.Errorf("with the directory: %v", err)
	}
	// Greylisting off: nothing to check.
	os.Remove(filepath.Join(root, "greylist"))
	cfg.Checks.Grey.Delay = 0
	if err := CheckGreylistDir(cfg); err != nil {
		t.Errorf("greylisting off: %v", err)
	}
}

// A state file smtpd cannot read leaves greylisting off: LoadGreylist
// says why, and recipients greylisting would decide get 451 4.3.0, never
// a pass.
func TestUnreadableGreylistStateDefers(t *testing.T) {
	env := dialogSetup(t, []dialogStep{{verb: "control", arg: "greylistdelay 300"}})
	os.WriteFile(filepath.Join(env.root, "greylist", "state"), []byte("not a greylist state\n"), 0o600)
	cfg, _, err := LoadConfig(env.control)
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Log: logline.NewTo(env.logs, "smtpd")}
	srv.SetConfig(cfg)
	if err := srv.LoadGreylist(); err == nil || !strings.Contains(err.Error(), "move it away") {
		t.Errorf("LoadGreylist of a foreign file: %v", err)
	}
	s := &session{srv: srv, cfg: cfg, remote: netip.MustParseAddrPort("192.0.2.1:1")}
	s.tx = &transaction{sender: "a@example.net", seen: map[string]bool{}}
	a, _, _ := address.ParsePath("<user@example.org>", address.Options{})
	if v := s.greylisted(a, false); v.Reply != replyGreyUnavailable {
		t.Errorf("greylisting without its state: %+v", v)
	}
}
