// Package remote is the logic of goqmail's remote delivery program: an
// SMTP client that delivers one message to the recipients of one domain
// and reports a qmail-style result per recipient.
//
//	c := &remote.Client{Resolver: route.NewDNS(""), Routes: routes, HeloHost: helo, ...}
//	results := c.Deliver(ctx, remote.Job{Sender: s, Rcpts: rs, Domain: d, Size: n, Content: f})
//	defer c.Close() // QUIT the idle connections
//
// Routing (smtproutes, MX, A/AAAA, null MX, literals, "the best MX is
// me", dead hosts) is internal/route's; this package dials the targets in
// order and speaks SMTP. What it does, and where it departs from
// qmail-remote (shared/reference/qmail.md 6.3):
//
//   - EHLO, HELO when EHLO is refused. PIPELINING (RFC 2920), SIZE (RFC
//     1870: SIZE= sent; a message over the peer's limit fails at once with
//     #5.3.4, nothing sent), 8BITMIME (BODY=8BITMIME for 8-bit content when
//     offered; 8-bit content to a peer without it is sent as is, as qmail
//     and Postfix do), SMTPUTF8 (RFC 6531: sent when offered and the
//     envelope or header is not ASCII; a non-ASCII envelope to a peer
//     without it fails with #5.6.7).
//   - STARTTLS whenever offered (RFC 3207, opportunistic per RFC 7435:
//     TLS 1.2 or newer, certificate not checked). A failed handshake
//     moves on to the next host, and the same host is retried in
//     plaintext after every other host (a broken TLS stack should not
//     stop mail). Job.RequireTLS demands TLS with a certificate valid for
//     the MX host name: no fallback, a deferral otherwise. Port 465 is
//     TLS from the first byte (RFC 8314). DANE (RFC 7672) and MTA-STS
//     (RFC 8461) make TLS and a checked certificate mandatory for the
//     domains that publish them (tlspolicy.go); Client.Report hears every
//     outcome under a policy, for TLS-RPT (RFC 8460).
//   - AUTH PLAIN (RFC 4954) with smtproutes credentials, only after TLS;
//     any refusal defers (the admin fixes credentials; bouncing meanwhile
//     would lose mail).
//   - Next host after a failed connect, a greeting other than 220, EHLO
//     and HELO both refused, a TLS failure, a refused AUTH. Once MAIL is
//     sent the replies are the result (qmail's rule, THOUGHTS §6).
//   - Up to 100 recipients per transaction, per-recipient results.
//   - Connection reuse: after a transaction a connection stays idle for
//     Client.IdleTimeout and the next Job for the same address, port and
//     security takes it, with RSET first; at most 100 transactions and 5
//     minutes per connection. Client.MaxPerDest bounds the connections,
//     busy and idle, per address and port; a Job waits for a slot.
//   - Timeouts: ConnectTimeout per connect; ReplyTimeout per reply (one
//     deadline for the whole reply, so a peer dripping bytes cannot
//     stretch it) and per network write; the Job's context bounds it all.
//   - Dead hosts: connect timeouts are remembered in a route.DeadHosts
//     (qmail's tcpto rules, kept in memory only, so empty after a
//     restart).
//
// Results: 2xx after the end of data is success ('K'), 4xx a deferral
// ('Z'), 5xx permanent ('D'); the text is qmail's ("1.2.3.4:25 accepted
// message./Remote host said: 250 ok", "Connected to ... but sender was
// rejected./Remote host said: ...", '/' being qmail's line break), with the remote reply cleaned (no
// control characters, invalid UTF-8 as '?') and capped at 1500 bytes, the
// whole text at proto.MaxText. A connection lost or a reply missing after
// the final dot is a deferral saying "Possible duplicate!".
//
// Hostile peers: replies are parsed strictly (three digits 2xx-5xx, one
// code per reply, lines of at most 1000 bytes, 64 KB per reply; a bare LF
// ends a line, a stray CR or NUL is kept and cleaned). Bytes a peer sends
// out of turn are a protocol error: before any command, after "220" to
// STARTTLS (so nothing read before the handshake is used after it,
// CVE-2011-0411), after 354 and just before the final dot. Only a reply
// read after "\r\n.\r\n" went out can deliver; an early 4xx/5xx is taken
// as the peer's verdict, an early 2xx is never a delivery.
//
// The body: the queue holds LF line ends. On the wire every LF becomes
// CRLF, CR LF stays one CRLF, a lone CR becomes CRLF (it was meant as a
// line break; no bare CR is ever sent), a missing final line end is added
// (qmail bounces such messages), and lines starting with '.' are
// dot-stuffed (RFC 5321 4.5.2).
package remote
