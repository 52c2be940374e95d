package pwhash

import (
	"errors"
	"strings"
	"testing"
)

// cheap reports whether verifying stored costs little enough for a fuzzer
// to run it by the thousand; parsing is always exercised.
func cheap(stored string) bool {
	scheme, rest, ok := split(stored)
	if !ok {
		return true
	}
	switch scheme {
	case schemeBLFCRYPT, schemeCRYPT:
		return false
	case schemeARGON2ID, schemeARGON2I:
		v, err := parseArgon2(scheme, rest)
		if err != nil {
			return true
		}
		h := v.(argon2Hash)
		return h.m <= 4096 && h.t <= 4
	case schemeSHA512, schemeSHA256:
		return !strings.Contains(rest, "rounds=")
	}
	return true
}

// FuzzVerify feeds arbitrary stored strings and passwords: Verify must
// never panic, an error must wrap ErrMalformed and never come with true,
// Valid must agree with Verify about malformedness, and Scheme must return
// either "" or the upper-cased name between the braces.
func FuzzVerify(f *testing.F) {
	for _, v := range knownVectors {
		f.Add(v.stored, v.password)
	}
	f.Add("{ARGON2ID}$argon2id$v=19$m=1024,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$Fh3cj9qKgWjqDlyf3bqZC2y2AdAvwy0pQPFrwW1E0dc", "x")
	f.Add("{SHA256-CRYPT}$5$rounds=1000$s$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5", "")
	f.Add("{CRYPT}$6$$", "")
	f.Add("{", "")
	f.Fuzz(func(t *testing.T, stored, password string) {
		s := Scheme(stored)
		if s != "" {
			if !strings.HasPrefix(strings.ToUpper(stored), "{"+s+"}") {
				t.Fatalf("Scheme(%q) = %q", stored, s)
			}
		}
		verr := Valid(stored)
		if verr != nil && !errors.Is(verr, ErrMalformed) {
			t.Fatalf("Valid error does not wrap ErrMalformed: %v", verr)
		}
		if verr == nil && s == "" {
			t.Fatalf("Valid accepted %q without a scheme", stored)
		}
		if !cheap(stored) {
			return
		}
		ok, err := Verify(stored, password)
		if (err == nil) != (verr == nil) {
			t.Fatalf("Verify error %v but Valid error %v", err, verr)
		}
		if err != nil && ok {
			t.Fatal("true with an error")
		}
		if s == schemePLAIN && err == nil {
			_, rest, _ := split(stored)
			if ok != (rest == password && len(password) <= MaxPasswordLen) {
				t.Fatalf("PLAIN %q vs %q: %v", rest, password, ok)
			}
		}
	})
}

// FuzzFromCrypt: whatever FromCrypt accepts, Verify can use.
func FuzzFromCrypt(f *testing.F) {
	f.Add("$1$saltstri$YMyguxXMBpd2TEZ.vS/3q1")
	f.Add("$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1")
	f.Add("$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW")
	f.Add("$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG")
	f.Fuzz(func(t *testing.T, crypted string) {
		out, err := FromCrypt(crypted)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		if !strings.HasSuffix(out, "}"+crypted) || Scheme(out) == "" {
			t.Fatalf("FromCrypt(%q) = %q", crypted, out)
		}
		if err := Valid(out); err != nil {
			t.Fatalf("FromCrypt output not Valid: %v", err)
		}
	})
}
