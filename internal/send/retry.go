package send

import (
	"math"
	"time"
)

// Channel skips of qmail-send's retry schedule (chanskip): local retries
// land near birth + (10k s)², remote near birth + (20k s)².
const (
	skipLocal  = 10
	skipRemote = 20
)

// nextRetry is qmail-send's schedule (qmail-send.c, "chronos"): with n the
// whole square root of the message's age when the attempt starts, the next
// attempt is at birth + (n + skip)². DJB's reasoning: an hour's delay on a
// day-old message is worth ten minutes on an hour-old one.
func nextRetry(birth, now time.Time, skip int64) time.Time {
	var n int64
	if age := now.Sub(birth); age > 0 {
		n = int64(math.Sqrt(age.Seconds()))
	}
	n += skip
	return birth.Add(time.Duration(n*n) * time.Second)
}
