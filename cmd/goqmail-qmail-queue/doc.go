// Command goqmail-qmail-queue is goqmail's qmail-queue(8), installed as
// ROOT/bin/qmail-queue: the program a QMAILQUEUE filter (simscan,
// qmail-scanner, a site's script) runs at its end to put the message into
// goqmail's queue, exactly as it would run qmail's.
//
// It reads the message on descriptor 0 until end of file, then the
// envelope on descriptor 1 (F<sender>\0, T<recipient>\0 ..., \0), and
// submits both through ROOT/run/submit.sock like sendmail; the queue
// records the submitter's uid from the socket. End of file before the
// envelope's last NUL means the caller gave up: nothing is queued. It takes
// no arguments (--help prints the usage) and prints no diagnostics, as
// qmail-queue: the exit code is the answer.
//
// Exit codes (qmail-queue(8)): 0 queued; 11 an address too long; 31 the
// queue refused the message for good; 53 write error or full disk (also
// $TMPDIR, where the message waits for its envelope); 54 the message or
// envelope could not be read, or the envelope ended early; 62 the queue is
// not running; 71 the queue refused the message for now; 81 bad usage; 91
// a malformed envelope. When descriptor 6 is a pipe (a caller that follows
// notqmail's custom-error convention, as goqmail-smtpd does) a refusal
// exits 82 with the queue's own text after D or Z on descriptor 6, and a
// success writes K and the queue id there, so smtpd names the message as
// it does without a filter.
//
// ROOT is $GOQMAIL_ROOT (smtpd sets it for its filters), else the parent of
// the directory holding the executable when that directory is named bin
// and ROOT/control/me exists, else /var/goqmail. The trace line: when
// TCPREMOTEIP is set (smtpd's filters; tcpserver's convention) the message
// is marked as coming from the network, which the queue honours only for
// smtpd's own uid; otherwise the queue adds "Received: (goqmail PID invoked
// by uid N)" as qmail-queue does.
//
// SECURITY: runs as its caller (smtpd's account, for a filter smtpd
// started) with no privilege of its own: it cannot write queue files, only
// talk to the queue's submit socket, which is open to every local user.
// The message waits in an unlinked file in $TMPDIR (mode 0600) because the
// envelope, which the queue needs first, comes after it.
package main
