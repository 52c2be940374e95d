package assign

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
)

// maxUserLen is qmail-getpw's GETPW_USERLEN: a candidate account name must be
// shorter than this many bytes.
const maxUserLen = 32

// extBreak is qmail's conf-break: the character that separates an account
// name from its extension (joe-list -> account joe, extension list).
const extBreak = '-'

// PasswdEntry is the part of a passwd entry that qmail-getpw uses.
type PasswdEntry struct {
	Name     string
	UID, GID int
	Home     string
}

// System is the account database and file system as LookupPasswd needs
// them. An error from either method means the answer is unknown right now;
// LookupPasswd passes it on so the delivery is deferred, never bounced.
type System interface {
	// LookupUser returns the account whose name is exactly name. A missing
	// account is (PasswdEntry{}, false, nil).
	LookupUser(name string) (PasswdEntry, bool, error)
	// HomeOwner returns the uid that owns home, following symbolic links as
	// stat(2) does. A home that does not exist must be reported with an
	// error matching fs.ErrNotExist or syscall.ENOTDIR (what os.Stat
	// returns); any other error is taken as temporary.
	HomeOwner(home string) (uid int, err error)
}

// LookupPasswd applies qmail-getpw's rules to a local part. Candidates are
// the whole local part, then each prefix ending just before a '-', longest
// first; each is lower-cased (ASCII only) and must be non-empty and shorter
// than 32 bytes. A candidate is accepted when its account exists, its uid is
// not 0, and its home directory exists and is owned by that uid: the owner
// check keeps mail for an account away from a home it does not control. The
// first accepted candidate gives the Entry: Dash "" and Ext "" for the whole
// local part, else Dash "-" and Ext the rest after that '-' with its case
// kept (qmail-getpw points ext into the original argument).
//
// No acceptable candidate is (Entry{}, false, nil); qmail-getpw then used the
// alias account with Dash "-" and Ext = local, and that choice is left to
// the caller.
//
// Differences from qmail-getpw, all toward deferring rather than misdelivering
// or bouncing: qmail treated only its error_temp list of errno values from
// stat(2) as temporary and skipped the candidate on any other error (such as
// EACCES on an NFS home with root squashing); here only "does not exist"
// (ENOENT, ENOTDIR) skips the candidate and every other error is returned.
// An account whose home is not an absolute path is skipped (qmail stat'ed it
// relative to its working directory, and qmail-local refuses it anyway).
func LookupPasswd(sys System, local string) (Entry, bool, error) {
	for end := min(len(local), maxUserLen-1); end > 0; end-- {
		if end < len(local) && local[end] != extBreak {
			continue
		}
		pw, ok, err := acceptAccount(sys, lowerASCII(local[:end]))
		if err != nil {
			return Entry{}, false, err
		}
		if !ok {
			continue
		}
		e := Entry{User: pw.Name, UID: pw.UID, GID: pw.GID, Home: pw.Home}
		if end < len(local) {
			e.Dash, e.Ext = "-", local[end+1:]
		}
		return e, true, nil
	}
	return Entry{}, false, nil
}

// acceptAccount looks up one candidate name and applies qmail-getpw's checks.
func acceptAccount(sys System, name string) (PasswdEntry, bool, error) {
	pw, found, err := sys.LookupUser(name)
	if err != nil {
		return PasswdEntry{}, false, fmt.Errorf("look up account %q: %w", name, err)
	}
	if !found || pw.UID <= 0 || !strings.HasPrefix(pw.Home, "/") {
		return PasswdEntry{}, false, nil
	}
	owner, err := sys.HomeOwner(pw.Home)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return PasswdEntry{}, false, nil
		}
		return PasswdEntry{}, false, fmt.Errorf("home %s of account %q: %w", pw.Home, name, err)
	}
	return pw, owner == pw.UID, nil
}
