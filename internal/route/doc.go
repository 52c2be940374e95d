// Package route decides where mail for a remote domain goes: the
// smtproutes table, MX, A and AAAA lookups through a Resolver, and the
// dead-host memory that skips hosts whose connects timed out (qmail's
// tcpto). It opens no SMTP connection; internal/remote does that with the
// Plan this package returns.
//
// The rules are qmail-remote's (shared/reference/qmail.md 6.3), with the
// changes goqmail makes on purpose:
//   - IPv6: AAAA records and [IPv6:...] literals are used, not only IPv4.
//   - Null MX (RFC 7505) bounces at once with #5.1.10.
//   - No CNAME canonicalisation of the recipient domain (notqmail dropped
//     it too): the resolver follows CNAMEs while looking up MX and
//     addresses.
//   - An smtproutes relay that does not resolve defers instead of bouncing.
//   - smtproutes lines may carry AUTH PLAIN credentials.
//   - When every target is marked dead, all are tried anyway.
//
// DNS failures split two ways, as in qmail's dns.c: ErrNotFound (NXDOMAIN
// or no records of the type) is a hard answer, anything else is temporary
// and makes the delivery a deferral.
package route
