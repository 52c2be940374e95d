package pwhash

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/GehirnInc/crypt"
	"github.com/GehirnInc/crypt/md5_crypt"
	"github.com/GehirnInc/crypt/sha256_crypt"
	"github.com/GehirnInc/crypt/sha512_crypt"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// bcryptHash is a parsed "$2y$10$<22 salt><31 hash>" string (the format
// of OpenBSD's bcrypt and crypt_blowfish). x/crypto's own parser is lax
// about the version letters, so the shape is checked here first.
type bcryptHash string

const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func parseBcrypt(s string) (verifier, error) {
	// $2y$NN$ + 53 characters.
	if len(s) != 60 || s[0] != '$' || s[1] != '2' || s[3] != '$' || s[6] != '$' {
		return nil, errors.New("not a $2y$NN$ bcrypt string of 60 characters")
	}
	if !strings.ContainsRune("aby", rune(s[2])) {
		return nil, fmt.Errorf("bcrypt version $2%c$ not supported", s[2])
	}
	if s[4] < '0' || s[4] > '9' || s[5] < '0' || s[5] > '9' {
		return nil, errors.New("bcrypt cost is not two digits")
	}
	cost := int(s[4]-'0')*10 + int(s[5]-'0')
	if cost < bcrypt.MinCost || cost > MaxBcryptCost {
		return nil, fmt.Errorf("bcrypt cost %d out of range %d..%d", cost, bcrypt.MinCost, MaxBcryptCost)
	}
	for i := 7; i < len(s); i++ {
		if strings.IndexByte(bcryptAlphabet, s[i]) < 0 {
			return nil, errors.New("bcrypt salt or hash has a character outside ./A-Za-z0-9")
		}
	}
	return bcryptHash(s), nil
}

func (h bcryptHash) verify(password string) bool {
	if len(password) > bcryptMaxPWLen {
		// Hash refuses these; other implementations truncate. No match
		// is the safe answer.
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(h), []byte(password)) == nil
}

// argon2Hash is Dovecot's (libsodium's) string form
// "$argon2id$v=19$m=65536,t=3,p=1$<salt>$<hash>", base64 without padding.
type argon2Hash struct {
	id        bool
	m, t      uint32
	p         uint8
	salt, key []byte
}

func parseArgon2(scheme, s string) (verifier, error) {
	want := "$argon2id$"
	if scheme == schemeARGON2I {
		want = "$argon2i$"
	}
	if !strings.HasPrefix(s, want) {
		return nil, fmt.Errorf("does not start with %s", want)
	}
	parts := strings.Split(s[len(want):], "$")
	if len(parts) != 4 {
		return nil, errors.New("want v=19$m=M,t=T,p=P$salt$hash")
	}
	if parts[0] != "v=19" {
		return nil, fmt.Errorf("argon2 version %q not supported (want v=19)", parts[0])
	}
	h := argon2Hash{id: scheme == schemeARGON2ID}
	params := strings.Split(parts[1], ",")
	if len(params) != 3 {
		return nil, errors.New("want parameters m=M,t=T,p=P")
	}
	var err error
	if h.m, err = argonParam(params[0], "m=", 8, MaxArgonMemory); err != nil {
		return nil, err
	}
	if h.t, err = argonParam(params[1], "t=", 1, MaxArgonTime); err != nil {
		return nil, err
	}
	p, err := argonParam(params[2], "p=", 1, 255)
	if err != nil {
		return nil, err
	}
	h.p = uint8(p)
	if h.m < 8*uint32(h.p) {
		return nil, fmt.Errorf("argon2 memory m=%d below 8*p", h.m)
	}
	if h.salt, err = unb64(parts[2]); err != nil || len(h.salt) < 8 || len(h.salt) > 1024 {
		return nil, errors.New("argon2 salt is not 8..1024 bytes of base64")
	}
	if h.key, err = unb64(parts[3]); err != nil || len(h.key) < 16 || len(h.key) > MaxArgonKeyLen {
		return nil, fmt.Errorf("argon2 hash is not 16..%d bytes of base64", MaxArgonKeyLen)
	}
	return h, nil
}

func argonParam(s, name string, lo, hi uint32) (uint32, error) {
	v, ok := strings.CutPrefix(s, name)
	if !ok {
		return 0, fmt.Errorf("argon2 parameter %q: want %sN", s, name)
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || uint32(n) < lo || uint32(n) > hi {
		return 0, fmt.Errorf("argon2 parameter %s%s out of range %d..%d", name, v, lo, hi)
	}
	return uint32(n), nil
}

// unb64 decodes standard base64 with or without padding, as libsodium
// writes it without and some tools add it.
func unb64(s string) ([]byte, error) {
	return base64.RawStdEncoding.Strict().DecodeString(strings.TrimRight(s, "="))
}

func (h argon2Hash) verify(password string) bool {
	var k []byte
	if h.id {
		k = argon2.IDKey([]byte(password), h.salt, h.t, h.m, h.p, uint32(len(h.key)))
	} else {
		k = argon2.Key([]byte(password), h.salt, h.t, h.m, h.p, uint32(len(h.key)))
	}
	return subtle.ConstantTimeCompare(k, h.key) == 1
}

// cryptHash is a glibc crypt(3) "$1$", "$5$" or "$6$" string.
type cryptHash struct {
	c      crypt.Crypter
	stored string
}

func parseCrypt(scheme, s string) (verifier, error) {
	var prefix string
	var c crypt.Crypter
	var b64len int
	switch scheme {
	case schemeMD5:
		prefix, c, b64len = "$1$", md5_crypt.New(), 22
	case schemeSHA256:
		prefix, c, b64len = "$5$", sha256_crypt.New(), 43
	default:
		prefix, c, b64len = "$6$", sha512_crypt.New(), 86
	}
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return nil, fmt.Errorf("does not start with %s", prefix)
	}
	fields := strings.Split(rest, "$")
	if prefix != "$1$" && len(fields) == 3 {
		r, ok := strings.CutPrefix(fields[0], "rounds=")
		if !ok {
			return nil, errors.New("want [rounds=N$]salt$hash")
		}
		n, err := strconv.Atoi(r)
		if err != nil || n < 1000 || n > MaxCryptRounds || strconv.Itoa(n) != r {
			return nil, fmt.Errorf("rounds=%s out of range 1000..%d", r, MaxCryptRounds)
		}
		fields = fields[1:]
	}
	if len(fields) != 2 {
		return nil, errors.New("want salt$hash")
	}
	// The library truncates salts (8 for MD5, 16 for SHA) as glibc does;
	// a longer one could never compare equal, so it is malformed here.
	maxSalt := 16
	if prefix == "$1$" {
		maxSalt = 8
	}
	if len(fields[0]) > maxSalt || strings.ContainsAny(fields[0], ":\n\x00") {
		return nil, fmt.Errorf("salt longer than %d characters", maxSalt)
	}
	if len(fields[1]) != b64len {
		return nil, fmt.Errorf("hash is not %d characters", b64len)
	}
	for i := 0; i < len(fields[1]); i++ {
		if strings.IndexByte(bcryptAlphabet, fields[1][i]) < 0 {
			return nil, errors.New("hash has a character outside ./A-Za-z0-9")
		}
	}
	return cryptHash{c: c, stored: s}, nil
}

func (h cryptHash) verify(password string) bool {
	// The library recomputes with the stored salt and compares in
	// constant time.
	return h.c.Verify(h.stored, []byte(password)) == nil
}
