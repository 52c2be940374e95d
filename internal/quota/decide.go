package quota

import "time"

// SmallMessage is the size up to which a message is delivered even to a
// full mailbox. vpopmail's vdelivermail let messages of at most about 1 KB
// through ("Messages ≤1 KB are always delivered", ../shared/reference/
// qmail.md section 7), so that "your mailbox is full" warnings and bounce
// notices still reach the user, who can then make room.
const SmallMessage = 1000

// OverQuotaGrace is how long a message for a full mailbox is deferred
// before it bounces: long enough for a user who was warned to delete some
// mail, short enough that the sender soon learns the message did not
// arrive. vpopmail bounced at once; Maildir++ notes that keeping mail for
// a full Maildir queued just moves the backlog into the queue.
const OverQuotaGrace = time.Hour

// Texts of the two refusals, in qmail-local's style with the RFC 3463
// status codes 4.2.2 / 5.2.2 (mailbox full).
const (
	textFullTemporary = "The user's mailbox is full. (#4.2.2)"
	textFullPermanent = "The user's mailbox is full; I've given up. (#5.2.2)"
)

// Decide says what to do with a message of size bytes for a mailbox that
// holds u under limits lim, age being how long the message has been queued
// (now minus its queue birth):
//   - it fits: deliver (ok);
//   - it is at most SmallMessage bytes: deliver anyway (vpopmail);
//   - it is younger than OverQuotaGrace: temporary failure, text says so;
//   - otherwise: permanent failure, the message bounces.
//
// A negative age (a clock step) counts as young.
func Decide(u Usage, lim Limits, size int64, age time.Duration) (ok bool, permanent bool, text string) {
	switch {
	case lim.Fits(u, size), size <= SmallMessage:
		return true, false, ""
	case age < OverQuotaGrace:
		return false, false, textFullTemporary
	}
	return false, true, textFullPermanent
}
