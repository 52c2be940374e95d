// Command goqmail-vacation is the vacation autoresponder. A .qmail
// program line runs it for each delivered message, as the user, with
// qmail-local's environment (SENDER, RECIPIENT, DTLINE, ...;
// docs/delivery.md) and the message on standard input:
//
//	|/usr/local/bin/goqmail-vacation DIR
//
// DIR holds the settings the webmail wrote (internal/vacation: config,
// state). It replies at most once per sender per period, never to the
// null sender, mailer daemons, list or bulk mail or automatic messages,
// never when the user's address is not in To or Cc, never to the user
// (RFC 3834; internal/vacation.Decide). The reply goes to the queue's
// submit socket with the null envelope sender (RFC 3834 3.3: a response
// SHOULD NOT get a response, and bounces of it must not come back to a
// responder: the null sender ensures both), so the queue DKIM-signs it
// as any local submission.
//
// It always exits 0: a vacation reply is a courtesy, and qmail-local
// would bounce the incoming message on 100 or deliver it again on 111
// (docs/delivery.md). Every outcome, failures included, is one line on
// standard output, which goqmail-local puts into the delivery report
// (goqmail-send's log).
//
// SECURITY: it runs as the user and refuses to run as root. SENDER and
// the message are the network's: they are only parsed (net/mail, with a
// bound on the header), compared and quoted into the reply's header;
// nothing of them reaches a shell or a file name.
package main
