package remote

import (
	"fmt"
	"strings"

	"goqmail/internal/address"
	"goqmail/internal/proto"
)

// envelope is a transaction's addresses, already in SMTP form.
type envelope struct {
	from  string   // "<a@b>" or "<>"
	rcpts []string // "<c@d>"
	utf8  bool     // an address needs SMTPUTF8 (RFC 6531)
}

// checkAddr refuses addresses that cannot be written into a command: any
// control character would end or forge the command line.
func checkAddr(a string) error {
	if len(a) > proto.MaxAddr {
		return fmt.Errorf("address longer than %d bytes", proto.MaxAddr)
	}
	for i := 0; i < len(a); i++ {
		if c := a[i]; c < ' ' || c == 0x7f {
			return fmt.Errorf("control character 0x%02x in address", c)
		}
	}
	return nil
}

func checkRcpt(rc, domain string) error {
	if err := checkAddr(rc); err != nil {
		return fmt.Errorf("Sorry, the recipient address is unusable: %v. (#5.1.3)", err)
	}
	local, d := address.Split(rc)
	if local == "" || !strings.EqualFold(d, domain) {
		return fmt.Errorf("Sorry, the recipient address %q is not in domain %q. (#5.1.3)", rc, domain)
	}
	return nil
}

// smtpPath writes an internal-form address as an RFC 5321 path: the local
// part as a Dot-string when it is one (UTF-8 allowed, RFC 6531 3.3),
// quoted otherwise.
func smtpPath(a string) string {
	if a == "" {
		return "<>"
	}
	local, domain := address.Split(a)
	var b strings.Builder
	b.WriteByte('<')
	if isDotString(local) {
		b.WriteString(local)
	} else {
		b.WriteByte('"')
		for i := 0; i < len(local); i++ {
			if local[i] == '"' || local[i] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(local[i])
		}
		b.WriteByte('"')
	}
	if domain != "" {
		b.WriteByte('@')
		b.WriteString(domain)
	}
	b.WriteByte('>')
	return b.String()
}

func isDotString(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || c == '.' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
