package vdir

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// The four files of ROOT/vdir/<domain>/. Each is small, line-based and
// replaced as a whole, so a reader needs no locking.
const (
	fileDomain    = "domain"    // key=value settings
	fileMailboxes = "mailboxes" // "local quota_bytes quota_messages": the index, no secrets
	filePasswd    = "passwd"    // Dovecot passwd-file
	fileAliases   = "aliases"   // "local: target, target"
)

// box is one line of the mailboxes file.
type box struct{ bytes, messages int64 }

// lines calls fn for every line that is not blank or a '#' comment, with
// its 1-based number; the first error stops the loop.
func lines(b []byte, fn func(n int, line string) error) error {
	for n, line := range strings.Split(string(b), "\n") {
		line = strings.TrimRight(line, "\r")
		if t := strings.TrimSpace(line); t == "" || t[0] == '#' {
			continue
		}
		if err := fn(n+1, line); err != nil {
			return fmt.Errorf("line %d: %w", n+1, err)
		}
	}
	return nil
}

// parseDomainFile reads the domain file of the domain name.
func parseDomainFile(name string, b []byte) (Domain, error) {
	d := Domain{Name: name}
	seen := map[string]bool{}
	others := 0
	err := lines(b, func(_ int, line string) error {
		k, v, ok := strings.Cut(line, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok {
			return fmt.Errorf("%q is not key=value", line)
		}
		if seen[k] {
			return fmt.Errorf("%s given twice", k)
		}
		seen[k] = true
		var err error
		switch k {
		case "aliasof":
			d.AliasOf, err = CheckDomain(v)
			return err
		case "postmaster":
			d.Postmaster, err = checkPostmaster(v, name)
		case "catchall":
			d.Catchall, err = ParseCatchall(v, name)
		case "quota":
			d.Quota, err = parseCount(v, "quota")
		default:
			return fmt.Errorf("unknown setting %q (aliasof, postmaster, catchall, quota)", k)
		}
		others++
		return err
	})
	if err != nil {
		return Domain{}, err
	}
	if d.AliasOf != "" && others > 0 {
		return Domain{}, fmt.Errorf("an alias domain (aliasof=%s) has no other settings", d.AliasOf)
	}
	return d, nil
}

func formatDomainFile(d Domain) []byte {
	if d.AliasOf != "" {
		return []byte("aliasof=" + d.AliasOf + "\n")
	}
	var b strings.Builder
	if d.Postmaster != "" {
		fmt.Fprintf(&b, "postmaster=%s\n", d.Postmaster)
	}
	fmt.Fprintf(&b, "catchall=%s\nquota=%d\n", d.Catchall, d.Quota)
	return []byte(b.String())
}

func parseMailboxes(b []byte) (map[string]box, error) {
	m := map[string]box{}
	err := lines(b, func(_ int, line string) error {
		f := strings.Fields(line)
		if len(f) != 3 {
			return fmt.Errorf("want \"local quota_bytes quota_messages\", got %q", line)
		}
		l, err := CheckLocal(f[0])
		if err != nil {
			return err
		}
		if _, dup := m[l]; dup {
			return fmt.Errorf("user %s listed twice", l)
		}
		var bx box
		if bx.bytes, err = parseCount(f[1], "quota_bytes"); err != nil {
			return err
		}
		if bx.messages, err = parseCount(f[2], "quota_messages"); err != nil {
			return err
		}
		m[l] = bx
		return nil
	})
	return m, err
}

func formatMailboxes(m map[string]box) []byte {
	var b strings.Builder
	for _, l := range sortedKeys(m) {
		fmt.Fprintf(&b, "%s %d %d\n", l, m[l].bytes, m[l].messages)
	}
	return []byte(b.String())
}

// parsePasswd reads the local part and the password field of each line;
// the other fields are ours to regenerate.
func parsePasswd(b []byte) (map[string]string, error) {
	m := map[string]string{}
	err := lines(b, func(_ int, line string) error {
		f := strings.SplitN(line, ":", 3)
		if len(f) < 2 {
			return fmt.Errorf("not a passwd-file line (user:password:...)")
		}
		l, err := CheckLocal(f[0])
		if err != nil {
			return err
		}
		if _, dup := m[l]; dup {
			return fmt.Errorf("user %s listed twice", l)
		}
		m[l] = f[1]
		return nil
	})
	return m, err
}

// formatPasswd writes Dovecot's passwd-file format
// (user:password:uid:gid:gecos:home:shell:extra_fields) for the users in
// boxes, so that the file never names a user the index does not have.
// The quota becomes Dovecot's userdb quota_rule (Maildir++ quota, the
// same limits goqmail's delivery enforces).
func formatPasswd(boxes map[string]box, hashes map[string]string, uid, gid int, home func(local string) string) []byte {
	var b strings.Builder
	for _, l := range sortedKeys(boxes) {
		h, ok := hashes[l]
		if !ok {
			continue // only after a hand edit: no password, no login
		}
		fmt.Fprintf(&b, "%s:%s:%d:%d::%s::", l, h, uid, gid, home(l))
		if rule := quotaRule(boxes[l]); rule != "" {
			b.WriteString("userdb_quota_rule=" + rule)
		}
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// quotaRule is the Dovecot quota_rule for the limits, "" for none.
func quotaRule(bx box) string {
	if bx.bytes == 0 && bx.messages == 0 {
		return ""
	}
	r := "*"
	if bx.bytes > 0 {
		r += ":storage=" + strconv.FormatInt(bx.bytes, 10) + "B"
	}
	if bx.messages > 0 {
		r += ":messages=" + strconv.FormatInt(bx.messages, 10)
	}
	return r
}

func parseAliases(domain string, b []byte) (map[string][]string, error) {
	m := map[string][]string{}
	err := lines(b, func(_ int, line string) error {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return fmt.Errorf("want \"local: target, target\", got %q", line)
		}
		l, err := CheckLocal(strings.TrimSpace(k))
		if err != nil {
			return err
		}
		if _, dup := m[l]; dup {
			return fmt.Errorf("alias %s listed twice", l)
		}
		ts, err := checkTargets(strings.Split(v, ","), domain, l+"@"+domain)
		if err != nil {
			return fmt.Errorf("alias %s: %w", l, err)
		}
		m[l] = ts
		return nil
	})
	return m, err
}

func formatAliases(m map[string][]string) []byte {
	var b strings.Builder
	for _, l := range sortedKeys(m) {
		fmt.Fprintf(&b, "%s: %s\n", l, strings.Join(m[l], ", "))
	}
	return []byte(b.String())
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
