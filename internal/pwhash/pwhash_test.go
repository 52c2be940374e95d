package pwhash

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

// Vectors from outside this package: the crypt ones are glibc's test
// vectors (crypt-sha512.c, crypt-sha256.c), confirmed with
// `openssl passwd -6/-5/-1 -salt ...`; the bcrypt one is crypt_blowfish's
// ("U*U"); the argon2i one is the example in the reference
// implementation's README (phc-winner-argon2).
var knownVectors = []struct {
	name, stored, password string
}{
	{"sha512 default rounds", "{SHA512-CRYPT}$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", "Hello world!"},
	{"sha512 rounds=10000", "{SHA512-CRYPT}$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.", "Hello world!"},
	{"sha256", "{SHA256-CRYPT}$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5", "Hello world!"},
	{"md5", "{MD5-CRYPT}$1$saltstri$YMyguxXMBpd2TEZ.vS/3q1", "Hello world!"},
	{"crypt alias of md5", "{CRYPT}$1$saltstri$YMyguxXMBpd2TEZ.vS/3q1", "Hello world!"},
	{"lower-case scheme", "{sha512-crypt}$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", "Hello world!"},
	{"bcrypt 2a", "{BLF-CRYPT}$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U"},
	{"bcrypt 2y", "{BLF-CRYPT}$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U"},
	{"argon2i reference", "{ARGON2I}$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG", "password"},
	{"plain", "{PLAIN}secret pass", "secret pass"},
}

func TestKnownVectors(t *testing.T) {
	for _, v := range knownVectors {
		t.Run(v.name, func(t *testing.T) {
			ok, err := Verify(v.stored, v.password)
			if err != nil || !ok {
				t.Fatalf("right password: %v, %v", ok, err)
			}
			ok, err = Verify(v.stored, v.password+"x")
			if err != nil || ok {
				t.Fatalf("wrong password: %v, %v", ok, err)
			}
			if err := Valid(v.stored); err != nil {
				t.Fatalf("Valid: %v", err)
			}
		})
	}
}

// dovecotArgon2id builds the string `doveadm pw -s ARGON2ID` writes
// (libsodium's crypto_pwhash_str): standard base64 without padding.
func dovecotArgon2id(password string, salt []byte, m, t uint32, p uint8) string {
	key := argon2.IDKey([]byte(password), salt, t, m, p, 32)
	b := base64.RawStdEncoding
	return fmt.Sprintf("{ARGON2ID}$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", m, t, p, b.EncodeToString(salt), b.EncodeToString(key))
}

func TestArgon2idDovecotForm(t *testing.T) {
	stored := dovecotArgon2id("correct horse", []byte("0123456789abcdef"), 1024, 2, 1)
	for _, tc := range []struct {
		pw   string
		want bool
	}{{"correct horse", true}, {"correct horsf", false}, {"", false}} {
		ok, err := Verify(stored, tc.pw)
		if err != nil || ok != tc.want {
			t.Errorf("Verify(%q) = %v, %v; want %v", tc.pw, ok, err, tc.want)
		}
	}
	// Padded base64 is accepted too.
	padded := strings.Replace(stored, "$MDEyMzQ1Njc4OWFiY2RlZg$", "$MDEyMzQ1Njc4OWFiY2RlZg==$", 1)
	if padded == stored {
		t.Fatal("test did not pad the salt")
	}
	if ok, err := Verify(padded, "correct horse"); err != nil || !ok {
		t.Errorf("padded: %v, %v", ok, err)
	}
}

func TestHash(t *testing.T) {
	h, err := HashCost("pässword", 4)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "{BLF-CRYPT}$2y$04$") || len(h) != len("{BLF-CRYPT}")+60 {
		t.Fatalf("hash %q", h)
	}
	if Scheme(h) != "BLF-CRYPT" {
		t.Errorf("Scheme = %q", Scheme(h))
	}
	if ok, err := Verify(h, "pässword"); err != nil || !ok {
		t.Errorf("verify own hash: %v, %v", ok, err)
	}
	if ok, _ := Verify(h, "password"); ok {
		t.Error("verified a wrong password")
	}
	h2, _ := HashCost("pässword", 4)
	if h2 == h {
		t.Error("two hashes of one password are equal: no salt")
	}
	if _, err := HashCost(strings.Repeat("a", 73), 4); !errors.Is(err, ErrPasswordTooLong) {
		t.Errorf("73-byte password: %v", err)
	}
	if _, err := HashCost("x", 3); err == nil {
		t.Error("cost 3 accepted")
	}
	if _, err := HashCost("x", MaxBcryptCost+1); err == nil {
		t.Error("cost above the maximum accepted")
	}
}

func TestDefaultCost(t *testing.T) {
	if testing.Short() {
		t.Skip("bcrypt cost 10")
	}
	h, err := Hash("x")
	if err != nil || !strings.HasPrefix(h, "{BLF-CRYPT}$2y$10$") {
		t.Fatalf("%q, %v", h, err)
	}
}

func TestMalformed(t *testing.T) {
	for _, tc := range []struct{ stored, why string }{
		{"", "no {SCHEME} prefix"},
		{"$6$saltstring$abc", "no {SCHEME} prefix"},
		{"{}x", "no {SCHEME} prefix"},
		{"{SHA1}abc", "unsupported scheme {SHA1}"},
		{"{BLF-CRYPT}$2x$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "version $2x$ not supported"},
		{"{BLF-CRYPT}$2y$31$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "bcrypt cost 31 out of range"},
		{"{BLF-CRYPT}$2y$05$CCCC", "60 characters"},
		{"{BLF-CRYPT}$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe!", "outside"},
		{"{SHA512-CRYPT}$6$rounds=999999999$salt$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", "rounds=999999999 out of range"},
		{"{SHA512-CRYPT}$6$rounds=10$salt$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", "rounds=10 out of range"},
		{"{SHA512-CRYPT}$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5", "does not start with $6$"},
		{"{SHA256-CRYPT}$5$saltstring$short", "hash is not 43 characters"},
		{"{MD5-CRYPT}$1$saltstring$YMyguxXMBpd2TEZ.vS/3q1", "salt longer than 8"},
		{"{ARGON2ID}$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG", "does not start with $argon2id$"},
		{"{ARGON2I}$argon2i$v=16$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG", "version \"v=16\""},
		{"{ARGON2I}$argon2i$v=19$m=4194304,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG", "m=4194304 out of range"},
		{"{ARGON2I}$argon2i$v=19$m=65536,t=0,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG", "t=0 out of range"},
		{"{ARGON2I}$argon2i$v=19$m=65536,t=2$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG", "want parameters"},
		{"{ARGON2I}$argon2i$v=19$m=65536,t=2,p=4$c2$RdescudvJCsgt3ub+b+dWRWJTmaaJObG", "salt"},
		{"{CRYPT}abJnggxhB/yWI", "not a crypt format we verify"},
	} {
		ok, err := Verify(tc.stored, "Hello world!")
		if ok || !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("Verify(%q) = %v, %v; want error containing %q", tc.stored, ok, err, tc.why)
		}
		if err := Valid(tc.stored); err == nil {
			t.Errorf("Valid(%q) = nil", tc.stored)
		}
	}
}

func TestFromCrypt(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"$1$saltstri$YMyguxXMBpd2TEZ.vS/3q1", "{MD5-CRYPT}$1$saltstri$YMyguxXMBpd2TEZ.vS/3q1"},
		{"$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5", "{SHA256-CRYPT}$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"},
		{"$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", "{SHA512-CRYPT}$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"},
		{"$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "{BLF-CRYPT}$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"},
	} {
		got, err := FromCrypt(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("FromCrypt(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"abJnggxhB/yWI", "", "$6$x", "$1$toolongsalt$YMyguxXMBpd2TEZ.vS/3q1", "*", "!$6$saltstring$x"} {
		if got, err := FromCrypt(bad); err == nil || !errors.Is(err, ErrMalformed) {
			t.Errorf("FromCrypt(%q) = %q, %v; want ErrMalformed", bad, got, err)
		}
	}
}

func TestScheme(t *testing.T) {
	for in, want := range map[string]string{
		"{BLF-CRYPT}$2y$...": "BLF-CRYPT",
		"{argon2id}x":        "ARGON2ID",
		"{PLAIN}":            "PLAIN",
		"plain":              "",
		"{no end":            "",
		"{a b}x":             "",
		"{}":                 "",
	} {
		if got := Scheme(in); got != want {
			t.Errorf("Scheme(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLongPasswordIsNoMatch(t *testing.T) {
	long := strings.Repeat("a", MaxPasswordLen+1)
	if ok, err := Verify("{PLAIN}"+long, long); ok || err != nil {
		t.Errorf("over-long password: %v, %v", ok, err)
	}
	// bcrypt: past 72 bytes no match, even though the first 72 agree.
	h, _ := HashCost(strings.Repeat("b", 72), 4)
	if ok, err := Verify(h, strings.Repeat("b", 73)); ok || err != nil {
		t.Errorf("73 bytes against a 72-byte hash: %v, %v", ok, err)
	}
}
