package greylist

import (
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"goqmail/internal/policy"
)

var (
	t0  = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cfg = policy.GreyConfig{Delay: 5 * time.Minute, Retry: policy.GreyRetry, Lifetime: policy.GreyLifetime}
	ip  = netip.MustParseAddr("192.0.2.7")
)

func TestKeyOf(t *testing.T) {
	k := KeyOf(ip, "a@example.org", "b@example.net")
	for _, same := range []Key{
		KeyOf(netip.MustParseAddr("192.0.2.200"), "a@example.org", "b@example.net"), // same /24
		KeyOf(netip.MustParseAddr("::ffff:192.0.2.7"), "A@Example.ORG", "b@EXAMPLE.net"),
	} {
		if same != k {
			t.Error("the same triplet got another key")
		}
	}
	for _, other := range []Key{
		KeyOf(netip.MustParseAddr("192.0.3.7"), "a@example.org", "b@example.net"),
		KeyOf(ip, "", "b@example.net"),
		KeyOf(ip, "a@example.org", "c@example.net"),
		KeyOf(ip, "a@example.org\x00b", "example.net"), // no ambiguity in how the parts join
	} {
		if other == k {
			t.Error("another triplet got the same key")
		}
	}
	if KeyOf(netip.MustParseAddr("2001:db8:1:2::1"), "a", "b") != KeyOf(netip.MustParseAddr("2001:db8:1:2:ffff::9"), "a", "b") {
		t.Error("two addresses of one IPv6 /64 differ")
	}
}

// The state survives a restart: a triplet seen before the restart passes
// after it once the delay is over, instead of starting again.
func TestStateSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	s, warns, err := Open(path, 0)
	if err != nil || len(warns) > 0 {
		t.Fatal(err, warns)
	}
	k := KeyOf(ip, "a@example.org", "b@example.net")
	passed := KeyOf(ip, "c@example.org", "d@example.net")
	if v := s.Check(k, t0, cfg); !v.Refused() {
		t.Fatal("first attempt passed")
	}
	s.Check(passed, t0, cfg)
	s.Check(passed, t0.Add(6*time.Minute), cfg)
	if err := s.Flush(t0.Add(6*time.Minute), cfg); err != nil {
		t.Fatal(err)
	}
	s2, warns, err := Open(path, 0)
	if err != nil || len(warns) > 0 || s2.Len() != 2 {
		t.Fatalf("reopened: %d entries, %v, %v", s2.Len(), warns, err)
	}
	if v := s2.Check(k, t0.Add(5*time.Minute), cfg); v.Refused() {
		t.Errorf("after the restart the retry got %v", v.Reply)
	}
	if v := s2.Check(passed, t0.Add(time.Hour), cfg); v.Refused() {
		t.Errorf("a passed triplet got %v after the restart", v.Reply)
	}
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), "example") {
		t.Errorf("the state file holds addresses:\n%s", data)
	}
}

func TestFlushOnlyWhenChangedAndDropsExpired(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state")
	s, _, _ := Open(path, 0)
	if err := s.Flush(t0, cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Error("an unchanged empty table was written")
	}
	s.Check(KeyOf(ip, "a", "b"), t0, cfg)
	s.Check(KeyOf(ip, "old", "b"), t0.Add(-3*24*time.Hour), cfg)
	if err := s.Flush(t0, cfg); err != nil {
		t.Fatal(err)
	}
	if s.Len() != 1 {
		t.Errorf("%d entries after a flush, want the expired one dropped", s.Len())
	}
	os.Remove(path)
	s.Flush(t0, cfg)
	if _, err := os.Stat(path); err == nil {
		t.Error("written again without a change")
	}
	// A directory that cannot take the file is an error, and the change
	// is kept for the next try.
	s.Check(KeyOf(ip, "x", "y"), t0, cfg)
	s.path = filepath.Join(dir, "missing", "state")
	if err := s.Flush(t0, cfg); err == nil {
		t.Error("no error writing into a missing directory")
	}
	s.path = path
	if err := s.Flush(t0, cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Error("the change was lost after a failed write")
	}
}

func TestBadLinesAreSkippedAndAForeignFileRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	good := "0123456789abcdef0123456789abcdef 1772366400 1772366400 0"
	os.WriteFile(path, []byte(header+"\n"+good+"\nnonsense\n0123456789abcdef0123456789abcdef 5 4 0\n"), 0o600)
	s, warns, err := Open(path, 0)
	if err != nil || s.Len() != 1 || len(warns) != 2 || !strings.Contains(warns[0], "line 3") {
		t.Errorf("%v entries, warnings %q, %v", s.Len(), warns, err)
	}
	os.WriteFile(path, []byte("something else\n"), 0o600)
	if _, _, err := Open(path, 0); err == nil {
		t.Error("a file with a foreign header was read")
	}
}

func TestTableIsBounded(t *testing.T) {
	s, _, _ := Open(filepath.Join(t.TempDir(), "state"), 100)
	for i := range 1000 {
		s.Check(KeyOf(ip, "s", string(rune('a'+i%26))+strings.Repeat("x", i)), t0.Add(time.Duration(i)*time.Second), cfg)
	}
	if n := s.Len(); n > 100 {
		t.Errorf("%d entries, want at most 100", n)
	}
	// The newest triplet is still there: its retry passes.
	k := KeyOf(ip, "s", string(rune('a'+999%26))+strings.Repeat("x", 999))
	if v := s.Check(k, t0.Add(999*time.Second+cfg.Delay), cfg); v.Refused() {
		t.Error("the newest triplet was evicted")
	}
}
