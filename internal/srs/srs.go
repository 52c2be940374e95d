// Package srs is the Sender Rewriting Scheme (Shevek's SRS paper, 2004;
// the format of libsrs2, which postsrsd and the qmail SRS patches use):
// mail that goqmail forwards leaves with an envelope sender in its own
// domain, so the next hop's SPF check (RFC 7208) asks about goqmail's
// domain rather than the original sender's, and a bounce to that address
// comes back here, is checked and goes on to the original sender.
//
//	SRS0=HHHH=TT=orig.example=user@srs.example
//	SRS1=HHHH=hop.example==HHHH=TT=orig.example=user@srs.example
//
// HHHH is the first four characters of base64(HMAC-SHA1(secret,
// lower-case(the fields that follow))), TT the day (days since 1970 mod
// 1024, two base-32 digits). SRS1 is the form for a sender that is
// already another forwarder's SRS0 address: it keeps that forwarder's
// host and address (without rehashing them) behind a hash of its own, so
// the address stays short however many hops it takes (libsrs2's
// srs_forward). Several secrets verify and the first signs, for rotation.
//
// No module on the Go module proxy offers this (github.com/mileusna/srs,
// the usual suggestion, is not served there), and the scheme is a page of
// code: it is ours. Its addresses follow libsrs2's layout and hash; no
// test here compares them with libsrs2's output (none is installed).
package srs

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Codec makes and checks SRS addresses of one domain.
type Codec struct {
	Domain  string   // the SRS domain (control/srsdomain)
	Secrets []string // the first makes addresses; all are accepted
	MaxAge  int      // days an address is valid (control/srsmaxage)
	Now     func() time.Time
}

// Errors of Reverse; each wraps ErrInvalid.
var (
	ErrInvalid  = errors.New("invalid SRS address")
	ErrNotSRS   = fmt.Errorf("%w: not an SRS address of this domain", ErrInvalid)
	ErrBadHash  = fmt.Errorf("%w: the hash does not match (forged, or made with a secret no longer listed)", ErrInvalid)
	ErrExpired  = fmt.Errorf("%w: too old", ErrInvalid)
	ErrSyntax   = fmt.Errorf("%w: malformed", ErrInvalid)
	errNoSecret = errors.New("srs: no secret")
)

const (
	hashLen   = 4
	timeChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" // base 32, RFC 4648's alphabet
	timeSlots = 1024                               // 2 base-32 digits
	day       = 24 * time.Hour
)

func (c *Codec) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// hash is libsrs2's srs_hash_create: HMAC-SHA1 over the lower-cased
// fields, base64, the first four characters.
func hash(secret string, fields ...string) string {
	m := hmac.New(sha1.New, []byte(secret))
	for _, f := range fields {
		m.Write([]byte(strings.ToLower(f)))
	}
	return base64.StdEncoding.EncodeToString(m.Sum(nil))[:hashLen]
}

// checkHash accepts a hash made by any secret. The comparison ignores
// case, as libsrs2 does: some MTAs lower-case the local part.
func (c *Codec) checkHash(h string, fields ...string) bool {
	for _, s := range c.Secrets {
		if hmac.Equal([]byte(strings.ToLower(hash(s, fields...))), []byte(strings.ToLower(h))) {
			return true
		}
	}
	return false
}

func (c *Codec) stamp() string {
	t := (c.now().Unix() / int64(day/time.Second)) % timeSlots
	return string([]byte{timeChars[t>>5&31], timeChars[t&31]})
}

// checkStamp is libsrs2's srs_timestamp_check: the stamp's day, taken as
// at most 1023 days before today, must be within MaxAge days.
func (c *Codec) checkStamp(ts string) error {
	if len(ts) != 2 {
		return ErrSyntax
	}
	var then int64
	for i := 0; i < 2; i++ {
		k := strings.IndexByte(timeChars, upper(ts[i]))
		if k < 0 {
			return ErrSyntax
		}
		then = then<<5 | int64(k)
	}
	now := (c.now().Unix() / int64(day/time.Second)) % timeSlots
	for now < then {
		now += timeSlots
	}
	if now > then+int64(c.MaxAge) {
		return ErrExpired
	}
	return nil
}

func upper(b byte) byte {
	if 'a' <= b && b <= 'z' {
		return b - 'a' + 'A'
	}
	return b
}

// split cuts an address at its last '@'.
func split(addr string) (local, domain string, ok bool) {
	i := strings.LastIndexByte(addr, '@')
	if i <= 0 || i == len(addr)-1 {
		return "", "", false
	}
	return addr[:i], addr[i+1:], true
}

// srsTag says whether local starts with SRS0 or SRS1 and a separator
// (libsrs2 accepts '=', '+' and '-' after the tag).
func srsTag(local string) (tag byte, rest string, ok bool) {
	if len(local) < 5 || !strings.EqualFold(local[:3], "SRS") || (local[3] != '0' && local[3] != '1') {
		return 0, "", false
	}
	switch local[4] {
	case '=', '+', '-':
		return local[3], local[5:], true
	}
	return 0, "", false
}

// IsSRS says whether addr looks like an SRS address of this domain (not
// whether it is valid).
func (c *Codec) IsSRS(addr string) bool {
	local, domain, ok := split(addr)
	if !ok || !strings.EqualFold(domain, c.Domain) {
		return false
	}
	_, _, ok = srsTag(local)
	return ok
}

// Forward rewrites the sender of a message goqmail forwards. The caller
// leaves out the null sender and senders of its own domains.
func (c *Codec) Forward(sender string) (string, error) {
	if len(c.Secrets) == 0 {
		return "", errNoSecret
	}
	local, host, ok := split(sender)
	if !ok {
		return "", fmt.Errorf("srs: sender %q has no domain", sender)
	}
	secret := c.Secrets[0]
	if tag, rest, ok := srsTag(local); ok {
		var firstHost, user string
		if tag == '0' {
			// Another forwarder's SRS0: keep its host and its address.
			firstHost, user = host, local[4:] // "=HHHH=TT=orig=user"
		} else {
			// An SRS1: keep the first forwarder's host and the rest.
			_, after, ok := strings.Cut(rest, "=")
			if !ok {
				return c.srs0(secret, local, host), nil
			}
			fh, u, ok := strings.Cut(after, "=")
			if !ok || fh == "" {
				return c.srs0(secret, local, host), nil
			}
			firstHost, user = fh, u
		}
		return "SRS1=" + hash(secret, firstHost, user) + "=" + firstHost + "=" + user + "@" + c.Domain, nil
	}
	return c.srs0(secret, local, host), nil
}

func (c *Codec) srs0(secret, local, host string) string {
	ts := c.stamp()
	return "SRS0=" + hash(secret, ts, host, local) + "=" + ts + "=" + host + "=" + local + "@" + c.Domain
}

// Reverse turns an SRS address of this domain back into the address it
// stands for: the original sender (SRS0), or the previous forwarder's
// SRS0 address (SRS1). checkAge refuses an SRS0 address older than MaxAge
// days; the SMTP server checks it, the scheduler (which sees only what
// the SMTP server or a local program queued) does not.
func (c *Codec) Reverse(addr string, checkAge bool) (string, error) {
	local, domain, ok := split(addr)
	if !ok || !strings.EqualFold(domain, c.Domain) {
		return "", ErrNotSRS
	}
	tag, rest, ok := srsTag(local)
	if !ok {
		return "", ErrNotSRS
	}
	if tag == '1' {
		// HHHH=firsthost==HHHH=TT=orig=user
		h, after, ok1 := strings.Cut(rest, "=")
		firstHost, user, ok2 := strings.Cut(after, "=")
		if !ok1 || !ok2 || firstHost == "" || !strings.HasPrefix(user, "=") && !strings.HasPrefix(user, "+") && !strings.HasPrefix(user, "-") {
			return "", ErrSyntax
		}
		if !c.checkHash(h, firstHost, user) {
			return "", ErrBadHash
		}
		return "SRS0" + user + "@" + firstHost, nil
	}
	// HHHH=TT=orig=user; the user part may itself hold '='.
	parts := strings.SplitN(rest, "=", 4)
	if len(parts) != 4 || parts[2] == "" || parts[3] == "" {
		return "", ErrSyntax
	}
	h, ts, host, user := parts[0], parts[1], parts[2], parts[3]
	if !c.checkHash(h, ts, host, user) {
		return "", ErrBadHash
	}
	if checkAge {
		if err := c.checkStamp(ts); err != nil {
			return "", err
		}
	}
	return user + "@" + host, nil
}
