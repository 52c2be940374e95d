package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"goqmail/internal/accounts"
	"goqmail/internal/route/dnstest"
)

// blocklistZone lists 127.0.0.2 in bl.example (and allowlists 127.0.0.4,
// which bl.example lists too), as a hermetic DNS server on loopback.
const blocklistZone = `
bl.example.            300 IN SOA ns.bl.example. admin.bl.example. 1 3600 600 86400 60
2.0.0.127.bl.example.  300 IN A   127.0.0.2
2.0.0.127.bl.example.  300 IN TXT "127.0.0.2 is listed at bl.example; see https://bl.example/127.0.0.2"
4.0.0.127.bl.example.  300 IN A   127.0.0.2
wl.example.            300 IN SOA ns.wl.example. admin.wl.example. 1 3600 600 86400 60
4.0.0.127.wl.example.  300 IN A   127.0.10.2
`

// swaks from addresses that the test blocklist lists and does not list:
// the listed one is refused at RCPT with the zone's text, logged with the
// reason, and can still reach postmaster, whose mail is delivered; the
// unlisted one and the allowlisted one are served.
func TestBlocklistFromListedAndUnlistedAddresses(t *testing.T) {
	dns := dnstest.Start(t, blocklistZone)
	s := NewServer(t, Options{Env: []string{"GOQMAIL_DNS=" + dns.Addr},
		Control: map[string]string{"dnsbl": "bl.example\n", "dnswl": "wl.example\n"}})

	r := swaks(t, s, "--local-interface", "127.0.0.2", "--to", "demo@example.test")
	if r.Code == 0 || !strings.Contains(r.Out, "554 5.7.1 127.0.0.2 is listed at bl.example; see https://bl.example/127.0.0.2") {
		t.Errorf("listed 127.0.0.2: exit %d, want a 554 5.7.1 with the zone's text at RCPT:\n%s", r.Code, r.Out)
	}
	if strings.Contains(r.Out, "<** 554") && !strings.Contains(r.Out, "RCPT TO") {
		t.Errorf("refused before RCPT:\n%s", r.Out)
	}
	s.WaitLog(`smtpd: 127\.0\.0\.2:\d+: refused rcpt <demo@example\.test> from <a@example\.org> by dnsbl \(dnsbl bl\.example \(1\): 1 of dnsblthreshold 1\): 554 5\.7\.1 `, 1, deliverTimeout)

	r = swaks(t, s, "--local-interface", "127.0.0.2", "--to", "postmaster@example.test", "--header", "Subject: why am I listed")
	if r.Code != 0 || !acceptedAfterData.MatchString(r.Out) {
		t.Fatalf("listed 127.0.0.2 to postmaster: exit %d, want accepted:\n%s", r.Code, r.Out)
	}
	// postmaster is the demo user in `goqmail init`'s directory.
	files := s.WaitMaildir(1, deliverTimeout)
	if b, err := os.ReadFile(files[0]); err != nil || !strings.Contains(string(b), "Subject: why am I listed") {
		t.Errorf("postmaster's message: %v\n%s", err, b)
	}

	for _, from := range []string{"127.0.0.3", "127.0.0.4"} {
		r = swaks(t, s, "--local-interface", from, "--to", "demo@example.test")
		if r.Code != 0 || !acceptedAfterData.MatchString(r.Out) {
			t.Errorf("%s (unlisted, or allowlisted): exit %d, want accepted:\n%s", from, r.Code, r.Out)
		}
	}
	s.WaitMaildir(3, deliverTimeout)
}

// Greylisting's state survives a restart: the first attempt is deferred,
// goqmaild is stopped and started again, and the retry after
// greylistdelay passes, which it would not if the triplet had been
// forgotten (a forgotten triplet starts over with a 451). As root the
// state file belongs to smtpd's account and nobody else may read it.
func TestGreylistStateSurvivesRestart(t *testing.T) {
	s := NewServer(t, Options{Control: map[string]string{"greylistdelay": "1\n"}})
	r := swaks(t, s, "--to", "demo@example.test")
	if r.Code == 0 || !strings.Contains(r.Out, "451 4.7.1 greylisted: please try again in 1 second") {
		t.Fatalf("first attempt: exit %d, want 451 4.7.1 greylisted:\n%s", r.Code, r.Out)
	}
	s.Stop()
	state := filepath.Join(s.Root, "greylist", "state")
	st, err := os.Stat(state)
	if err != nil {
		t.Fatalf("no state written at stop: %v", err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %o, want 600", st.Mode().Perm())
	}
	if asRoot {
		ids, err := accounts.Lookup(accounts.SMTPD)
		if err != nil {
			t.Fatal(err)
		}
		if uid := int(st.Sys().(*syscall.Stat_t).Uid); uid != ids.UID {
			t.Errorf("state file owned by uid %d, want smtpd's %d", uid, ids.UID)
		}
	}
	s.Start()
	// The retry comes after the delay; the first second of it may
	// still be inside, so a 451 "try again" is answered by trying again.
	deadline := time.Now().Add(deliverTimeout)
	for {
		time.Sleep(1100 * time.Millisecond)
		r = swaks(t, s, "--to", "demo@example.test", "--header", "Subject: retried")
		if r.Code == 0 {
			break
		}
		if !strings.Contains(r.Out, "please try again in 1 second") || time.Now().After(deadline) {
			t.Fatalf("retry after the restart: exit %d:\n%s", r.Code, r.Out)
		}
	}
	if !acceptedAfterData.MatchString(r.Out) {
		t.Fatalf("retry: %s", r.Out)
	}
	s.WaitMaildir(1, deliverTimeout)
	if n := len(s.WaitLog(`by greylist \(greylisted: first attempt\)`, 1, deliverTimeout)); n != 1 {
		t.Errorf("%d first attempts logged, want 1: the restart forgot the triplet", n)
	}
}

// The message rate limit per client address, from the real binaries: the
// second message within the window gets 450 4.7.1 at MAIL, saying when
// to come back.
func TestMessageRateLimit(t *testing.T) {
	s := NewServer(t, Options{Control: map[string]string{"msgrateperip": "1\n"}})
	if r := swaks(t, s, "--to", "demo@example.test"); r.Code != 0 {
		t.Fatalf("first message: exit %d:\n%s", r.Code, r.Out)
	}
	r := swaks(t, s, "--to", "demo@example.test")
	if r.Code == 0 || !strings.Contains(r.Out, "450 4.7.1 too many messages from your address 127.0.0.1 (limit 1 per hour); try again in 60 minutes") {
		t.Errorf("second message: exit %d, want 450 4.7.1 at MAIL:\n%s", r.Code, r.Out)
	}
}
