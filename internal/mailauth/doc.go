// Package mailauth checks who may claim a message: SPF (RFC 7208) for the
// envelope's MAIL FROM and HELO, DKIM signatures (RFC 6376, RSA and
// Ed25519), and DMARC (RFC 7489) on top of both, and writes the outcome
// as Received-SPF (RFC 7208 9.1) and Authentication-Results (RFC 8601)
// header fields.
//
// The protocols' hard parts are well-kept libraries: blitiri.com.ar/go/spf
// (every mechanism, macro and lookup limit of RFC 7208) and
// github.com/emersion/go-msgauth (DKIM canonicalization and signatures,
// the DMARC record grammar). This package adds what a server needs around
// them: one DNS interface for every lookup, bounded in time; a DKIM
// verifier that takes the message in pieces as smtpd receives it; the
// DMARC evaluation (organizational domain from the public suffix list,
// alignment, policy and subdomain policy); and the header fields.
//
// It decides nothing about the SMTP session: smtpd (internal/smtpd,
// msgauth.go) turns the results into replies, header lines and the Junk
// verdict. Everything here runs in smtpd's unprivileged process.
package mailauth
