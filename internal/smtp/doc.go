// Package smtp is the grammar of goqmail's SMTP server: reading command
// lines, splitting verbs, the strict DATA reader and the reply type.
//
// It holds no policy, no session state and no sockets; the session reads
// through a *bufio.Reader and writes Reply values. Everything here follows
// RFC 5321 and the behaviour of qmail-smtpd (see docs and
// shared/reference/qmail.md section 6.1), with one deliberate difference:
// qmail drops the connection on a bare LF inside DATA, we read on to the
// real end of data and report it (DataStats.BareCRLF) so the session can
// answer and stay in sync, which closes SMTP smuggling either way.
package smtp
