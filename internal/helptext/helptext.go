// Package helptext holds the --help text of the programs other than
// `goqmail` (whose texts live in its command table), so that each program
// prints it and `goqmail install` renders the same text as its man page:
// the help and the manual cannot drift.
package helptext

// Root is the paragraph that says how a program finds its installation
// (internal/rootdir).
const Root = "ROOT: the argument, else -root ROOT, else $GOQMAIL_ROOT, else /var/goqmail.\n"

// Goqmaild is goqmaild's usage.
const Goqmaild = `usage: goqmaild [ROOT]
  Start the goqmail server of ROOT, a directory made by goqmail init or goqmail install.
  SIGTERM stops it, SIGHUP rereads the configuration, SIGALRM retries the queue.
` + Root

// Sendmail is goqmail-sendmail's usage (installed as ROOT/bin/sendmail,
// mailq and newaliases).
const Sendmail = `usage: sendmail [options] [recipient ...]    read a message, queue it
       sendmail -t [options] [recipient ...] recipients also from To, Cc, Bcc
       sendmail -bs                          SMTP on standard input and output
       mailq, sendmail -bp                   list the queue (goqmail queue list)
       newaliases, sendmail -bi              nothing to do: the aliases file is read directly
  -f SENDER  envelope sender ("" or "<>": none)   -F NAME  full name for From
  -i, -oi    a line with a lone "." does not end the message   -v  say the queue id
  --root ROOT  the goqmail installation; else $GOQMAIL_ROOT, else the ROOT whose bin/
             holds this program, else /var/goqmail ("-root ROOT" works too)
Options follow Postfix's sendmail(1); the others it knows are accepted and ignored.
Exit: 0 queued, 64 usage, 65 bad message, 73/75 refused for good/for now, 78 no ROOT.
`

// Metrics is goqmail-metrics' usage.
const Metrics = `usage: goqmail-metrics ROOT (started by goqmaild)
  Serve Prometheus metrics over HTTP (/metrics) on the addresses of
  control/metricslisten, which goqmaild binds and hands over; goqmaild starts it
  only when that file lists an address. The programs send their counts to
  ROOT/run/metrics.sock; only snapshots from each program's own account count.
  See docs/metrics.md for the metrics, sample queries and alert rules.
`

// QmailQueue is goqmail-qmail-queue's usage (installed as ROOT/bin/qmail-queue).
const QmailQueue = `usage: qmail-queue   (no arguments) message on descriptor 0, envelope on descriptor 1
  Queue one message as qmail-queue(8) does, for QMAILQUEUE filters (simscan,
  qmail-scanner, scripts) that smtpd runs: the envelope is F<sender>\0, then
  T<recipient>\0 for each recipient, then \0. It submits to ROOT/run/submit.sock.
  ROOT: $GOQMAIL_ROOT, else the ROOT whose bin/ holds this program, else /var/goqmail.
Exit: 0 queued; 11 address too long; 31 refused for good; 53 write error or
full disk; 54 read error or envelope cut short; 62 queue not running; 71 refused
for now; 81 usage; 82 the reason is on descriptor 6 (D permanent, Z temporary);
91 malformed envelope.
`

// Web is goqmail-web's usage.
const Web = `usage: goqmail-web ROOT (started by goqmaild)
  Serve the webmail, self-service and administration pages over HTTPS on the
  addresses of control/weblisten, which goqmaild binds and hands over. TLS from
  ROOT/acme/servercert.pem when it exists, else control/servercert.pem; SIGHUP looks
  again. Logins go to goqmail-auth (ROOT/run/auth.sock). See docs/web.md.
`

// Vacation is goqmail-vacation's usage.
const Vacation = `usage: goqmail-vacation DIR (in a .qmail program line: |goqmail-vacation DIR)
  The vacation autoresponder the webmail's settings write into a user's .qmail
  (docs/web.md). Reads the message on standard input and qmail-local's SENDER and
  RECIPIENT, and answers at most once per sender per period with the subject and
  text in DIR, from the null sender (RFC 3834 3.3). Never answers the null sender,
  MAILER-DAEMON, lists or bulk mail (Precedence, List-Id, List-Unsubscribe,
  Auto-Submitted), mail that does not name the user in To or Cc, or the user. Always
  exits 0: a failed reply never bounces the message. Refuses to run as root.
`
