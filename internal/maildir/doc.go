// Package maildir delivers one message into a Maildir the way qmail-local
// does (man maildir.5, cr.yp.to/proto/maildir.html), with the durability
// qmail only assumed: write to tmp/, move into new/, and have both the file
// and its name on stable storage before reporting success.
//
// qmail-local forked one child per maildir delivery. goqmail's local
// delivery process instead stays up as the recipient and delivers many
// messages concurrently, so one Deliverer is shared by all its goroutines:
// it owns the per-process delivery counter used in unique names and a
// durable.Syncer, so concurrent deliveries share their fsyncs (group
// commit) while each delivery is still on disk before Deliver returns.
//
// Every error is a temporary failure for the caller: qmail-local exits 111
// (defer) when a maildir delivery fails, and the queue keeps the message.
// Errors wrap the system error with %w so callers can log ENOSPC or EDQUOT
// precisely.
package maildir
