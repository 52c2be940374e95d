package policy

import (
	"time"

	"goqmail/internal/smtp"
)

// Greylisting (Evan Harris's 2003 paper, RFC 6647): the first message of a
// (client network, sender, recipient) triplet is refused for now; a real
// MTA retries from its queue, most spam engines never do. A retry after
// the delay passes, and the triplet then passes at once while it keeps
// being used.

// GreyState is what is known of one triplet. A zero First: never seen.
type GreyState struct {
	First  time.Time // the first attempt of this round
	Last   time.Time // the last attempt, or the last pass
	Passed bool      // a retry came after the delay
}

// GreyConfig is the snapshot greylisting reads.
type GreyConfig struct {
	Delay    time.Duration // greylistdelay: a retry before it is refused again
	Retry    time.Duration // a retry after First+Delay+Retry starts over
	Lifetime time.Duration // a passed triplet unused this long starts over
}

// The windows of postgrey's defaults (--retry-window 2 days, --max-age
// 35 days), with a day more of lifetime so a monthly mailing passes.
const (
	GreyRetry    = 48 * time.Hour
	GreyLifetime = 36 * 24 * time.Hour
)

// CheckGreylist decides one recipient's triplet at now and returns the
// triplet's next state. The refusal says when to come back.
func CheckGreylist(st GreyState, now time.Time, c GreyConfig) (GreyState, Verdict) {
	fresh := st.First.IsZero() ||
		!st.Passed && now.Sub(st.First) > c.Delay+c.Retry ||
		st.Passed && now.Sub(st.Last) > c.Lifetime ||
		now.Before(st.First) // a clock set back: start over rather than trust it
	switch {
	case fresh:
		return GreyState{First: now, Last: now}, Verdict{ReplyGreylisted(c.Delay), "greylisted: first attempt"}
	case st.Passed:
		st.Last = now
		return st, Verdict{}
	case now.Sub(st.First) < c.Delay:
		st.Last = now
		wait := st.First.Add(c.Delay).Sub(now)
		return st, Verdict{ReplyGreylisted(wait), "greylisted: retried too soon"}
	}
	st.Passed, st.Last = true, now
	return st, Verdict{}
}

// ReplyGreylisted is 451 4.7.1, the code RFC 6647 section 2.1 expects.
func ReplyGreylisted(wait time.Duration) smtp.Reply {
	return smtp.Reply{Code: 451, Enh: "4.7.1", Text: "greylisted: please try again " + In(wait)}
}
