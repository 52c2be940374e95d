package mailauth

import (
	"strings"
)

// Results is what one message's checks found; nil or false fields were
// not checked.
type Results struct {
	SPF         *SPF
	DKIMChecked bool
	DKIM        []DKIMResult // none when checked and empty
	DMARC       *DMARCResult
}

// AuthenticationResults formats the results as an Authentication-Results
// field (RFC 8601 2.2) for authserv-id id, one result per line, with LF
// line ends: "Authentication-Results: id;\n\tspf=pass ...;\n\t...\n".
// Every value that came from the client is quoted or reduced to a safe
// form, so no client can break the field or add one.
func (r *Results) AuthenticationResults(id string) string {
	var res []string
	if s := r.SPF; s != nil {
		if s.Sender != "" {
			res = append(res, resinfo("spf", string(s.MailFrom.Result), s.MailFrom.Problem, "smtp.mailfrom", s.MailFrom.Domain))
		}
		if s.HeloRes.Domain != "" {
			res = append(res, resinfo("spf", string(s.HeloRes.Result), s.HeloRes.Problem, "smtp.helo", s.HeloRes.Domain))
		}
	}
	if r.DKIMChecked {
		if len(r.DKIM) == 0 {
			res = append(res, "dkim=none")
		}
		for _, k := range r.DKIM {
			res = append(res, resinfo("dkim", k.Result, k.Problem,
				"header.d", k.Domain, "header.i", k.Identifier, "header.s", k.Selector, "header.a", k.Algorithm, "header.b", k.BPrefix))
		}
	}
	if d := r.DMARC; d != nil {
		reason := d.Problem
		if d.Result == "fail" {
			reason = "p=" + d.Policy
			if d.Disposition != d.Policy {
				reason += ", not sampled by pct: " + d.Disposition
			}
		}
		res = append(res, resinfo("dmarc", d.Result, reason, "header.from", d.From))
	}
	var b strings.Builder
	b.WriteString("Authentication-Results: ")
	b.WriteString(token(id))
	if len(res) == 0 {
		b.WriteString("; none\n")
		return b.String()
	}
	for _, s := range res {
		b.WriteString(";\n\t")
		b.WriteString(s)
	}
	b.WriteString("\n")
	return b.String()
}

// resinfo is "method=result reason=... ptype.prop=value ..." (RFC 8601
// 2.2); properties with empty values are left out.
func resinfo(method, result, reason string, props ...string) string {
	var b strings.Builder
	b.WriteString(method + "=" + result)
	if reason != "" {
		b.WriteString(" reason=" + quoted(reason, 200))
	}
	for i := 0; i+1 < len(props); i += 2 {
		if props[i+1] == "" {
			continue
		}
		b.WriteString(" " + props[i] + "=" + pvalue(props[i+1]))
	}
	return b.String()
}

// pvalue writes a property value as is when it is a plain domain, address
// or token, and quoted otherwise (RFC 8601 2.2 pvalue).
func pvalue(s string) string {
	if len(s) > 0 && len(s) <= 255 && strings.IndexFunc(s, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune(".-_@+/", r))
	}) < 0 && s[0] != '@' {
		return s
	}
	return quoted(s, 255)
}

// token reduces an authserv-id to a token (control/me is a domain name).
func token(s string) string {
	return strings.Map(func(r rune) rune {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune(`()<>@,;:\"/[]?=`, r) {
			return '?'
		}
		return r
	}, s)
}

// quoted makes a quoted-string (RFC 5322 3.2.4) of printable ASCII, at
// most max bytes of content: anything else becomes '?'.
func quoted(s string, max int) string {
	if len(s) > max {
		s = s[:max]
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c >= 0x7f:
			b.WriteByte('?')
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// ReceivedSPF formats the Received-SPF field of RFC 7208 9.1 for the
// authoritative identity (MAIL FROM, or HELO for the null sender), with
// receiver the name of this host. LF line ends.
func ReceivedSPF(s *SPF, receiver string) string {
	r := s.Authoritative()
	who := s.Sender
	if who == "" {
		who = s.Helo
	}
	ip := s.IP.String()
	var comment string
	switch r.Result {
	case "pass":
		comment = "domain of " + who + " designates " + ip + " as permitted sender"
	case "fail":
		comment = "domain of " + who + " does not designate " + ip + " as permitted sender"
	case "softfail":
		comment = "domain of transitioning " + who + " does not designate " + ip + " as permitted sender"
	case "neutral":
		comment = ip + " is neither permitted nor denied by domain of " + who
	case "none":
		comment = "domain of " + who + " does not designate permitted sender hosts"
	case "temperror":
		comment = "error in processing during lookup of " + who
	default:
		comment = "error in the SPF record of " + who
	}
	var b strings.Builder
	b.WriteString("Received-SPF: " + string(r.Result) + " (" + commentText(token(receiver)+": "+comment) + ")\n\t")
	b.WriteString("client-ip=" + ip + "; envelope-from=" + quoted(s.Sender, 255) + "; helo=" + quoted(s.Helo, 255) + ";\n\t")
	if r.Problem != "" {
		b.WriteString("problem=" + quoted(r.Problem, 200) + ";\n\t")
	}
	b.WriteString("receiver=" + token(receiver) + "; identity=" + r.Identity + "\n")
	return b.String()
}

// commentText keeps a comment's content printable, without parentheses or
// backslashes that could end it early, and short.
func commentText(s string) string {
	if len(s) > 300 {
		s = s[:300]
	}
	return strings.Map(func(r rune) rune {
		if r < ' ' || r >= 0x7f || r == '(' || r == ')' || r == '\\' {
			return '?'
		}
		return r
	}, s)
}
