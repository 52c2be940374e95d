package control

import (
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
)

// The value checks of the declarations in settings.go. They look at one
// value (a Line setting's value, one line of a List setting) and need no
// parser from a higher tier, so every program links them; checks that need
// one (tcp.smtp, smtproutes, servercert.pem, defaultdelivery, users/assign)
// are in internal/ctlcheck.

const (
	fixDomain       = "write a domain name such as example.org"
	fixDomainSuffix = "write a domain such as example.org, or .example.org for all its subdomains"
)

// checkDomain accepts a host or domain name as qmail's control files hold
// them: ASCII letters, digits, hyphens and underscores in dot-separated
// labels (RFC 1035 2.3.1; underscores because internal names have them).
func checkDomain(s string) error { return domainError(s, fixDomain) }

func domainError(s, fix string) error {
	switch {
	case s == "":
		return invalid(fix, "is empty")
	case strings.HasSuffix(s, "."):
		// Mail domains are compared without the root dot: example.org.
		// would never match anything.
		return invalid(fix, "%q ends with a dot and would never match", s)
	case len(s) > 253:
		return invalid(fix, "%q is longer than 253 characters, the most a domain name may have (RFC 1035 2.3.4)", s)
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" {
			return invalid(fix, "%q has an empty label (two dots in a row, or a leading dot)", s)
		}
		if len(label) > 63 {
			return invalid(fix, "%q has a label longer than 63 characters (RFC 1035 2.3.4)", s)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return invalid(fix, "%q has a label that starts or ends with '-'", s)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if c >= 0x80 {
				return invalid(fix+" (international names in their xn-- form)", "%q is not an ASCII domain name", s)
			}
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return invalid(fix, "%q is not a domain name: it holds %q", s, string(c))
			}
		}
	}
	return nil
}

// checkLocalDomain is a locals line: a domain, or an address literal
// ([192.0.2.1]) for mail sent to box@[ip]. locals matches exactly, so a
// .suffix entry would never match.
func checkLocalDomain(s string) error {
	if strings.HasPrefix(s, ".") {
		return invalid("list each domain itself: locals matches exactly (use virtualdomains or rcpthosts for subdomains)",
			"%q starts with a dot, which locals never matches", s)
	}
	if isLiteral(s) {
		return nil
	}
	return checkDomain(s)
}

// checkDomainOrSuffix is an rcpthosts or tlsdestinations line: `domain`
// matches itself, `.domain` its subdomains (qmail-smtpd's rcpthosts).
func checkDomainOrSuffix(s string) error {
	if isLiteral(s) {
		return nil
	}
	return domainError(strings.TrimPrefix(s, "."), fixDomainSuffix)
}

// checkSPFReject is an spfreject line: a recipient domain as in
// rcpthosts, or `*` for all of them.
func checkSPFReject(s string) error {
	if s == "*" {
		return nil
	}
	return domainError(strings.TrimPrefix(s, "."), "write a domain such as example.org, .example.org for its subdomains, or * for every domain")
}

// isLiteral reports an address literal such as [192.0.2.1] or
// [IPv6:2001:db8::1] (RFC 5321 4.1.3).
func isLiteral(s string) bool {
	inner, ok := strings.CutPrefix(s, "[")
	if !ok {
		return false
	}
	inner, ok = strings.CutSuffix(inner, "]")
	if !ok {
		return false
	}
	if v6, ok := strings.CutPrefix(inner, "IPv6:"); ok {
		ip, err := netip.ParseAddr(v6)
		return err == nil && ip.Is6()
	}
	ip, err := netip.ParseAddr(inner)
	return err == nil && ip.Is4()
}

// checkListen is one line of a *listen file: host:port as net.Listen takes
// it, with a numeric port (tcpserver's host and port arguments).
func checkListen(s string) error {
	const fix = "write host:port such as 127.0.0.1:25, [::1]:25 or :25 (every address)"
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return invalid(fix, "%q is not host:port", s)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 {
		return invalid(fix, "%q: the port %q is not a number from 1 to 65535", s, port)
	}
	if host == "" {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Zone() != "" && !ip.Is6() {
			return invalid(fix, "%q: bad address", s)
		}
		return nil
	}
	if err := checkDomain(host); err != nil {
		return invalid(fix, "%q: the host %q is neither an IP address nor a host name", s, host)
	}
	return nil
}

// checkSyncMode accepts the values durable.ParseMode takes.
func checkSyncMode(s string) error {
	switch s {
	case "auto", "journal", "fsync", "syncfs":
		return nil
	}
	return invalid("write auto, journal, fsync or syncfs (docs/queue.md)", "%q is not a sync mode", s)
}

// LogDests are the values of control/logdest.
var LogDests = []string{"auto", "stderr", "files", "journal", "syslog"}

// checkLogDest accepts the destinations goqmaild knows (docs/logs.md).
func checkLogDest(s string) error {
	for _, d := range LogDests {
		if s == d {
			return nil
		}
	}
	return invalid("write auto, stderr, files, journal or syslog (docs/logs.md)", "%q is not a log destination", s)
}

// checkText is a line of free text sent to clients (smtpgreeting): printable
// ASCII, since it goes into an SMTP reply (RFC 5321 4.2).
func checkText(s string) error {
	const fix = "write printable ASCII text, starting with this host's name"
	if s == "" {
		return invalid(fix, "is empty")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return invalid(fix, "%q holds a control or non-ASCII character", s)
		}
	}
	return nil
}

// localPartError checks the local part of an address we write into
// headers and envelopes (bouncefrom, doublebounceto): no '@', no
// whitespace or control characters.
func localPartError(s, fix string) error {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '@' || c == '<' || c == '>' || c == ',' {
			return invalid(fix, "%q is not the local part of an address: it holds %q", s, string(c))
		}
	}
	return nil
}

func checkLocalPart(s string) error {
	const fix = "write a local part without @, such as MAILER-DAEMON"
	if s == "" {
		return invalid(fix, "is empty")
	}
	return localPartError(s, fix)
}

// checkLocalPartOrEmpty is doublebounceto: empty discards double bounces.
func checkLocalPartOrEmpty(s string) error {
	return localPartError(s, "write a local part without @, such as postmaster (an empty file discards double bounces)")
}

// checkAccount is a system account name (aliasuser).
func checkAccount(s string) error {
	const fix = "write the name of a system account, such as alias"
	if s == "" {
		return invalid(fix, "is empty")
	}
	if strings.ContainsAny(s, " \t/:") {
		return invalid(fix, "%q is not an account name", s)
	}
	return nil
}

// checkAbsPath is a file or program named by its absolute path; empty
// means none. Whether it exists is checked by internal/ctlcheck.
func checkAbsPath(s string) error {
	if s == "" || filepath.IsAbs(s) {
		return nil
	}
	return invalid("write an absolute path such as /etc/aliases, or leave the file empty for none", "%q is not an absolute path", s)
}

// checkVirtualDomain is one virtualdomains line (qmail-send(8)):
// `user@domain:prepend`, `domain:prepend`, `.suffix:prepend` or
// `:prepend`. An empty prepend exempts the domain.
func checkVirtualDomain(s string) error {
	const fix = "write domain:prepend, .domain:prepend, user@domain:prepend or :prepend (catch-all), where prepend names the user or users/assign entry that receives the mail"
	key, prepend, ok := strings.Cut(s, ":")
	if !ok {
		return invalid(fix, "%q has no ':'", s)
	}
	switch local, domain, hasAt := strings.Cut(key, "@"); {
	case key == "":
	case hasAt:
		if local == "" || localPartError(local, fix) != nil {
			return invalid(fix, "%q: %q is not an address", s, key)
		}
		if domainError(domain, fix) != nil {
			return invalid(fix, "%q: %q is not a domain name", s, domain)
		}
	default:
		if domainError(strings.TrimPrefix(key, "."), fix) != nil {
			return invalid(fix, "%q: %q is not a domain or .domain", s, key)
		}
	}
	for i := 0; i < len(prepend); i++ {
		if c := prepend[i]; c <= ' ' || c >= 0x7f || c == '@' || c == ':' {
			return invalid(fix, "%q: the prepend %q holds %q", s, prepend, string(c))
		}
	}
	return nil
}

// virtualDomainKey is what two virtualdomains lines must not share: qmail
// takes the first and silently drops the second.
func virtualDomainKey(s string) string {
	key, _, _ := strings.Cut(s, ":")
	return strings.ToLower(key)
}

// checkDomainOrEmpty is srsdomain: empty turns the feature off.
func checkDomainOrEmpty(s string) error {
	if s == "" {
		return nil
	}
	return domainError(s, "write a domain name such as example.org, or leave the file empty for none")
}

// checkDKIMKey is one dkimkeys line, `domain:selector` (RFC 6376 3.1: a
// selector is one or more dot-separated labels). The key file itself is
// checked by internal/ctlcheck, as root: only the signer's account and
// root may read it.
func checkDKIMKey(s string) error {
	const fix = "write domain:selector, such as example.org:goqmail2025 (goqmail dkim keygen writes these lines)"
	domain, selector, ok := strings.Cut(s, ":")
	if !ok {
		return invalid(fix, "%q has no ':'", s)
	}
	if err := domainError(domain, fix); err != nil {
		return err
	}
	if err := CheckSelector(selector); err != nil {
		return invalid(fix, "%v", err)
	}
	return nil
}

// dkimKeyDomain is the key two dkimkeys lines must not share.
func dkimKeyDomain(s string) string {
	domain, _, _ := strings.Cut(s, ":")
	return strings.ToLower(domain)
}

// CheckSelector accepts a DKIM selector: dot-separated labels of ASCII
// letters, digits and hyphens (RFC 6376 3.1, sub-domain), which also makes
// it a safe file name.
func CheckSelector(s string) error {
	if s == "" {
		return fmt.Errorf("the selector is empty")
	}
	if len(s) > 63 {
		return fmt.Errorf("selector %q is longer than 63 characters", s)
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("selector %q has an empty label or one that starts or ends with '-'", s)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return fmt.Errorf("selector %q holds %q: use letters, digits, '-' and '.'", s, string(c))
			}
		}
	}
	return nil
}

// CheckDomain is the domain-name check of the control files, for the
// admin commands that take a domain.
func CheckDomain(s string) error { return checkDomain(s) }

// checkLogin is a login as goqmail-auth canonicalizes it: `user@domain`
// (a virtual user, or a system user of a local domain) or `user`.
func checkLogin(s string) error {
	const fix = "write one login a line: user@domain for a virtual user, user for a system account"
	local, domain, hasAt := strings.Cut(s, "@")
	if local == "" || strings.ContainsAny(s, " \t<>\",:") || strings.Count(s, "@") > 1 {
		return invalid(fix, "%q is not a login", s)
	}
	if hasAt {
		if err := checkDomain(domain); err != nil {
			return invalid(fix, "%q: the domain %q is not a domain name", s, domain)
		}
	}
	return nil
}

// checkAddressOrEmpty is an address local@domain (a report's sender, an
// ACME contact), or empty for none.
func checkAddressOrEmpty(s string) error {
	const fix = "write an address such as postmaster@example.org, or leave the file empty"
	if s == "" {
		return nil
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || strings.ContainsAny(s, " \t<>\"") {
		return invalid(fix, "%q is not an address", s)
	}
	if err := checkDomain(domain); err != nil {
		return invalid(fix, "%q: the domain %q is not a domain name", s, domain)
	}
	return nil
}

// checkHTTPSURL is an ACME directory: https, a host, nothing odd.
func checkHTTPSURL(s string) error {
	const fix = "write the ACME directory URL, such as https://acme-v02.api.letsencrypt.org/directory"
	rest, ok := strings.CutPrefix(s, "https://")
	host, _, _ := strings.Cut(rest, "/")
	if !ok || host == "" || strings.ContainsAny(s, " \t@") {
		return invalid(fix, "%q is not an https:// URL", s)
	}
	return nil
}

// checkCommandOrEmpty is a command line whose program is named by its
// absolute path (run without a shell), or empty.
func checkCommandOrEmpty(s string) error {
	if s == "" {
		return nil
	}
	prog, _, _ := strings.Cut(s, " ")
	if !filepath.IsAbs(prog) {
		return invalid("start the command with the program's absolute path, such as /usr/bin/sudo -n /usr/bin/doveadm reload", "%q does not start with an absolute path", s)
	}
	return nil
}

// checkMTASTSMode is a mode of RFC 8461 3.2.
func checkMTASTSMode(s string) error {
	switch s {
	case "enforce", "testing", "none":
		return nil
	}
	return invalid("write enforce, testing or none", "%q is not an MTA-STS mode", s)
}

// checkDomainOrWildcard is an MTA-STS mx pattern: a host name, or
// "*." and a domain (RFC 8461 4.1).
func checkDomainOrWildcard(s string) error {
	return checkDomain(strings.TrimPrefix(s, "*."))
}
