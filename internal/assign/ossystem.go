package assign

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
	"syscall"
)

// DefaultPasswdFile is where OSSystem reads accounts unless told otherwise.
const DefaultPasswdFile = "/etc/passwd"

// maxPasswdLine bounds one passwd line; a longer line makes every lookup fail
// (temporarily) rather than be silently misread.
const maxPasswdLine = 1 << 20

// OSSystem is the real System: it reads the passwd file directly and stats
// home directories with os.Stat.
//
// It does not go through NSS (no cgo), so accounts that live only in LDAP,
// NIS, SSSD or other NSS sources are not seen, nor are NIS compat lines
// ("+name", "-name", "+@netgroup"), which are skipped. List such accounts in
// users/assign instead: that is also qmail's advice for unreliable account
// databases (qmail FAQ 4.9), and it never depends on a directory server
// being up at delivery time.
//
// Lines that are blank, start with '#', or are malformed (not seven fields,
// empty name, uid or gid not a decimal 32-bit number) are skipped, as glibc's
// files backend skips them; the first line with the name wins, as with
// getpwnam(3).
type OSSystem struct {
	PasswdFile string // default DefaultPasswdFile
}

var _ System = OSSystem{}

// LookupUser reads the passwd file for the account called name. Failing to
// open or read the file is an error (temporary: the caller defers).
func (s OSSystem) LookupUser(name string) (PasswdEntry, bool, error) {
	path := s.PasswdFile
	if path == "" {
		path = DefaultPasswdFile
	}
	if name == "" || strings.ContainsAny(name, ":\n") {
		return PasswdEntry{}, false, nil // cannot be a passwd name
	}
	f, err := os.Open(path)
	if err != nil {
		return PasswdEntry{}, false, fmt.Errorf("passwd: %w", err)
	}
	defer f.Close()
	prefix := []byte(name + ":")
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), maxPasswdLine)
	for sc.Scan() {
		if !bytes.HasPrefix(sc.Bytes(), prefix) {
			continue
		}
		if pw, ok := parsePasswdLine(sc.Text()); ok {
			return pw, true, nil
		}
	}
	if err := sc.Err(); err != nil {
		return PasswdEntry{}, false, fmt.Errorf("read %s: %w", path, err)
	}
	return PasswdEntry{}, false, nil
}

// parsePasswdLine parses name:passwd:uid:gid:gecos:home:shell (passwd(5)).
func parsePasswdLine(line string) (PasswdEntry, bool) {
	if line == "" || line[0] == '#' || line[0] == '+' || line[0] == '-' {
		return PasswdEntry{}, false
	}
	f := strings.Split(line, ":")
	if len(f) != 7 || f[0] == "" {
		return PasswdEntry{}, false
	}
	uid, ok := parseID(f[2])
	if !ok {
		return PasswdEntry{}, false
	}
	gid, ok := parseID(f[3])
	if !ok {
		return PasswdEntry{}, false
	}
	return PasswdEntry{Name: f[0], UID: uid, GID: gid, Home: f[5]}, true
}

// HomeOwner stats home (following symbolic links, like qmail-getpw's
// stat(2)) and returns its owner. os.Stat's errors are returned as they are,
// so a missing home matches fs.ErrNotExist or syscall.ENOTDIR.
func (OSSystem) HomeOwner(home string) (int, error) {
	fi, err := os.Stat(home)
	if err != nil {
		return -1, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return -1, fmt.Errorf("stat %s: no owner information on this system", home)
	}
	return int(st.Uid), nil
}
