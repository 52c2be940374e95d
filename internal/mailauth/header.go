package mailauth

import (
	"bytes"
	"net/mail"
	"regexp"
	"strings"
)

// MaxHeader bounds the header section kept for DMARC (the From field) and
// the signatures' tags. A header section longer than that is judged on its
// first MaxHeader bytes.
const MaxHeader = 256 << 10

// headerCapture keeps the start of a message up to the empty line that
// ends its header section (RFC 5322 2.1), at most MaxHeader bytes.
type headerCapture struct {
	buf  []byte
	done bool // the empty line was seen, or MaxHeader reached
	full bool // ended by MaxHeader
	last byte // the last byte seen, to find "\n\n" across writes
}

func (h *headerCapture) Write(p []byte) {
	if h.done {
		return
	}
	if len(h.buf) == 0 && len(p) > 0 && p[0] == '\n' {
		h.done = true // no header at all
		return
	}
	end := -1
	if h.last == '\n' && len(p) > 0 && p[0] == '\n' {
		end = 0
	} else if i := bytes.Index(p, []byte("\n\n")); i >= 0 {
		end = i + 1
	}
	if end >= 0 {
		p = p[:end]
		h.done = true
	}
	if room := MaxHeader - len(h.buf); len(p) > room {
		p, h.done, h.full = p[:room], true, true
	}
	h.buf = append(h.buf, p...)
	if len(p) > 0 {
		h.last = p[len(p)-1]
	}
}

// fields returns the header fields named name (case-insensitive), each
// unfolded (RFC 5322 2.2.3), in header order.
func fields(header []byte, name string) []string {
	var out []string
	var cur []byte
	flush := func() {
		if cur == nil {
			return
		}
		k, v, ok := bytes.Cut(cur, []byte(":"))
		if ok && strings.EqualFold(strings.TrimRight(string(k), " \t"), name) {
			out = append(out, strings.TrimSpace(string(v)))
		}
		cur = nil
	}
	for _, line := range bytes.SplitAfter(header, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') && cur != nil {
			cur = append(cur, line...)
			continue
		}
		flush()
		cur = append([]byte(nil), line...)
	}
	flush()
	return out
}

// tags parses a tag=value list (RFC 6376 3.2), whitespace removed from
// values; a malformed list gives what could be read.
func tags(s string) map[string]string {
	m := map[string]string{}
	for _, part := range strings.Split(s, ";") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			continue
		}
		m[strings.TrimSpace(k)] = strings.Join(strings.Fields(v), "")
	}
	return m
}

// fillTags completes the verifier's results with the tags go-msgauth does
// not return (s=, a=, the start of b=), from the signatures in header
// order, which is the order of the results.
func fillTags(results []DKIMResult, header []byte) {
	sigs := fields(header, "DKIM-Signature")
	for i := range results {
		if i >= len(sigs) {
			break
		}
		t := tags(sigs[i])
		r := &results[i]
		r.Selector, r.Algorithm = t["s"], t["a"]
		if b := t["b"]; len(b) > 8 {
			r.BPrefix = b[:8]
		} else {
			r.BPrefix = b
		}
		if r.Domain == "" {
			r.Domain = strings.ToLower(t["d"])
		}
	}
}

// HasSignature reports whether a header section has a DKIM-Signature.
func HasSignature(header []byte) bool { return len(fields(header, "DKIM-Signature")) > 0 }

var atDomain = regexp.MustCompile(`@([A-Za-z0-9.\-_]+)`)

// FromDomains returns the distinct domains of the RFC5322.From field's
// addresses, lower case (RFC 7489 3.1, 6.6.1). A From that net/mail
// cannot parse still names its domains: what follows each '@' counts, so
// odd syntax cannot hide the author from DMARC.
func FromDomains(header []byte) []string {
	var out []string
	seen := map[string]bool{}
	add := func(d string) {
		d = strings.TrimSuffix(strings.ToLower(d), ".")
		if d != "" && !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	for _, v := range fields(header, "From") {
		addrs, err := mail.ParseAddressList(v)
		if err != nil {
			for _, m := range atDomain.FindAllStringSubmatch(v, -1) {
				add(m[1])
			}
			continue
		}
		for _, a := range addrs {
			if i := strings.LastIndexByte(a.Address, '@'); i >= 0 {
				add(a.Address[i+1:])
			}
		}
	}
	return out
}
