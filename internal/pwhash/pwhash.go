// Package pwhash hashes and verifies the passwords of virtual users in the
// "{SCHEME}hash" form Dovecot reads from a passwd-file (Dovecot's password
// schemes), so that one table serves goqmail's logins and Dovecot's IMAP.
//
// New passwords are hashed with bcrypt ({BLF-CRYPT}, cost 10). Verify also
// accepts the schemes a migration brings along: Argon2 ({ARGON2ID},
// {ARGON2I}, Dovecot's libsodium string form), the glibc crypt family
// ({SHA512-CRYPT}, {SHA256-CRYPT}, {MD5-CRYPT}: what vpopmail's vpasswd
// holds) and {PLAIN}, which is accepted for import but never produced.
//
// Every comparison of secret material is constant-time. Stored hashes whose
// cost parameters would let one login burn minutes of CPU or gigabytes of
// memory are refused as malformed (see the limits below): the table is
// written by the admin, but a mistake there should not become a denial of
// service.
package pwhash

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// DefaultCost is the bcrypt cost of new hashes: Dovecot's and PHP's default.
const DefaultCost = 10

// Limits on what a stored hash may ask for.
const (
	MaxBcryptCost  = 16        // 2^16 rounds: about 4 s; higher is a mistake
	MaxCryptRounds = 1_000_000 // SHA-crypt rounds (glibc default 5000)
	MaxArgonMemory = 1 << 20   // KiB (1 GiB)
	MaxArgonTime   = 64        // passes
	MaxArgonKeyLen = 1024      // bytes of the derived key
	MaxPasswordLen = 4096      // bytes; SHA-crypt costs grow with the square of the length
	bcryptMaxPWLen = 72        // bcrypt uses at most 72 bytes of a password
)

// Scheme names as Dovecot spells them.
const (
	schemePLAIN      = "PLAIN"
	schemeBLFCRYPT   = "BLF-CRYPT"
	schemeARGON2ID   = "ARGON2ID"
	schemeARGON2I    = "ARGON2I"
	schemeSHA512     = "SHA512-CRYPT"
	schemeSHA256     = "SHA256-CRYPT"
	schemeMD5        = "MD5-CRYPT"
	schemeCRYPT      = "CRYPT"
	blfPrefixDovecot = "$2y$"
)

// ErrMalformed is wrapped by every error about a stored hash that cannot be
// used: unknown scheme, bad syntax, excessive cost.
var ErrMalformed = errors.New("malformed password hash")

// ErrPasswordTooLong is returned by Hash for passwords bcrypt would
// silently truncate: refusing is better than a password whose tail does
// not matter.
var ErrPasswordTooLong = errors.New("password longer than 72 bytes")

// Hash returns password hashed with bcrypt at DefaultCost in Dovecot's form
// "{BLF-CRYPT}$2y$10$...".
func Hash(password string) (string, error) { return HashCost(password, DefaultCost) }

// HashCost is Hash with a chosen bcrypt cost (bcrypt.MinCost..MaxBcryptCost);
// tests use a low cost to stay fast.
func HashCost(password string, cost int) (string, error) {
	if len(password) > bcryptMaxPWLen {
		return "", ErrPasswordTooLong
	}
	if cost < bcrypt.MinCost || cost > MaxBcryptCost {
		return "", fmt.Errorf("bcrypt cost %d out of range %d..%d", cost, bcrypt.MinCost, MaxBcryptCost)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	// x/crypto writes "$2a$" but implements the corrected algorithm that
	// crypt_blowfish calls "$2y$" (and OpenBSD "$2b$"); "$2y$" is what
	// Dovecot's own BLF-CRYPT produces.
	return "{" + schemeBLFCRYPT + "}" + blfPrefixDovecot + string(h[4:]), nil
}

// Scheme returns the upper-cased scheme name of a stored "{SCHEME}hash",
// or "" when stored has no well-formed {SCHEME} prefix.
func Scheme(stored string) string {
	s, _, ok := split(stored)
	if !ok {
		return ""
	}
	return s
}

func split(stored string) (scheme, rest string, ok bool) {
	if !strings.HasPrefix(stored, "{") {
		return "", "", false
	}
	end := strings.IndexByte(stored, '}')
	if end < 2 || end > 32 {
		return "", "", false
	}
	scheme = strings.ToUpper(stored[1:end])
	for i := 0; i < len(scheme); i++ {
		c := scheme[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return "", "", false
		}
	}
	return scheme, stored[end+1:], true
}

// Valid reports, without a password, whether Verify can use stored: a
// scheme this package verifies, well formed, within the cost limits. Import
// uses it to refuse hashes it could never check.
func Valid(stored string) error {
	_, err := verify(stored, "", false)
	return err
}

// Verify reports whether password matches stored. A mismatch is (false,
// nil); an error means stored is unusable (it wraps ErrMalformed) and says
// why, without echoing the hash.
func Verify(stored, password string) (bool, error) {
	return verify(stored, password, true)
}

func verify(stored, password string, compute bool) (bool, error) {
	scheme, rest, ok := split(stored)
	if !ok {
		return false, fmt.Errorf("%w: no {SCHEME} prefix", ErrMalformed)
	}
	if len(password) > MaxPasswordLen {
		// Not a match for any stored hash we would produce; answered
		// before any expensive work.
		compute = false
	}
	var v verifier
	var err error
	switch scheme {
	case schemePLAIN:
		v = plainVerifier(rest)
	case schemeBLFCRYPT:
		v, err = parseBcrypt(rest)
	case schemeARGON2ID, schemeARGON2I:
		v, err = parseArgon2(scheme, rest)
	case schemeSHA512, schemeSHA256, schemeMD5:
		v, err = parseCrypt(scheme, rest)
	case schemeCRYPT:
		// Dovecot's CRYPT is libc crypt(3): accept the modular formats
		// we implement, under whatever name fits them.
		var s string
		s, err = cryptScheme(rest)
		if err == nil {
			return verify("{"+s+"}"+rest, password, compute)
		}
	default:
		return false, fmt.Errorf("%w: unsupported scheme {%s}", ErrMalformed, scheme)
	}
	if err != nil {
		return false, fmt.Errorf("%w: {%s}: %w", ErrMalformed, scheme, err)
	}
	if !compute || len(password) > MaxPasswordLen {
		return false, nil
	}
	return v.verify(password), nil
}

// verifier checks one password against one parsed stored hash.
type verifier interface{ verify(password string) bool }

type plainVerifier string

func (p plainVerifier) verify(password string) bool {
	return subtle.ConstantTimeCompare([]byte(p), []byte(password)) == 1
}

// FromCrypt turns a bare crypt(3) string, as vpopmail's vpasswd and
// /etc/shadow hold them ("$1$...", "$5$...", "$6$...", "$2y$...",
// "$argon2id$..."), into the {SCHEME} form, checking that Verify can use it.
// Traditional DES crypt is refused: it keeps 8 characters of a password.
func FromCrypt(crypted string) (string, error) {
	s, err := cryptScheme(crypted)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	out := "{" + s + "}" + crypted
	if err := Valid(out); err != nil {
		return "", err
	}
	return out, nil
}

func cryptScheme(crypted string) (string, error) {
	switch {
	case strings.HasPrefix(crypted, "$1$"):
		return schemeMD5, nil
	case strings.HasPrefix(crypted, "$5$"):
		return schemeSHA256, nil
	case strings.HasPrefix(crypted, "$6$"):
		return schemeSHA512, nil
	case strings.HasPrefix(crypted, "$2a$"), strings.HasPrefix(crypted, "$2b$"), strings.HasPrefix(crypted, "$2y$"):
		return schemeBLFCRYPT, nil
	case strings.HasPrefix(crypted, "$argon2id$"):
		return schemeARGON2ID, nil
	case strings.HasPrefix(crypted, "$argon2i$"):
		return schemeARGON2I, nil
	}
	return "", errors.New("not a crypt format we verify ($1$, $5$, $6$, $2a$/$2b$/$2y$, $argon2i$, $argon2id$)")
}
