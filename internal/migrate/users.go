package migrate

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"goqmail/internal/pwhash"
	"goqmail/internal/quota"
	"goqmail/internal/vdir"
)

// maxClearPassword is the longest clear-text password bcrypt hashes
// without cutting it short (pwhash refuses longer ones).
const maxClearPassword = 72

// password is how an imported user's password is carried over.
type password struct {
	hash  string // an existing hash, in {SCHEME} form (AddUserHash)
	clear string // a clear-text password to hash anew (AddUser)
	what  string // for the report
	// lost says why no usable password could be carried over; the user
	// is imported with a random password nobody knows.
	lost string
}

// choosePassword keeps the vpasswd hash when it is one goqmail verifies
// ($1$ MD5-crypt, $5$/$6$ SHA-crypt, bcrypt: pwhash.FromCrypt). The
// traditional DES crypt of old vpopmail builds cannot be verified (and
// keeps only 8 characters of a password); then the clear-text field, if
// vpopmail kept one, gives a new hash; otherwise the password is lost.
func choosePassword(e VpasswdEntry) password {
	if h, err := pwhash.FromCrypt(e.Crypted); err == nil {
		return password{hash: h, what: pwhash.Scheme(h)}
	}
	kind := "unknown hash format"
	switch {
	case e.Crypted == "":
		kind = "empty password field"
	case isDESCrypt(e.Crypted):
		kind = "DES crypt"
	case strings.HasPrefix(e.Crypted, "$"):
		kind = "crypt format not verifiable: " + cryptPrefix(e.Crypted)
	}
	switch {
	case e.HasClear && e.Clear != "" && len(e.Clear) <= maxClearPassword:
		return password{clear: e.Clear, what: "BLF-CRYPT, new hash from the clear-text password; the old one was " + kind}
	case e.HasClear && len(e.Clear) > maxClearPassword:
		kind += ", clear-text password longer than 72 bytes"
	}
	return password{what: "no usable password", lost: kind}
}

// isDESCrypt recognizes a traditional crypt(3) string: 13 characters of
// the crypt alphabet (2 of salt, 11 of hash).
func isDESCrypt(s string) bool {
	if len(s) != 13 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '.' || c == '/' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// cryptPrefix is the "$id$" of a modular crypt string, never the hash.
func cryptPrefix(s string) string {
	if i := strings.IndexByte(s[1:], '$'); i >= 0 && i < 16 {
		return s[:i+2]
	}
	return "$?"
}

// randomPassword is a password nobody knows: a user whose password could
// not be carried over gets one, so the account exists (and receives
// mail) but cannot log in until the admin sets a password.
func randomPassword() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random password: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// importUser adds one vpasswd user (unless there) and copies the mailbox.
func (r *run) importUser(d *srcDomain, u *srcUser) error {
	addr := u.local + "@" + d.name
	if _, err := vdir.CheckLocal(u.local); err != nil {
		r.notCarried("user %s: %v", addr, err)
		return nil
	}
	qBytes, qMsgs, err := ParseQuota(u.entry.Quota)
	if err != nil {
		r.notCarried("quota of %s: %v; imported without a quota", addr, err)
		qBytes, qMsgs = 0, 0
	}
	if flags := u.entry.FlagNames(); len(flags) > 0 {
		r.notCarried("user %s: vpopmail flags %s (goqmail has no per-user service flags; the user can log in and receives mail)", addr, strings.Join(flags, ", "))
	}
	_, exists, err := r.opt.Dir.User(u.local, d.name)
	if err != nil {
		return fmt.Errorf("import user %s: %w", addr, err)
	}
	var parts []string
	if exists {
		parts = append(parts, "already there")
	} else {
		pw := choosePassword(u.entry)
		user := vdir.User{Local: u.local, Domain: d.name, Hash: pw.hash, QuotaBytes: qBytes, QuotaMessages: qMsgs}
		if !r.opt.DryRun {
			err := r.addUser(user, pw)
			switch {
			case errors.Is(err, vdir.ErrExists):
				pw.what = "already there"
			case err != nil && isRefusal(err):
				r.notCarried("user %s: %v", addr, err)
				return nil
			case err != nil:
				return fmt.Errorf("import user %s: %w", addr, err)
			}
		}
		if pw.lost != "" {
			r.notCarried("password for %s (%s); set one with goqmail user passwd", addr, pw.lost)
		}
		parts = append(parts, pw.what, FormatQuota(qBytes, qMsgs))
	}
	if u.home == "" {
		parts = append(parts, "no mailbox directory yet")
	} else {
		home := r.opt.Dir.MailboxHome(u.local, d.name)
		if err := r.mkdir(home, 0o700); err != nil {
			return err
		}
		st, err := r.copyMaildir(filepath.Join(u.home, "Maildir"), filepath.Join(home, "Maildir"))
		if err != nil {
			return fmt.Errorf("import user %s: %w", addr, err)
		}
		parts = append(parts, st.String())
		if !r.opt.DryRun {
			// The limits the deliveries will use: the directory's, which
			// an admin may have changed since an earlier run.
			cur, ok, err := r.opt.Dir.User(u.local, d.name)
			if err != nil {
				return fmt.Errorf("import user %s: %w", addr, err)
			}
			var lim quota.Limits
			if ok {
				lim = quota.Limits{Bytes: cur.QuotaBytes, Messages: cur.QuotaMessages}
			}
			note, err := r.recountQuota(addr, filepath.Join(home, "Maildir"), lim)
			if err != nil {
				return err
			}
			if note != "" {
				parts = append(parts, note)
			}
		}
	}
	if exists {
		r.say("user %s: %s", addr, strings.Join(parts, ", "))
	} else {
		r.say("user %s (%s)", addr, strings.Join(parts, ", "))
	}
	return nil
}

// addUser adds a user with the chosen password and quota.
func (r *run) addUser(u vdir.User, pw password) error {
	var err error
	switch {
	case pw.hash != "":
		err = r.opt.Dir.AddUserHash(u)
	case pw.clear != "":
		err = r.opt.Dir.AddUser(u, pw.clear)
	default:
		var random string
		if random, err = randomPassword(); err == nil {
			err = r.opt.Dir.AddUser(u, random)
		}
	}
	if err != nil {
		return err
	}
	// Set the quota explicitly: a new user may otherwise get the
	// domain's default, where vpopmail's NOQUOTA meant none.
	return r.opt.Dir.SetQuota(u.Local, u.Domain, u.QuotaBytes, u.QuotaMessages)
}
