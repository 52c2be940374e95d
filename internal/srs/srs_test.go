package srs

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func codec(now time.Time, secrets ...string) *Codec {
	return &Codec{Domain: "fwd.example", Secrets: secrets, MaxAge: 21, Now: func() time.Time { return now }}
}

var day0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func TestRoundTrip(t *testing.T) {
	c := codec(day0, "a secret of sixteen+")
	for _, sender := range []string{"ann@orig.example", "Ann.Smith+tag@Orig.Example", "x=y@orig.example"} {
		s, err := c.Forward(sender)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(s, "SRS0=") || !strings.HasSuffix(s, "@fwd.example") || !c.IsSRS(s) {
			t.Fatalf("%s -> %s", sender, s)
		}
		back, err := c.Reverse(s, true)
		if err != nil || back != sender {
			t.Fatalf("%s -> %s -> %s, %v", sender, s, back, err)
		}
		// Some MTAs lower-case the local part: still valid (libsrs2).
		if back, err := c.Reverse(strings.ToLower(s), true); err != nil || !strings.EqualFold(back, sender) {
			t.Errorf("lower-cased %s: %s, %v", s, back, err)
		}
	}
}

func TestForgedAndExpired(t *testing.T) {
	c := codec(day0, "a secret of sixteen+")
	good, _ := c.Forward("ann@orig.example")
	bad := []byte(good)
	bad[5] ^= 1 // a hash character
	if _, err := c.Reverse(string(bad), true); !errors.Is(err, ErrBadHash) {
		t.Errorf("changed hash: %v", err)
	}
	other := strings.Replace(good, "=ann@", "=bob@", 1)
	if _, err := c.Reverse(other, true); !errors.Is(err, ErrBadHash) {
		t.Errorf("changed user: %v", err)
	}
	if _, err := codec(day0, "another secret 123").Reverse(good, true); !errors.Is(err, ErrBadHash) {
		t.Errorf("unknown secret: %v", err)
	}
	for _, d := range []int{0, 1, 21} {
		if _, err := codec(day0.Add(time.Duration(d)*day), "a secret of sixteen+").Reverse(good, true); err != nil {
			t.Errorf("%d days later: %v", d, err)
		}
	}
	late := codec(day0.Add(22*day), "a secret of sixteen+")
	if _, err := late.Reverse(good, true); !errors.Is(err, ErrExpired) {
		t.Errorf("22 days later: %v", err)
	}
	if back, err := late.Reverse(good, false); err != nil || back != "ann@orig.example" {
		t.Errorf("22 days later without the age check: %s %v", back, err)
	}
	for _, s := range []string{"ann@fwd.example", "SRS0=abcd@fwd.example", "SRS0=abcd=AA=orig.example=ann@other.example", "SRS0=x@", "SRS1=abcd=host.example=x@fwd.example"} {
		if _, err := c.Reverse(s, true); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: %v", s, err)
		}
	}
}

// Rotation: an address made with the old secret stays valid while the old
// secret is listed after the new one; new addresses use the new one.
func TestRotation(t *testing.T) {
	old := codec(day0, "the old secret 1234")
	addr, _ := old.Forward("ann@orig.example")
	rotated := codec(day0, "the new secret 5678", "the old secret 1234")
	if back, err := rotated.Reverse(addr, true); err != nil || back != "ann@orig.example" {
		t.Fatalf("old address after rotation: %s %v", back, err)
	}
	fresh, _ := rotated.Forward("ann@orig.example")
	if fresh == addr {
		t.Fatal("rotation did not change the new addresses")
	}
	if _, err := codec(day0, "the old secret 1234").Reverse(fresh, true); err == nil {
		t.Error("the new address verifies with the old secret alone")
	}
	if _, err := codec(day0, "the new secret 5678").Reverse(addr, true); err == nil {
		t.Error("the old address verifies after its secret was dropped")
	}
}

// A sender that is another forwarder's SRS0 address becomes SRS1 here;
// its reverse is that forwarder's address, which goes back to it.
func TestSRS1(t *testing.T) {
	them := &Codec{Domain: "hop.example", Secrets: []string{"their secret 12345"}, MaxAge: 21, Now: func() time.Time { return day0 }}
	theirs, _ := them.Forward("ann@orig.example")
	c := codec(day0, "a secret of sixteen+")
	ours, err := c.Forward(theirs)
	if err != nil || !strings.HasPrefix(ours, "SRS1=") || !strings.Contains(ours, "=hop.example==") {
		t.Fatalf("%s -> %s, %v", theirs, ours, err)
	}
	back, err := c.Reverse(ours, true)
	if err != nil || back != theirs {
		t.Fatalf("%s -> %s, want %s (%v)", ours, back, theirs, err)
	}
	// Forwarded once more by a third host, the first hop stays.
	third := &Codec{Domain: "third.example", Secrets: []string{"third secret 12345"}, MaxAge: 21, Now: func() time.Time { return day0 }}
	again, _ := third.Forward(ours)
	if !strings.HasPrefix(again, "SRS1=") || !strings.Contains(again, "=hop.example==") {
		t.Fatalf("SRS1 of an SRS1: %s", again)
	}
	if back, err := third.Reverse(again, true); err != nil || back != theirs {
		t.Errorf("%s -> %s, %v", again, back, err)
	}
}

// The day stamp wraps every 1024 days; an address from just before the
// wrap is still fresh just after it.
func TestStampWraps(t *testing.T) {
	var wrap time.Time
	for d := day0; ; d = d.Add(day) {
		if (d.Unix()/86400)%1024 == 1023 {
			wrap = d
			break
		}
	}
	addr, _ := codec(wrap, "a secret of sixteen+").Forward("ann@orig.example")
	if _, err := codec(wrap.Add(3*day), "a secret of sixteen+").Reverse(addr, true); err != nil {
		t.Errorf("across the wrap: %v", err)
	}
}
