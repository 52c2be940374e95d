// Package mtasts is SMTP MTA Strict Transport Security (RFC 8461) for
// outbound mail: the _mta-sts TXT record, the policy file, which MX hosts
// a policy allows, and a cache of policies fetched over HTTPS. It also
// renders goqmail's own policy for the server side.
//
// A policy in mode "enforce" means: deliver only to MX hosts the policy
// names, only over TLS 1.2 or newer with a certificate valid (WebPKI) for
// the MX host name; otherwise defer. "testing" delivers as usual and only
// reports the failures (TLS-RPT, RFC 8460). "none" is no policy.
package mtasts

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Mode is a policy's mode (RFC 8461 3.2).
type Mode string

const (
	Enforce Mode = "enforce"
	Testing Mode = "testing"
	None    Mode = "none"
)

// MaxAge is the largest max_age a policy may give (RFC 8461 3.2: 31557600
// seconds, about a year).
const MaxAge = 31557600

// MaxPolicySize bounds a policy body (RFC 8461 3.3 suggests 64 KB).
const MaxPolicySize = 64 << 10

// Policy is a parsed policy file.
type Policy struct {
	Mode   Mode
	MX     []string // patterns: "mail.example.com" or "*.example.net", lower case
	MaxAge int64    // seconds
}

// Record is a parsed _mta-sts TXT record (RFC 8461 3.1).
type Record struct {
	ID string // 1-32 letters and digits; a new id means a new policy
}

// ParseRecord parses one TXT record: "v=STSv1; id=...;" with v first,
// fields separated by ';' and optional spaces, other fields ignored.
func ParseRecord(txt string) (Record, error) {
	fields := strings.Split(txt, ";")
	var r Record
	for i, f := range fields {
		f = strings.Trim(f, " \t")
		if f == "" && i == len(fields)-1 {
			break
		}
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return Record{}, fmt.Errorf("MTA-STS record %q: field %q is not key=value", txt, f)
		}
		if i == 0 {
			if k != "v" || v != "STSv1" {
				return Record{}, fmt.Errorf("MTA-STS record %q does not start with v=STSv1", txt)
			}
			continue
		}
		if k == "id" {
			if !validID(v) {
				return Record{}, fmt.Errorf("MTA-STS record %q: id must be 1 to 32 letters and digits", txt)
			}
			r.ID = v
		}
	}
	if r.ID == "" {
		return Record{}, fmt.Errorf("MTA-STS record %q has no id", txt)
	}
	return r, nil
}

// IsRecord reports whether a TXT record claims to be an MTA-STS record
// (RFC 8461 3.1: those that do not start with v=STSv1 are ignored).
func IsRecord(txt string) bool {
	return strings.HasPrefix(txt, "v=STSv1;") || txt == "v=STSv1"
}

func validID(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// ParsePolicy parses a policy file (RFC 8461 3.2): "key: value" lines
// ended by CRLF or LF; version STSv1, mode and max_age required, mx
// required unless the mode is none; unknown keys ignored.
func ParsePolicy(body []byte) (*Policy, error) {
	if len(body) > MaxPolicySize {
		return nil, fmt.Errorf("MTA-STS policy larger than %d bytes", MaxPolicySize)
	}
	var p Policy
	var version string
	ageSeen := false
	for n, line := range strings.Split(string(body), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("MTA-STS policy line %d: %q is not key: value", n+1, line)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "version":
			version = v
		case "mode":
			switch Mode(v) {
			case Enforce, Testing, None:
				p.Mode = Mode(v)
			default:
				return nil, fmt.Errorf("MTA-STS policy line %d: unknown mode %q", n+1, v)
			}
		case "max_age":
			age, err := strconv.ParseInt(v, 10, 64)
			if err != nil || age < 0 || len(v) > 10 {
				return nil, fmt.Errorf("MTA-STS policy line %d: max_age %q is not a number of seconds", n+1, v)
			}
			p.MaxAge, ageSeen = min(age, MaxAge), true
		case "mx":
			if !validPattern(v) {
				return nil, fmt.Errorf("MTA-STS policy line %d: %q is not an MX host pattern", n+1, v)
			}
			p.MX = append(p.MX, strings.ToLower(strings.TrimSuffix(v, ".")))
		}
	}
	switch {
	case version != "STSv1":
		return nil, errors.New("MTA-STS policy: version is not STSv1")
	case p.Mode == "":
		return nil, errors.New("MTA-STS policy: no mode")
	case !ageSeen:
		return nil, errors.New("MTA-STS policy: no max_age")
	case p.Mode != None && len(p.MX) == 0:
		return nil, errors.New("MTA-STS policy: no mx")
	}
	return &p, nil
}

// validPattern accepts a host name, optionally with "*." before it.
func validPattern(s string) bool {
	s = strings.TrimPrefix(s, "*.")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// Matches reports whether an MX host name is allowed by the policy (RFC
// 8461 4.1): an exact name, or "*.rest" matching exactly one more label
// in front of rest.
func (p *Policy) Matches(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, pat := range p.MX {
		if rest, ok := strings.CutPrefix(pat, "*."); ok {
			first, tail, ok := strings.Cut(host, ".")
			if ok && first != "" && tail == rest {
				return true
			}
			continue
		}
		if host == pat {
			return true
		}
	}
	return false
}

// String renders the policy in the file format, CRLF line ends (RFC 8461
// 3.2), for goqmail's own policy.
func (p *Policy) String() string {
	var b strings.Builder
	b.WriteString("version: STSv1\r\n")
	fmt.Fprintf(&b, "mode: %s\r\n", p.Mode)
	for _, mx := range p.MX {
		fmt.Fprintf(&b, "mx: %s\r\n", mx)
	}
	fmt.Fprintf(&b, "max_age: %d\r\n", p.MaxAge)
	return b.String()
}
