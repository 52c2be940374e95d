package migrate

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// VpasswdEntry is one line of a vpopmail vpasswd file, the cdb backend's
// user table (one file per domain, domains/<domain>/vpasswd). The layout is
// /etc/passwd's with three fields reused (vpopmail.c vgetent, vpopmail.h;
// Ken Jones on the vchkpw list, 2002-09):
//
//	name:crypted:uid:flags:gecos:dir:quota[:clear]
//
// The uid field is unused, the gid field holds the per-user flags
// (NO_POP, BOUNCE_MAIL, ...), the shell field the quota ("NOQUOTA",
// "1048576S", "1048576S,1000C") and, when vpopmail was built with
// --enable-clear-passwd, everything after the seventh ':' is the password
// in clear text. The fields are kept as written so that String gives the
// line back unchanged.
type VpasswdEntry struct {
	Name    string
	Crypted string
	UID     string
	Flags   string // the gid field
	Gecos   string
	Dir     string
	Quota   string
	// Clear is the clear-text password field; HasClear tells an empty one
	// ("name:...:quota:") from none at all.
	Clear    string
	HasClear bool
}

// vpopmail's per-user flags in the gid field (vpopmail.h "gid flags").
var vpasswdFlags = []struct {
	bit  uint64
	name string
}{
	{0x01, "NO_PASSWD_CHNG"}, {0x02, "NO_POP"}, {0x04, "NO_WEBMAIL"}, {0x08, "NO_IMAP"},
	{0x10, "BOUNCE_MAIL"}, {0x20, "NO_RELAY"}, {0x40, "NO_DIALUP"}, {0x80, "V_USER0"},
	{0x100, "V_USER1"}, {0x200, "V_USER2"}, {0x400, "V_USER3"}, {0x800, "NO_SMTP"},
	{0x1000, "QA_ADMIN"},
}

// ParseVpasswdLine reads one vpasswd line (without its newline). vpopmail
// itself needs at least six ':' and reads the uid and flags with atoi;
// here both must be empty or decimal, and a line holding a NUL, CR or LF
// is refused, so that String reproduces the line exactly.
func ParseVpasswdLine(line string) (VpasswdEntry, error) {
	if strings.ContainsAny(line, "\x00\r\n") {
		return VpasswdEntry{}, errors.New("line holds a NUL, carriage return or newline")
	}
	f := strings.SplitN(line, ":", 8)
	if len(f) < 7 {
		return VpasswdEntry{}, fmt.Errorf("%d fields, want at least 7 (name:password:uid:flags:gecos:dir:quota)", len(f))
	}
	e := VpasswdEntry{Name: f[0], Crypted: f[1], UID: f[2], Flags: f[3], Gecos: f[4], Dir: f[5], Quota: f[6]}
	if len(f) == 8 {
		e.Clear, e.HasClear = f[7], true
	}
	if e.Name == "" {
		return VpasswdEntry{}, errors.New("empty user name")
	}
	if !decimalOrEmpty(e.UID) {
		return VpasswdEntry{}, fmt.Errorf("uid field %q is not a number", e.UID)
	}
	if _, err := e.FlagBits(); err != nil {
		return VpasswdEntry{}, err
	}
	return e, nil
}

func decimalOrEmpty(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String gives the entry back as a vpasswd line.
func (e VpasswdEntry) String() string {
	s := strings.Join([]string{e.Name, e.Crypted, e.UID, e.Flags, e.Gecos, e.Dir, e.Quota}, ":")
	if e.HasClear {
		s += ":" + e.Clear
	}
	return s
}

// FlagBits is the flags field as a number (empty = 0).
func (e VpasswdEntry) FlagBits() (uint64, error) {
	if e.Flags == "" {
		return 0, nil
	}
	if !decimalOrEmpty(e.Flags) {
		return 0, fmt.Errorf("flags field %q is not a number", e.Flags)
	}
	n, err := strconv.ParseUint(e.Flags, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("flags field %q: %w", e.Flags, err)
	}
	return n, nil
}

// FlagNames names the flags set in the entry (unknown bits as hex).
func (e VpasswdEntry) FlagNames() []string {
	bits, err := e.FlagBits()
	if err != nil || bits == 0 {
		return nil
	}
	var out []string
	for _, f := range vpasswdFlags {
		if bits&f.bit != 0 {
			out = append(out, f.name)
			bits &^= f.bit
		}
	}
	if bits != 0 {
		out = append(out, fmt.Sprintf("0x%x", bits))
	}
	return out
}

// ParseQuota reads a vpopmail quota as vpopmail's format_maildirquota
// does: "NOQUOTA" or "" is no quota; otherwise comma-separated items, an
// item ending in 'C' is a message count, any other a size with an
// optional 'S', an optional 'B' and an optional K or M multiplier
// ("1048576S", "1mbs,1000C", "1000C,10MBS", "5M", a bare byte count).
// Unlike vpopmail's strtoll, digits are required: a quota that cannot be
// read must not silently become "unlimited".
func ParseQuota(s string) (bytes, messages int64, err error) {
	if s == "" || s == "NOQUOTA" {
		return 0, 0, nil
	}
	for item := range strings.SplitSeq(s, ",") {
		if item == "" {
			return 0, 0, fmt.Errorf("quota %q has an empty item", s)
		}
		if item[len(item)-1] == 'C' {
			n, ok := parseCount(item[:len(item)-1], 1)
			if !ok {
				return 0, 0, fmt.Errorf("quota %q: %q is not <number>C", s, item)
			}
			messages = n
			continue
		}
		num := item
		for _, suffix := range []string{"S", "B"} {
			if strings.HasSuffix(strings.ToUpper(num), suffix) {
				num = num[:len(num)-1]
			}
		}
		mult := int64(1)
		switch {
		case strings.HasSuffix(strings.ToUpper(num), "M"):
			mult, num = 1<<20, num[:len(num)-1]
		case strings.HasSuffix(strings.ToUpper(num), "K"):
			mult, num = 1<<10, num[:len(num)-1]
		}
		n, ok := parseCount(num, mult)
		if !ok {
			return 0, 0, fmt.Errorf("quota %q: %q is not a size (<bytes>S, <n>K or <n>M)", s, item)
		}
		bytes = n
	}
	return bytes, messages, nil
}

// parseCount parses decimal digits times mult, refusing overflow.
func parseCount(s string, mult int64) (int64, bool) {
	if s == "" || !decimalOrEmpty(s) {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > math.MaxInt64/mult {
		return 0, false
	}
	return n * mult, true
}

// FormatQuota describes a quota for the import's report: "50 MB",
// "1000 bytes, 200 messages", "no quota".
func FormatQuota(bytes, messages int64) string {
	var parts []string
	switch {
	case bytes == 0:
	case bytes%(1<<20) == 0:
		parts = append(parts, fmt.Sprintf("%d MB", bytes>>20))
	case bytes%(1<<10) == 0:
		parts = append(parts, fmt.Sprintf("%d KB", bytes>>10))
	default:
		parts = append(parts, fmt.Sprintf("%d bytes", bytes))
	}
	if messages != 0 {
		parts = append(parts, fmt.Sprintf("%d messages", messages))
	}
	if len(parts) == 0 {
		return "no quota"
	}
	return "quota " + strings.Join(parts, ", ")
}
