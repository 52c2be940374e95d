package policy

import (
	"fmt"
	"time"

	"goqmail/internal/smtp"
)

// RateFacts is one rate limit a client has reached (internal/ratelimit
// counts; this says so).
type RateFacts struct {
	What   string // "messages" or "recipients"
	Who    string // "your address 192.0.2.1", "user ann@example.org"
	Limit  int
	Window time.Duration
	// Wait is how long until one more fits.
	Wait time.Duration
}

// RateVerdict is the refusal of a client over a rate limit.
func RateVerdict(f RateFacts, limitName string) Verdict {
	return Verdict{ReplyRate(f), fmt.Sprintf("%s %d per %s", limitName, f.Limit, f.Window)}
}

// ReplyRate refuses for now, saying which limit and when to come back, so
// a person reading the bounce of a stuck queue knows (Postfix's anvil says
// only "too much mail"). 450 4.7.1 as Postfix's rate limits: the client's
// queue keeps the message and retries.
func ReplyRate(f RateFacts) smtp.Reply {
	return smtp.Reply{Code: 450, Enh: "4.7.1", Text: fmt.Sprintf("too many %s from %s (limit %d per %s); try again %s",
		f.What, f.Who, f.Limit, span(f.Window), In(f.Wait))}
}

// span names a window: "hour", "10 minutes", "2 days".
func span(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0 && d >= 24*time.Hour:
		return plural(int(d/(24*time.Hour)), "day")
	case d%time.Hour == 0 && d >= time.Hour:
		return plural(int(d/time.Hour), "hour")
	case d%time.Minute == 0 && d >= time.Minute:
		return plural(int(d/time.Minute), "minute")
	}
	return plural(int((d+time.Second-1)/time.Second), "second")
}

func plural(n int, unit string) string {
	if n == 1 {
		return unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// In says when to come back, rounded up so a client that obeys is not
// refused again: "in 45 seconds", "in 7 minutes", "in 3 hours".
func In(d time.Duration) string {
	switch {
	case d <= time.Second:
		return "in 1 second"
	case d < 2*time.Minute:
		return fmt.Sprintf("in %d seconds", int((d+time.Second-1)/time.Second))
	case d < 2*time.Hour:
		return fmt.Sprintf("in %d minutes", int((d+time.Minute-1)/time.Minute))
	}
	return fmt.Sprintf("in %d hours", int((d+time.Hour-1)/time.Hour))
}
