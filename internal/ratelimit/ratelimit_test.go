package ratelimit

import (
	"fmt"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Ten per hour: ten at once, then one every six minutes, on a clock the
// test moves.
func TestBurstThenSteadyRate(t *testing.T) {
	var tb Table
	l := Limit{N: 10, Window: time.Hour}
	for i := range 10 {
		if wait, ok := tb.Check("a", 1, l, t0); !ok {
			t.Fatalf("event %d refused (wait %v)", i+1, wait)
		}
		tb.Charge("a", 1, l, t0)
	}
	wait, ok := tb.Check("a", 1, l, t0)
	if ok || wait != 6*time.Minute {
		t.Fatalf("eleventh: ok %v, wait %v; want a refusal for 6m", ok, wait)
	}
	if _, ok := tb.Check("a", 1, l, t0.Add(6*time.Minute-time.Second)); ok {
		t.Error("fits a second before the wait is over")
	}
	now := t0.Add(6 * time.Minute)
	if _, ok := tb.Check("a", 1, l, now); !ok {
		t.Fatal("does not fit once the wait is over")
	}
	tb.Charge("a", 1, l, now)
	if wait, ok := tb.Check("a", 1, l, now); ok || wait != 6*time.Minute {
		t.Errorf("after one more: ok %v, wait %v", ok, wait)
	}
	// Other keys are not touched.
	if _, ok := tb.Check("b", 10, l, now); !ok {
		t.Error("another key was limited")
	}
	// After a quiet hour the whole burst is back.
	if _, ok := tb.Check("a", 10, l, now.Add(time.Hour)); !ok {
		t.Error("the burst did not come back after a window")
	}
}

// A cost counts as that many events: recipients of one message.
func TestCost(t *testing.T) {
	var tb Table
	l := Limit{N: 100, Window: time.Hour}
	tb.Charge("u", 60, l, t0)
	if _, ok := tb.Check("u", 40, l, t0); !ok {
		t.Error("40 more of 100 refused")
	}
	wait, ok := tb.Check("u", 41, l, t0)
	if ok || wait != 36*time.Second {
		t.Errorf("41 more: ok %v, wait %v; want 36s (one recipient's worth)", ok, wait)
	}
	if wait, ok := tb.Check("v", 101, l, t0); ok || wait != time.Hour {
		t.Errorf("more than the limit at once: ok %v, wait %v", ok, wait)
	}
}

func TestNoLimit(t *testing.T) {
	var tb Table
	for range 1000 {
		tb.Charge("a", 5, Limit{}, t0)
	}
	if _, ok := tb.Check("a", 1000, Limit{Window: time.Hour}, t0); !ok || tb.Len() != 0 {
		t.Error("a zero limit limited or counted")
	}
}

// Hammering while refused does not push the wait past two windows.
func TestDebtIsCapped(t *testing.T) {
	var tb Table
	l := Limit{N: 1, Window: time.Hour}
	for range 1000 {
		tb.Charge("a", 1, l, t0)
	}
	if wait, _ := tb.Check("a", 1, l, t0); wait != 2*time.Hour {
		t.Errorf("wait %v after 1000 charges, want 2h", wait)
	}
}

func TestTableIsBounded(t *testing.T) {
	tb := Table{MaxKeys: 10}
	l := Limit{N: 5, Window: time.Hour}
	for i := range 50 {
		tb.Charge(fmt.Sprint(i), 1+i%3, l, t0.Add(time.Duration(i)*time.Millisecond))
	}
	if n := tb.Len(); n > 10 {
		t.Errorf("%d keys held, want at most 10", n)
	}
	// Paid keys go at the next sweep.
	tb.Charge("new", 1, l, t0.Add(2*time.Hour))
	if n := tb.Len(); n != 1 {
		t.Errorf("%d keys after every debt was paid, want 1", n)
	}
}
