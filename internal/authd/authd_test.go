package authd

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"goqmail/internal/proto"
)

func TestVerifyBackends(t *testing.T) {
	f := newFixture(t, nil)
	tests := []struct {
		login, password string
		ok              bool
		user, kind      string
	}{
		{"bob@example.com", "bobpw", true, "bob@example.com", "virtual"},
		{"BOB@Example.COM", "bobpw", true, "bob@example.com", "virtual"},
		{"bob@example.net", "bobpw", true, "bob@example.com", "virtual"}, // alias domain
		{"alice@example.com", "sys secret", true, "alice@example.com", "virtual"},
		{"bob@example.com", "wrong", false, "", ""},
		{"nobody@example.com", "bobpw", false, "", ""},
		{"sys", "sys secret", true, "sys", "system"},
		{"sys@example.test", "sys secret", true, "sys", "system"}, // a local domain
		{"sys@elsewhere.org", "sys secret", false, "", ""},        // not local: no system lookup
		{"sys", "wrong", false, "", ""},
		{"daemon", "sys secret", false, "", ""}, // uid < 1000
		{"yes", "anything", false, "", ""},      // yescrypt: unsupported
		{"ghost", "x", false, "", ""},
	}
	for _, tc := range tests {
		r := f.verify(tc.login, tc.password, "192.0.2.1")
		if r.OK != tc.ok || r.User != tc.user || r.Kind != tc.kind || r.Temporary {
			t.Errorf("Verify(%s, %s) = %+v, want ok=%v user=%q kind=%q", tc.login, tc.password, r, tc.ok, tc.user, tc.kind)
		}
	}
	if log := f.log.String(); strings.Contains(log, "bobpw") || strings.Contains(log, "sys secret") {
		t.Errorf("a password reached the log:\n%s", log)
	}
	if !strings.Contains(f.log.String(), "system user's shadow hash is not supported") {
		t.Errorf("yescrypt not logged:\n%s", f.log.String())
	}
}

func TestUnknownUserAndWrongPasswordAnswerAlike(t *testing.T) {
	f := newFixture(t, nil)
	for _, pair := range [][2][2]string{
		{{"bob@example.com", "wrong"}, {"nobody@example.com", "wrong"}},
		{{"sys", "wrong"}, {"ghost", "wrong"}},
		{{"daemon", "sys secret"}, {"nosuchdomain.example@x", "y"}},
	} {
		a := f.verify(pair[0][0], pair[0][1], "192.0.2.1")
		b := f.verify(pair[1][0], pair[1][1], "192.0.2.2")
		if !reflect.DeepEqual(a, b) || a.OK {
			t.Errorf("%s: %+v, %s: %+v; want the same failure", pair[0][0], a, pair[1][0], b)
		}
	}
}

func TestOwns(t *testing.T) {
	f := newFixture(t, nil)
	r := f.verify("bob@example.com", "bobpw", "192.0.2.1")
	want := []string{"bob@example.com", "bob@example.net", "info@example.com", "info@example.net"}
	got := slices.Sorted(slices.Values(r.Owns))
	if !slices.Equal(got, want) {
		t.Errorf("bob owns %v, want %v (team also reaches alice: not his)", got, want)
	}
	if r := f.verify("sys", "sys secret", "192.0.2.1"); !slices.Equal(r.Owns, []string{"sys@example.test"}) {
		t.Errorf("sys owns %v", r.Owns)
	}
}

func TestFailuresSlowedPerAddressAndAccount(t *testing.T) {
	f := newFixture(t, nil)
	ms := time.Millisecond
	steps := []struct {
		login, pw, ip string
		want          []time.Duration
	}{
		{"bob@example.com", "x", "192.0.2.1", []time.Duration{100 * ms}},
		{"carol@example.com", "x", "192.0.2.1", []time.Duration{200 * ms}},      // address has 1
		{"bob@example.com", "x", "::ffff:192.0.2.2", []time.Duration{200 * ms}}, // account has 1
		{"bob@example.com", "x", "192.0.2.1", []time.Duration{400 * ms}},        // address 2, account 2: 2^2 * 100ms
		{"bob@example.com", "bobpw", "192.0.2.3", nil},                          // success: never slowed
	}
	for i, s := range steps {
		f.verify(s.login, s.pw, s.ip)
		if got := f.takeSleeps(); !slices.Equal(got, s.want) {
			t.Errorf("step %d (%s from %s): slept %v, want %v", i, s.login, s.ip, got, s.want)
		}
	}
	// 192.0.2.2 counted once whatever its spelling.
	f.verify("x@example.org", "x", "192.0.2.2")
	if got := f.takeSleeps(); !slices.Equal(got, []time.Duration{200 * ms}) {
		t.Errorf("IPv4-mapped address counted apart: slept %v, want 200ms", got)
	}
	// The success reset bob's counter but not the address's.
	f.verify("bob@example.com", "x", "192.0.2.9")
	if got := f.takeSleeps(); !slices.Equal(got, []time.Duration{100 * ms}) {
		t.Errorf("after success: slept %v, want 100ms", got)
	}
	// The cap.
	for range 10 {
		f.verify("ghost", "x", "198.51.100.1")
	}
	if got := f.takeSleeps(); got[len(got)-1] != 10*time.Second || got[6] != 6400*ms {
		t.Errorf("delays %v, want doubling to a 10s cap", got)
	}
	// Counters decay after 15 minutes.
	f.advance(15*time.Minute + time.Second)
	f.verify("ghost", "x", "198.51.100.1")
	if got := f.takeSleeps(); !slices.Equal(got, []time.Duration{100 * ms}) {
		t.Errorf("after decay: slept %v, want 100ms", got)
	}
	if !strings.Contains(f.log.String(), "ghost from 198.51.100.1: failed") {
		t.Errorf("failure not logged with the address:\n%s", f.log.String())
	}
}

func TestRelayGrantOnSuccessOnly(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.SetSettings(Settings{GrantLifetime: time.Minute})
	f.verifyPOP3("bob@example.com", "bobpw", "::ffff:192.0.2.7")
	f.verifyPOP3("bob@example.com", "wrong", "192.0.2.8")
	f.verifyPOP3("bob@example.com", "bobpw", "not-an-ip")
	now := time.Now()
	for ip, want := range map[string]bool{"192.0.2.7": true, "192.0.2.8": false} {
		ok, err := f.grants.Allowed(netip.MustParseAddr(ip), now)
		must(t, err)
		if ok != want {
			t.Errorf("grant for %s = %v, want %v", ip, ok, want)
		}
	}
	if ok, _ := f.grants.Allowed(netip.MustParseAddr("192.0.2.7"), now.Add(61*time.Second)); ok {
		t.Error("grant outlives control/relaygrantlifetime")
	}
	gs, _ := f.grants.List()
	if len(gs) != 1 || gs[0].Source != "pop3:bob@example.com" {
		t.Errorf("grants %+v", gs)
	}
}

// TestSMTPAuthGrantsNothing: a successful SMTP AUTH relays within its own
// session and must not open the client's address for relaying on port 25
// (issue 11, item 5); it used to write a grant like a POP3 login.
func TestSMTPAuthGrantsNothing(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.SetSettings(Settings{GrantLifetime: time.Minute})
	if r := f.verify("bob@example.com", "bobpw", "192.0.2.7"); !r.OK {
		t.Fatalf("SMTP AUTH login refused: %+v", r)
	}
	if ok, err := f.grants.Allowed(netip.MustParseAddr("192.0.2.7"), time.Now()); err != nil || ok {
		t.Errorf("SMTP AUTH login granted relaying to its address: %v %v", ok, err)
	}
	if gs, err := f.grants.List(); err != nil || len(gs) != 0 {
		t.Errorf("grants after an SMTP AUTH login: %+v %v", gs, err)
	}
	if _, err := os.Stat(filepath.Join(f.root, "relay", "grants")); err == nil {
		t.Error("an SMTP AUTH login wrote relay/grants")
	}
}

// TestNoGrantsWhenLifetimeZero: control/relaygrantlifetime 0 is declared
// as "no grants" (goqmail-auth refused 0 as out of range before).
func TestNoGrantsWhenLifetimeZero(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.SetSettings(Settings{NoGrants: true})
	f.verifyPOP3("bob@example.com", "bobpw", "192.0.2.7")
	if ok, err := f.grants.Allowed(netip.MustParseAddr("192.0.2.7"), time.Now()); err != nil || ok {
		t.Errorf("grant with relaygrantlifetime 0: %v %v", ok, err)
	}
}

func TestAPOP(t *testing.T) {
	f := newFixture(t, nil)
	ts := "<1234.5678@mail.example.com>"
	digest := func(secret string) string {
		s := md5.Sum([]byte(ts + secret))
		return hex.EncodeToString(s[:])
	}
	tests := []struct {
		login, digest string
		ok            bool
	}{
		{"bob@example.com", digest("bobpw"), true},
		{"bob@example.com", digest("wrong"), false},
		{"alice@example.com", digest("sys secret"), false}, // not {PLAIN}
		{"sys", digest("sys secret"), false},               // system users: impossible
		{"nobody@example.com", digest("x"), false},
	}
	for _, tc := range tests {
		r, err := f.client.APOP(context.Background(), tc.login, ts, tc.digest, "192.0.2.1")
		must(t, err)
		if r.OK != tc.ok {
			t.Errorf("APOP %s = %+v, want ok=%v", tc.login, r, tc.ok)
		}
	}
	if !strings.Contains(f.log.String(), "APOP needs a {PLAIN} password") {
		t.Errorf("APOP refusal for a hashed password not explained in the log:\n%s", f.log.String())
	}
}

func TestCheckpassword(t *testing.T) {
	f := newFixture(t, nil)
	dir := t.TempDir()
	script := filepath.Join(dir, "checkpw")
	// The script checks the interface: argv[1] "true", no inherited
	// environment, fd 3 = login\0password\0timestamp\0.
	must(t, os.WriteFile(script, []byte(`#!/bin/sh
[ "$1" = true ] || exit 2
[ -z "$GOQMAIL_TEST_LEAK" ] || exit 2
in=$(tr '\0' '\n' <&3)
login=$(printf '%s\n' "$in" | sed -n 1p)
pass=$(printf '%s\n' "$in" | sed -n 2p)
ts=$(printf '%s\n' "$in" | sed -n 3p)
[ "$login" = tmp ] && exit 111
[ "$login" = carol ] && [ "$pass" = cpw ] && [ -z "$ts" ] && exit 0
[ "$login" = sys ] && [ "$pass" = other ] && exit 0
[ "$login" = dave ] && [ "$ts" = "<t@x>" ] && [ "$pass" = 0123456789abcdef0123456789abcdef ] && exit 0
exit 1
`), 0o755))
	t.Setenv("GOQMAIL_TEST_LEAK", "x")
	f.srv.SetSettings(Settings{Checkpassword: script, Locals: []string{"example.test"}})
	tests := []struct {
		login, pw   string
		ok, temp    bool
		kind, owner string
	}{
		{"carol", "cpw", true, false, "checkpassword", "carol"},
		{"carol", "bad", false, false, "", ""},
		{"tmp", "x", false, true, "", ""},
		{"bob@example.com", "bobpw", true, false, "virtual", "bob@example.com"}, // vdir answers first
		{"sys", "other", true, false, "checkpassword", "sys"},                   // shadow said no, checkpassword yes
	}
	for _, tc := range tests {
		r := f.verify(tc.login, tc.pw, "192.0.2.1")
		if r.OK != tc.ok || r.Temporary != tc.temp || r.Kind != tc.kind || r.User != tc.owner {
			t.Errorf("Verify(%s) = %+v, want ok=%v temp=%v kind=%q user=%q", tc.login, r, tc.ok, tc.temp, tc.kind, tc.owner)
		}
	}
	r, err := f.client.APOP(context.Background(), "dave", "<t@x>", "0123456789abcdef0123456789abcdef", "192.0.2.1")
	must(t, err)
	if !r.OK || !slices.Equal(r.Owns, []string{"dave@example.test"}) {
		t.Errorf("APOP through checkpassword = %+v", r)
	}
	if got := f.takeSleeps(); len(got) != 1 {
		t.Errorf("slept %v: want one failure delay (the temporary failure is not slowed)", got)
	}
}

func TestPeerRefused(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Clients = []int{os.Getuid() + 12345} })
	if _, err := f.client.Verify(context.Background(), "smtp", "bob@example.com", "bobpw", "192.0.2.1"); err == nil {
		t.Fatal("a peer outside GOQMAIL_AUTH_CLIENTS got an answer")
	}
	if !strings.Contains(f.log.String(), "refused peer uid") {
		t.Errorf("refusal not logged:\n%s", f.log.String())
	}
}

func TestParseClients(t *testing.T) {
	tests := []struct {
		in   string
		want []int
		bad  bool
	}{
		{"-1", []int{-1}, false},
		{"101, 102", []int{101, 102}, false},
		{"", []int{0, os.Getuid()}, false},
		{"x", nil, true},
		{"-2", nil, true},
	}
	for _, tc := range tests {
		got, err := ParseClients(tc.in)
		if (err != nil) != tc.bad || !slices.Equal(got, tc.want) {
			t.Errorf("ParseClients(%q) = %v, %v", tc.in, got, err)
		}
	}
}

func TestBadFrameEndsConnection(t *testing.T) {
	f := newFixture(t, nil)
	// A password holding NUL cannot be passed to checkpassword: refused at decoding.
	_, err := f.client.Verify(context.Background(), proto.ServiceSMTP, "bob@example.com", "a\x00b", "192.0.2.1")
	if err == nil {
		t.Fatal("request with NUL in the password answered")
	}
}
