package relaygrant

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testStore returns a store in a temp dir whose clock the test moves.
func testStore(t *testing.T) (*Store, *time.Time) {
	t.Helper()
	now := time.Unix(1_700_000_000, 0)
	s := Open(filepath.Join(t.TempDir(), "relay", "grants"))
	s.now = func() time.Time { return now }
	return s, &now
}

func allowed(t *testing.T, s *Store, ip string, at time.Time) bool {
	t.Helper()
	ok, err := s.Allowed(netip.MustParseAddr(ip), at)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestGrantWindow(t *testing.T) {
	s, now := testStore(t)
	if allowed(t, s, "192.0.2.1", *now) {
		t.Fatal("allowed before any grant (missing file)")
	}
	if err := s.Grant(netip.MustParseAddr("192.0.2.1"), 15*time.Minute, "pop3:bob@example.com"); err != nil {
		t.Fatal(err)
	}
	end := now.Add(15 * time.Minute)
	tests := []struct {
		ip   string
		at   time.Time
		want bool
	}{
		{"192.0.2.1", *now, true},
		{"192.0.2.1", end.Add(-time.Second), true}, // just inside
		{"192.0.2.1", end.Add(-time.Nanosecond), true},
		{"192.0.2.1", end, false}, // just after
		{"192.0.2.1", end.Add(time.Second), false},
		{"::ffff:192.0.2.1", *now, true}, // the same client through an IPv6 socket
		{"192.0.2.2", *now, false},       // another IP
		{"2001:db8::1", *now, false},
	}
	for _, tc := range tests {
		if got := allowed(t, s, tc.ip, tc.at); got != tc.want {
			t.Errorf("Allowed(%s, +%v) = %v, want %v", tc.ip, tc.at.Sub(*now), got, tc.want)
		}
	}
}

func TestGrantMappedAndLongerKept(t *testing.T) {
	s, now := testStore(t)
	must(t, s.Grant(netip.MustParseAddr("::ffff:198.51.100.7"), time.Hour, "smtp:a"))
	must(t, s.Grant(netip.MustParseAddr("198.51.100.7"), time.Minute, "pop3:b")) // shorter: ignored
	gs, err := s.List()
	must(t, err)
	if len(gs) != 1 || gs[0].IP.String() != "198.51.100.7" || gs[0].Source != "smtp:a" || !gs[0].Expires.Equal(now.Add(time.Hour)) {
		t.Fatalf("List = %+v", gs)
	}
	data, _ := os.ReadFile(s.path)
	if want := fmt.Sprintf("198.51.100.7 %d smtp:a\n", now.Add(time.Hour).Unix()); string(data) != want {
		t.Errorf("file = %q, want %q", data, want)
	}
}

func TestExpiredDroppedOnWrite(t *testing.T) {
	s, now := testStore(t)
	must(t, s.Grant(netip.MustParseAddr("192.0.2.1"), time.Minute, "a"))
	*now = now.Add(2 * time.Minute)
	must(t, s.Grant(netip.MustParseAddr("192.0.2.2"), time.Minute, "b with space\n"))
	data, _ := os.ReadFile(s.path)
	if strings.Contains(string(data), "192.0.2.1") || !strings.Contains(string(data), "192.0.2.2") {
		t.Errorf("file after expiry = %q", data)
	}
	if !strings.Contains(string(data), " b_with_space_\n") {
		t.Errorf("source not cleaned: %q", data)
	}
}

func TestRevokeAndReopen(t *testing.T) {
	s, now := testStore(t)
	ip := netip.MustParseAddr("2001:db8::5")
	must(t, s.Grant(ip, time.Hour, "pop3:x"))
	must(t, s.Grant(netip.MustParseAddr("192.0.2.9"), time.Hour, "pop3:y"))

	// A restart: a new Store on the same file sees the grants.
	r := Open(s.path)
	r.now = s.now
	if !allowed(t, r, "2001:db8::5", *now) {
		t.Fatal("grant lost on reopen")
	}
	had, err := r.Revoke(ip)
	must(t, err)
	if !had {
		t.Error("Revoke reported no grant")
	}
	if allowed(t, s, "2001:db8::5", *now) {
		t.Error("revoked grant still allowed through the first store")
	}
	if !allowed(t, s, "192.0.2.9", *now) {
		t.Error("revoke removed the other grant")
	}
	had, err = r.Revoke(ip)
	must(t, err)
	if had {
		t.Error("second Revoke reported a grant")
	}
}

func TestAllowedCachesByStat(t *testing.T) {
	s, now := testStore(t)
	must(t, s.Grant(netip.MustParseAddr("192.0.2.1"), time.Hour, "a"))
	allowed(t, s, "192.0.2.1", *now)
	first := s.grants
	allowed(t, s, "192.0.2.1", *now)
	if fmt.Sprintf("%p", first) != fmt.Sprintf("%p", s.grants) {
		t.Error("unchanged file was re-read")
	}
	// Another process writes: the reader notices without restart.
	other := Open(s.path)
	other.now = s.now
	must(t, other.Grant(netip.MustParseAddr("192.0.2.3"), time.Hour, "b"))
	if !allowed(t, s, "192.0.2.3", *now) {
		t.Error("new grant from another writer not seen")
	}
}

func TestConcurrentWritersKeepEveryGrant(t *testing.T) {
	s, now := testStore(t)
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			w := Open(s.path) // separate stores: as separate processes
			w.now = s.now
			errs <- w.Grant(netip.AddrFrom4([4]byte{10, 0, byte(i / 256), byte(i)}), time.Hour, "w")
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	gs, err := s.List()
	must(t, err)
	if len(gs) != n {
		t.Fatalf("%d grants survive, want %d", len(gs), n)
	}
	for i := 0; i < n; i++ {
		if !allowed(t, s, fmt.Sprintf("10.0.0.%d", i), *now) {
			t.Errorf("grant %d lost", i)
		}
	}
}

func TestDamagedLinesSkipped(t *testing.T) {
	s, now := testStore(t)
	must(t, os.MkdirAll(filepath.Dir(s.path), 0o755))
	exp := now.Add(time.Hour).Unix()
	content := fmt.Sprintf("garbage\n192.0.2.1 %d ok\n192.0.2.2  %d two spaces\nfe80::1%%eth0 %d zone\n192.0.2.3 -5 neg\n", exp, exp, exp)
	must(t, os.WriteFile(s.path, []byte(content), 0o644))
	if !allowed(t, s, "192.0.2.1", *now) {
		t.Error("good line among damaged ones not honoured")
	}
	for _, ip := range []string{"192.0.2.2", "fe80::1", "192.0.2.3"} {
		if allowed(t, s, ip, *now) {
			t.Errorf("damaged line for %s honoured", ip)
		}
	}
}

func TestGrantRejectsBadInput(t *testing.T) {
	s, _ := testStore(t)
	if err := s.Grant(netip.Addr{}, time.Hour, "x"); err == nil {
		t.Error("invalid address accepted")
	}
	if err := s.Grant(netip.MustParseAddr("192.0.2.1"), 0, "x"); err == nil {
		t.Error("zero lifetime accepted")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestFileReadableByItsReaderOnly: the grants name who logged in from
// where and which addresses relay, so the file is 0400 and belongs to its
// one reader (smtpd's account); it used to be 0644, readable by every
// local user (issue 11, item 6). Protect closes a file an older version
// left open.
func TestFileReadableByItsReaderOnly(t *testing.T) {
	s, _ := testStore(t)
	reader := -1
	if os.Geteuid() == 0 {
		reader = 4242 // root may give the file away, as goqmail-auth does
	}
	s.Reader = reader
	if err := s.Grant(netip.MustParseAddr("192.0.2.1"), time.Minute, "pop3:bob"); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		fi, err := os.Stat(s.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o400 {
			t.Errorf("%s: grants file mode %v, want 0400", when, fi.Mode().Perm())
		}
		want := os.Geteuid()
		if reader > 0 {
			want = reader
		}
		if got := OwnerOf(s.path); got != want {
			t.Errorf("%s: grants file owned by uid %d, want %d", when, got, want)
		}
	}
	check("after a grant")

	// A file left 0644 (and root's) by an older version.
	if err := os.Chmod(s.path, 0o644); err != nil {
		t.Fatal(err)
	}
	if reader > 0 {
		if err := os.Chown(s.path, 0, -1); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Protect(); err != nil {
		t.Fatal(err)
	}
	check("after Protect")
	if !allowed(t, s, "192.0.2.1", s.now()) {
		t.Error("Protect lost the grant")
	}
	missing := Open(filepath.Join(t.TempDir(), "grants"))
	if err := missing.Protect(); err != nil {
		t.Errorf("Protect of a missing file: %v", err)
	}
}
