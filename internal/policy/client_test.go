package policy

import (
	"net/netip"
	"testing"

	"goqmail/internal/control"
)

// The golden table of the client checks: facts and configuration in, the
// exact reply out ("" passes).
func TestCheckClientTable(t *testing.T) {
	ip := netip.MustParseAddr("192.0.2.7")
	bad := control.NewDomainSet([]string{"localhost", ".dyn.example"})
	cfg := ClientConfig{BadHelo: bad, Threshold: 1}
	heavy := ClientConfig{BadHelo: bad, Threshold: 3}
	rdns1 := ClientConfig{RequireRDNS: 1, Threshold: 1}
	rdns2 := ClientConfig{RequireRDNS: 2, Threshold: 1}
	zen := Listing{Zone: "zen.example", Weight: 1}
	zenText := Listing{Zone: "zen.example", Weight: 1, Text: "listed; see https://zen.example/q?ip=192.0.2.7"}
	big := Listing{Zone: "big.example", Weight: 2, Text: "big says no\r\nwith a line break"}
	for _, tc := range []struct {
		name string
		f    ClientFacts
		c    ClientConfig
		want string
	}{
		{"clean client", ClientFacts{IP: ip, Helo: "mx.example.org"}, cfg, ""},
		{"listed once", ClientFacts{IP: ip, Listings: []Listing{zen}}, cfg, "554 5.7.1 your address [192.0.2.7] is listed at zen.example"},
		{"listed with the zone's text", ClientFacts{IP: ip, Listings: []Listing{zenText}}, cfg, "554 5.7.1 listed; see https://zen.example/q?ip=192.0.2.7"},
		{"below the threshold", ClientFacts{IP: ip, Listings: []Listing{big}}, heavy, ""},
		{"weights add up; the heaviest zone speaks, made one line", ClientFacts{IP: ip, Listings: []Listing{zenText, big}}, heavy, "554 5.7.1 big says no  with a line break"},
		{"postmaster is reachable from a listed address", ClientFacts{IP: ip, Listings: []Listing{zen}, Postmaster: true}, cfg, ""},
		{"trusted clients are not judged", ClientFacts{IP: ip, Listings: []Listing{zen}, Helo: "localhost", Trusted: true}, cfg, ""},
		{"RBLSMTPD empty spares the client", ClientFacts{IP: ip, Listings: []Listing{zen}, RBLSMTPDSet: true}, cfg, ""},
		{"RBLSMTPD text refuses for now", ClientFacts{IP: ip, RBLSMTPDSet: true, RBLSMTPD: "go away for a while"}, cfg, "451 4.7.1 go away for a while"},
		{"RBLSMTPD -text refuses for good", ClientFacts{IP: ip, RBLSMTPDSet: true, RBLSMTPD: "-you are blocked"}, cfg, "553 5.7.1 you are blocked"},
		{"RBLSMTPD spares postmaster too", ClientFacts{IP: ip, RBLSMTPDSet: true, RBLSMTPD: "-x", Postmaster: true}, cfg, ""},
		{"dnswl spares the client", ClientFacts{IP: ip, Listings: []Listing{zen}, Helo: "localhost", Allowlisted: "wl.example"}, cfg, ""},
		{"badhelo exact", ClientFacts{IP: ip, Helo: "LocalHost"}, cfg, "550 5.7.1 sorry, your HELO/EHLO name is in my badhelo list; use your own fully qualified name"},
		{"badhelo suffix", ClientFacts{IP: ip, Helo: "x-1.dyn.example"}, cfg, "550 5.7.1 sorry, your HELO/EHLO name is in my badhelo list; use your own fully qualified name"},
		{"badhelo suffix is not its own domain", ClientFacts{IP: ip, Helo: "dyn.example"}, cfg, ""},
		{"no PTR, requirerdns 1", ClientFacts{IP: ip, RDNS: RDNSNone}, rdns1, "550 5.7.25 your address [192.0.2.7] has no reverse DNS (PTR) name"},
		{"PTR not confirmed is enough for requirerdns 1", ClientFacts{IP: ip, RDNS: RDNSMismatch}, rdns1, ""},
		{"PTR not confirmed, requirerdns 2", ClientFacts{IP: ip, RDNS: RDNSMismatch}, rdns2, "550 5.7.25 no reverse DNS name of your address [192.0.2.7] resolves back to it"},
		{"reverse DNS failed: try later", ClientFacts{IP: ip, RDNS: RDNSTempFail}, rdns2, "451 4.7.25 cannot check the reverse DNS of your address now; try again later"},
		{"a permanent refusal wins over a failed lookup", ClientFacts{IP: ip, RDNS: RDNSTempFail, Listings: []Listing{zen}}, rdns2, "554 5.7.1 your address [192.0.2.7] is listed at zen.example"},
		{"requirerdns 0 ignores reverse DNS", ClientFacts{IP: ip, RDNS: RDNSNone}, cfg, ""},
		{"threshold 0 reads as 1", ClientFacts{IP: ip, Listings: []Listing{zen}}, ClientConfig{}, "554 5.7.1 your address [192.0.2.7] is listed at zen.example"},
	} {
		v := CheckClient(tc.f, tc.c)
		got := ""
		if v.Refused() {
			got = v.Reply.String()
			got = got[:len(got)-2]
			if v.Reason == "" {
				t.Errorf("%s: a refusal without a reason for the log", tc.name)
			}
		}
		if got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

func TestRoleAccount(t *testing.T) {
	for local, want := range map[string]bool{"postmaster": true, "PostMaster": true, "abuse": true, "ABUSE": true, "post": false, "abuser": false, "": false} {
		if RoleAccount(local) != want {
			t.Errorf("%q: %v", local, !want)
		}
	}
}

func TestCheckBadAddrs(t *testing.T) {
	from := control.NewAddrSet([]string{"spammer@example.com", "@spam.example"})
	to := control.NewAddrSet([]string{"former@example.org", "@closed.example.org"})
	for _, tc := range []struct{ sender, rcpt, want, reason string }{
		{"ok@example.com", "user@example.org", "", ""},
		{"Spammer@Example.COM", "user@example.org", "553 5.7.1 sorry, your envelope sender is in my badmailfrom list", "badmailfrom spammer@example.com"},
		{"x@spam.example", "postmaster@example.org", "553 5.7.1 sorry, your envelope sender is in my badmailfrom list", "badmailfrom @spam.example"},
		{"x@sub.spam.example", "user@example.org", "", ""},
		{"", "user@example.org", "", ""},
		{"ok@example.com", "former@example.org", "553 5.7.1 sorry, mail to that recipient is not accepted", "badrcptto former@example.org"},
		{"ok@example.com", "anyone@CLOSED.example.org", "553 5.7.1 sorry, mail to that recipient is not accepted", "badrcptto @closed.example.org"},
	} {
		v := CheckBadAddrs(tc.sender, tc.rcpt, from, to)
		got := ""
		if v.Refused() {
			got = v.Reply.String()
			got = got[:len(got)-2]
		}
		if got != tc.want || v.Reason != tc.reason {
			t.Errorf("<%s> to <%s>: %q (%s), want %q (%s)", tc.sender, tc.rcpt, got, v.Reason, tc.want, tc.reason)
		}
	}
	if v := CheckBadAddrs("a@b.example", "c@d.example", nil, nil); v.Refused() {
		t.Error("no lists refused")
	}
}
