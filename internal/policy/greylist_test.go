package policy

import (
	"testing"
	"time"
)

// The greylisting decision, step by step on a controllable clock: each
// step is an attempt at some time after the start, with the reply it gets.
func TestCheckGreylistSteps(t *testing.T) {
	c := GreyConfig{Delay: 5 * time.Minute, Retry: GreyRetry, Lifetime: GreyLifetime}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		steps []struct {
			at   time.Duration
			want string
		}
	}{
		{"retry after the delay passes, and the triplet keeps passing", []struct {
			at   time.Duration
			want string
		}{
			{0, "451 4.7.1 greylisted: please try again in 5 minutes"},
			{time.Minute, "451 4.7.1 greylisted: please try again in 4 minutes"},
			{4*time.Minute + 30*time.Second, "451 4.7.1 greylisted: please try again in 30 seconds"},
			{5 * time.Minute, ""},
			{5*time.Minute + time.Second, ""},
			{30 * 24 * time.Hour, ""},
			// Unused for more than the lifetime after its last pass: over.
			{30*24*time.Hour + GreyLifetime + time.Second, "451 4.7.1 greylisted: please try again in 5 minutes"},
		}},
		{"a retry too late starts over", []struct {
			at   time.Duration
			want string
		}{
			{0, "451 4.7.1 greylisted: please try again in 5 minutes"},
			{5*time.Minute + GreyRetry + time.Second, "451 4.7.1 greylisted: please try again in 5 minutes"},
			{10*time.Minute + GreyRetry + time.Second, ""},
		}},
		{"the last moment of the retry window still passes", []struct {
			at   time.Duration
			want string
		}{
			{0, "451 4.7.1 greylisted: please try again in 5 minutes"},
			{5*time.Minute + GreyRetry, ""},
		}},
		{"a clock set back starts over", []struct {
			at   time.Duration
			want string
		}{
			{time.Hour, "451 4.7.1 greylisted: please try again in 5 minutes"},
			{0, "451 4.7.1 greylisted: please try again in 5 minutes"},
		}},
	} {
		var st GreyState
		for i, s := range tc.steps {
			var v Verdict
			st, v = CheckGreylist(st, t0.Add(s.at), c)
			got := ""
			if v.Refused() {
				got = v.Reply.String()
				got = got[:len(got)-2]
			}
			if got != s.want {
				t.Errorf("%s, step %d (+%v): %q, want %q", tc.name, i+1, s.at, got, s.want)
			}
		}
	}
}

func TestReplyRate(t *testing.T) {
	for _, tc := range []struct {
		f    RateFacts
		want string
	}{
		{RateFacts{"recipients", "your address 192.0.2.7", 100, time.Hour, 7*time.Minute + time.Second},
			"450 4.7.1 too many recipients from your address 192.0.2.7 (limit 100 per hour); try again in 8 minutes"},
		{RateFacts{"messages", "user ann@example.org", 1, 24 * time.Hour, 20 * time.Hour},
			"450 4.7.1 too many messages from user ann@example.org (limit 1 per day); try again in 20 hours"},
		{RateFacts{"messages", "your address 2001:db8::/64", 10, 90 * time.Second, 500 * time.Millisecond},
			"450 4.7.1 too many messages from your address 2001:db8::/64 (limit 10 per 90 seconds); try again in 1 second"},
		{RateFacts{"recipients", "x", 5, 2 * time.Hour, 90 * time.Second},
			"450 4.7.1 too many recipients from x (limit 5 per 2 hours); try again in 90 seconds"},
	} {
		got := ReplyRate(tc.f).String()
		if got = got[:len(got)-2]; got != tc.want {
			t.Errorf("\n got %q\nwant %q", got, tc.want)
		}
	}
}
