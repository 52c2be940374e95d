// Command goqmail-sendmail is goqmail's sendmail(8): the way programs and
// mail user agents on this host send mail. Installed as ROOT/bin/sendmail
// with the names mailq and newaliases as symbolic links to it (and, for a
// system-wide MTA, /usr/sbin/sendmail and /usr/lib/sendmail pointing at it);
// the name it is invoked as selects the mode, as for Postfix.
//
//	sendmail [options] [recipient ...]    read a message, queue it (-bm)
//	sendmail -t [options] [recipient ...] recipients also from To/Cc/Bcc
//	sendmail -bs                          SMTP on stdin/stdout
//	mailq, sendmail -bp                   goqmail queue list -root ROOT
//	newaliases, sendmail -bi, -I          nothing to do (see below)
//
// Options follow Postfix's sendmail(1): -f/-r sender ("" or "<>" = null
// sender), -F full name, -i/-oi (a lone "." does not end the input), -t,
// -v (report the queue id; log the -bs session to stderr). -B, -C, -d, -h,
// -L, -N, -n, -O, -o, -R, -U, -V, -X and the rest of Postfix's letters are
// accepted and ignored; -q says there is no queue runner and exits 0.
//
// ROOT is --root ROOT (or -root ROOT, a word of its own, which is never
// read as -r oot), else $GOQMAIL_ROOT, else the parent of the directory
// holding the executable (symbolic links resolved) when that directory is
// named bin and ROOT/control/me exists, else /var/goqmail when it has
// control/me: the rule of every goqmail command (internal/rootdir) plus
// the installed program's own directory. --help, or -h with nothing after
// it (-h is otherwise the hop count), prints the usage. Header completion (internal/inject) reads
// control/defaulthost, defaultdomain and idhost, overridden by
// QMAILDEFAULTHOST, QMAILDEFAULTDOMAIN and QMAILIDHOST; the From user, host
// and name and the envelope sender come from QMAILUSER, MAILUSER, USER,
// LOGNAME, QMAILHOST, MAILHOST, QMAILNAME, MAILNAME, NAME, QMAILSUSER,
// QMAILSHOST and the password entry, as for qmail-inject(8).
//
// Exit status (sysexits.h): 0 queued; 64 bad option or address, or no
// recipients (the message is followed by the usage); 65 a message that cannot be sent (NUL byte, header over 1 MB);
// 73 the queue refused the message for good; 74 standard input could not be
// read; 75 the queue is not running or answered "try again"; 78 no goqmail
// directory or unreadable controls.
//
// newaliases has nothing to do because goqmail-lspawn reads the aliases
// file named in control/aliases directly; it says so and exits 0, so
// package scripts that run it after editing /etc/aliases keep working.
//
// SECURITY: not set-uid or set-gid, and needs no privilege: it runs as the
// invoking user and talks to the queue through ROOT/run/submit.sock (mode
// 0666). The queue takes the submitter's uid from the socket (SO_PEERCRED)
// and records it in its own Received line, so nothing this program is told
// (environment, -f, From) can hide who sent a message. It parses only its
// own user's input.
package main
