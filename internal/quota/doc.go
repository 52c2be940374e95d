// Package quota keeps Maildir++ quotas: the "maildirsize" file at the root
// of a Maildir that Courier (maildrop, deliverquota, Courier-IMAP),
// vpopmail's vdelivermail and Dovecot's "maildir" quota backend all read
// and write, so one file serves the delivery agent and the IMAP server.
//
// Sources, cited where each rule is implemented:
//
//   - [Maildir++] Courier's specification, README.maildirquota
//     (courier-mta.org/imap/README.maildirquota.html; courier-libs
//     maildir/README.maildirquota.html), sections "Contents of
//     maildirsize", "Calculating maildirsize", "Calculating the quota for a
//     Maildir++" and "Delivering to a Maildir++".
//   - [courier] courier-libs maildir/maildirquota.c, the reference code.
//   - [dovecot-doc] doc.dovecot.org, configuration_manual/quota/quota_maildir
//     ("Quota Backend: maildir"): Dovecot implements the Maildir++
//     specification and stays compatible with Courier, maildrop and Exim;
//     the header is "<storage limit in bytes>S,<messages limit>C".
//   - [dovecot] dovecot/core src/plugins/quota/quota-maildir.c, which
//     decides what Dovecot accepts and what it rewrites.
//   - [vpopmail] vpopmail's vdelivermail.c and maildirquota.c (a copy of
//     Courier's code), and ../shared/reference/qmail.md section 7.
//
// The file:
//
//	1048576S,1000C        the quota definition (either part optional)
//	123456 17             a full count, written by a recalculation
//	2048 1                one line appended per delivered message
//	-2048 -1              (removals, written by IMAP servers)
//
// Readers add up the lines. The file is a cache: whenever it is missing,
// too long, unparseable, written for other limits, or claims "over quota"
// without being fresh, it is thrown away and rebuilt from a scan of the
// Maildir (Check does this). No locks are taken, as the specification
// intends: appends use O_APPEND and rebuilds use rename, and a race can
// leave the totals slightly off until the next rebuild.
//
// Decide holds the delivery policy goqmail-local applies to a mailbox that
// is full: vpopmail's "small messages still get through", then a temporary
// failure while the message is young and a bounce once it is old.
package quota
