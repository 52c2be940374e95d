package vdir

import (
	"fmt"
	"path/filepath"
	"strings"

	"goqmail/internal/pwhash"
)

// checkUser validates the fields of u an add or quota change uses.
func checkUser(u User) (User, error) {
	var err error
	if u.Local, err = CheckLocal(u.Local); err != nil {
		return User{}, err
	}
	if u.Domain, err = CheckDomain(u.Domain); err != nil {
		return User{}, err
	}
	if err := checkQuota("quota", u.QuotaBytes); err != nil {
		return User{}, err
	}
	if err := checkQuota("message quota", u.QuotaMessages); err != nil {
		return User{}, err
	}
	return u, nil
}

// checkPassword refuses passwords that could not be typed at a login
// prompt the same way twice, or that bcrypt would silently cut short.
func checkPassword(pw string) error {
	switch {
	case pw == "":
		return invalidf("empty password")
	case strings.ContainsAny(pw, "\r\n\x00"):
		return invalidf("password contains a line break or NUL byte")
	case len(pw) > 72:
		return invalidf("password is %d bytes long; bcrypt uses at most 72", len(pw))
	}
	return nil
}

func (f *Files) hash(password string) (string, error) {
	if err := checkPassword(password); err != nil {
		return "", err
	}
	return pwhash.HashCost(password, f.cost)
}

// AddUser adds local@domain with password hashed by bcrypt (Dovecot's
// BLF-CRYPT) and makes its Maildir. QuotaBytes 0 takes the domain's
// default quota (set 0 afterwards with SetQuota for none).
func (f *Files) AddUser(u User, password string) error {
	u, err := checkUser(u)
	if err != nil {
		return err
	}
	// Hash before taking the lock: bcrypt is the slow part.
	if u.Hash, err = f.hash(password); err != nil {
		return err
	}
	return f.addUser(u)
}

// AddUserHash adds a user with an existing hash (import from vpopmail or
// another Dovecot): it must be a {SCHEME} pwhash verifies.
func (f *Files) AddUserHash(u User) error {
	u, err := checkUser(u)
	if err != nil {
		return err
	}
	if err := pwhash.Valid(u.Hash); err != nil {
		return invalidf("user %s@%s: password hash: %v", u.Local, u.Domain, err)
	}
	if strings.ContainsAny(u.Hash, ":\r\n\x00") {
		return invalidf("user %s@%s: password hash contains ':' or a line break, which a passwd-file cannot hold", u.Local, u.Domain)
	}
	return f.addUser(u)
}

func (f *Files) addUser(u User) error {
	unlock, err := f.lock()
	if err != nil {
		return err
	}
	defer unlock()
	s, err := f.loadOwn(u.Domain, true)
	if err != nil {
		return err
	}
	if _, ok := s.boxes[u.Local]; ok {
		return existsf("user %s@%s already exists", u.Local, u.Domain)
	}
	if ts, ok := s.aliases[u.Local]; ok {
		return existsf("%s@%s is an alias (to %s): delete the alias first", u.Local, u.Domain, strings.Join(ts, ", "))
	}
	if u.QuotaBytes == 0 {
		u.QuotaBytes = s.dom.Quota
	}
	if err := f.makeMaildir(u.Local, u.Domain); err != nil {
		return fmt.Errorf("add user %s@%s: %w", u.Local, u.Domain, err)
	}
	boxes, hashes := copyMap(s.boxes), copyMap(s.hashes)
	boxes[u.Local] = box{u.QuotaBytes, u.QuotaMessages}
	hashes[u.Local] = u.Hash
	// passwd first: whenever the index names a user, its password is there.
	dir := filepath.Join(f.vdir, u.Domain)
	if err := f.writePasswd(dir, u.Domain, boxes, hashes); err != nil {
		return fmt.Errorf("add user %s@%s: %w", u.Local, u.Domain, err)
	}
	if err := f.writeMailboxes(dir, boxes); err != nil {
		return fmt.Errorf("add user %s@%s: %w", u.Local, u.Domain, err)
	}
	return nil
}

// existing loads local@domain's domain under the writer lock and checks
// the user exists.
func (f *Files) existing(local, domain string) (*snapshot, string, string, error) {
	l, err := CheckLocal(local)
	if err != nil {
		return nil, "", "", err
	}
	d, err := CheckDomain(domain)
	if err != nil {
		return nil, "", "", err
	}
	s, err := f.loadOwn(d, true)
	if err != nil {
		return nil, "", "", err
	}
	if _, ok := s.boxes[l]; !ok {
		return nil, "", "", notFoundf("no user %s@%s", l, d)
	}
	return s, l, d, nil
}

// SetPassword replaces a user's password.
func (f *Files) SetPassword(local, domain, password string) error {
	if _, _, err := SplitAddress(local + "@" + domain); err != nil {
		return err
	}
	h, err := f.hash(password)
	if err != nil {
		return err
	}
	unlock, err := f.lock()
	if err != nil {
		return err
	}
	defer unlock()
	s, l, d, err := f.existing(local, domain)
	if err != nil {
		return err
	}
	hashes := copyMap(s.hashes)
	hashes[l] = h
	if err := f.writePasswd(filepath.Join(f.vdir, d), d, s.boxes, hashes); err != nil {
		return fmt.Errorf("set password of %s@%s: %w", l, d, err)
	}
	return nil
}

// SetQuota replaces a user's limits (0 = unlimited).
func (f *Files) SetQuota(local, domain string, bytes, messages int64) error {
	if err := checkQuota("quota", bytes); err != nil {
		return err
	}
	if err := checkQuota("message quota", messages); err != nil {
		return err
	}
	unlock, err := f.lock()
	if err != nil {
		return err
	}
	defer unlock()
	s, l, d, err := f.existing(local, domain)
	if err != nil {
		return err
	}
	boxes := copyMap(s.boxes)
	boxes[l] = box{bytes, messages}
	dir := filepath.Join(f.vdir, d)
	if err := f.writeMailboxes(dir, boxes); err != nil {
		return fmt.Errorf("set quota of %s@%s: %w", l, d, err)
	}
	if err := f.writePasswd(dir, d, boxes, s.hashes); err != nil {
		return fmt.Errorf("set quota of %s@%s: %w", l, d, err)
	}
	return nil
}

// DeleteUser removes a user: from the index first (mail stops at once),
// then from passwd (logins stop). The mailbox is kept, renamed to
// ROOT/vmail/<domain>/.deleted-<local>-<time>. A user that is the
// domain's catch-all mailbox or postmaster cannot be deleted until that
// setting changes.
func (f *Files) DeleteUser(local, domain string) error {
	unlock, err := f.lock()
	if err != nil {
		return err
	}
	defer unlock()
	s, l, d, err := f.existing(local, domain)
	if err != nil {
		return err
	}
	if c := s.dom.Catchall; c.Kind == CatchMailbox && c.Target == l {
		return invalidf("user %s@%s is the catch-all mailbox of %s: change the catch-all first", l, d, d)
	}
	if s.dom.Postmaster == l {
		return invalidf("user %s@%s is the postmaster of %s: change the postmaster first", l, d, d)
	}
	boxes := copyMap(s.boxes)
	delete(boxes, l)
	dir := filepath.Join(f.vdir, d)
	if err := f.writeMailboxes(dir, boxes); err != nil {
		return fmt.Errorf("delete user %s@%s: %w", l, d, err)
	}
	if err := f.writePasswd(dir, d, boxes, s.hashes); err != nil {
		return fmt.Errorf("delete user %s@%s: %w", l, d, err)
	}
	return f.moveAside(f.MailboxHome(l, d), filepath.Join(f.vmail, d), l)
}

// SetAlias creates or replaces the alias local@domain. Targets are
// addresses; a bare local part means @domain. An address is a user or an
// alias, never both.
func (f *Files) SetAlias(a Alias) error {
	l, d, err := SplitAddress(a.Local + "@" + a.Domain)
	if err != nil {
		return err
	}
	ts, err := checkTargets(a.Targets, d, l+"@"+d)
	if err != nil {
		return fmt.Errorf("alias %s@%s: %w", l, d, err)
	}
	unlock, err := f.lock()
	if err != nil {
		return err
	}
	defer unlock()
	s, err := f.loadOwn(d, false)
	if err != nil {
		return err
	}
	if _, ok := s.boxes[l]; ok {
		return existsf("%s@%s is a user: an address is either a user or an alias", l, d)
	}
	aliases := copyMap(s.aliases)
	aliases[l] = ts
	if err := f.writeAliases(filepath.Join(f.vdir, d), aliases); err != nil {
		return fmt.Errorf("set alias %s@%s: %w", l, d, err)
	}
	return nil
}

// DeleteAlias removes the alias local@domain.
func (f *Files) DeleteAlias(local, domain string) error {
	l, d, err := SplitAddress(local + "@" + domain)
	if err != nil {
		return err
	}
	unlock, err := f.lock()
	if err != nil {
		return err
	}
	defer unlock()
	s, err := f.loadOwn(d, false)
	if err != nil {
		return err
	}
	if _, ok := s.aliases[l]; !ok {
		return notFoundf("no alias %s@%s", l, d)
	}
	if s.dom.Postmaster == l {
		return invalidf("alias %s@%s is the postmaster of %s: change the postmaster first", l, d, d)
	}
	aliases := copyMap(s.aliases)
	delete(aliases, l)
	if err := f.writeAliases(filepath.Join(f.vdir, d), aliases); err != nil {
		return fmt.Errorf("delete alias %s@%s: %w", l, d, err)
	}
	return nil
}
