package vdir

import (
	"fmt"
	"strings"

	"goqmail/internal/pwhash"
)

// Resolve says what to do with mail to local@domain, in vpopmail's order:
// an alias domain stands for its target; then a user of that name gets
// it in their mailbox; then an alias forwards it; then postmaster (RFC
// 5321 4.5.1 requires one per domain) goes where the domain's postmaster
// setting says, else to the catch-all like any other unknown name; and
// everything else follows the catch-all rule. Local parts are compared in
// lower case, as vpopmail did.
//
// A local part outside the user/alias character set cannot name a user
// or alias but still reaches the catch-all. Errors are temporary: the
// directory could not be read.
func (f *Files) Resolve(local, domain string) (Result, error) {
	s, err := f.loadReal(domain, false)
	if err != nil {
		return Result{}, err
	}
	if s == nil {
		return Result{Kind: NoSuch, Why: "not a virtual domain"}, nil
	}
	return resolveIn(s, strings.ToLower(local)), nil
}

func resolveIn(s *snapshot, l string) Result {
	d := s.dom.Name
	if r, ok := lookupName(s, l); ok {
		return r
	}
	if l == "postmaster" && s.dom.Postmaster != "" {
		if strings.Contains(s.dom.Postmaster, "@") {
			return Result{Kind: Forward, Domain: d, Targets: []string{s.dom.Postmaster}}
		}
		if r, ok := lookupName(s, s.dom.Postmaster); ok {
			return r
		}
	}
	switch c := s.dom.Catchall; c.Kind {
	case CatchReject:
		return Result{Kind: Reject, Domain: d, Why: "catch-all rejects unknown names"}
	case CatchMailbox:
		if bx, ok := s.boxes[c.Target]; ok {
			return Result{Kind: Mailbox, Domain: d, Local: c.Target, Quota: bx.bytes, QuotaMessages: bx.messages}
		}
		return Result{Kind: NoSuch, Domain: d, Why: "catch-all mailbox " + c.Target + " does not exist"}
	case CatchForward:
		return Result{Kind: Forward, Domain: d, Targets: strings.Split(c.Target, ",")}
	}
	return Result{Kind: NoSuch, Domain: d, Why: "no such user or alias"}
}

// lookupName finds a user or an alias called l.
func lookupName(s *snapshot, l string) (Result, bool) {
	d := s.dom.Name
	if bx, ok := s.boxes[l]; ok {
		return Result{Kind: Mailbox, Domain: d, Local: l, Quota: bx.bytes, QuotaMessages: bx.messages}, true
	}
	if ts, ok := s.aliases[l]; ok {
		return Result{Kind: Forward, Domain: d, Targets: append([]string(nil), ts...)}, true
	}
	return Result{}, false
}

// dummyHash is verified against when a login names nobody, so that an
// unknown user costs as much time as a wrong password and a client
// cannot tell them apart by the clock.
func (f *Files) dummyHash() string {
	f.dummyOnce.Do(func() {
		h, err := pwhash.HashCost("no such user", f.cost)
		if err != nil {
			h = "{PLAIN}"
		}
		f.dummy = h
	})
	return f.dummy
}

// Authenticate checks a login "local@domain" (an alias domain stands for
// its target) and its password. It answers (User{}, false, nil) alike for
// an unknown user, a malformed login and a wrong password, after the same
// bcrypt work. An error means the directory or the user's stored hash is
// unusable: a temporary failure for the caller, worth logging.
func (f *Files) Authenticate(login, password string) (User, bool, error) {
	fail := func(err error) (User, bool, error) {
		pwhash.Verify(f.dummyHash(), password)
		return User{}, false, err
	}
	at := strings.LastIndexByte(login, '@')
	if at < 0 {
		return fail(nil)
	}
	l := strings.ToLower(login[:at])
	s, err := f.loadReal(login[at+1:], true)
	if err != nil || s == nil {
		return fail(err)
	}
	bx, ok := s.boxes[l]
	h, okh := s.hashes[l]
	if !ok || !okh {
		return fail(nil)
	}
	match, err := pwhash.Verify(h, password)
	if err != nil {
		return User{}, false, fmt.Errorf("user %s@%s: %w", l, s.dom.Name, err)
	}
	if !match {
		return User{}, false, nil
	}
	return User{Local: l, Domain: s.dom.Name, Hash: h, QuotaBytes: bx.bytes, QuotaMessages: bx.messages}, true, nil
}
