package bounce

import "strings"

// defaultStatus is RFC 3463's "other or undefined" permanent status, used
// when a report carries no usable code.
const defaultStatus = "5.0.0"

// remoteSaid starts the line in which qmail-remote quotes the remote
// server's reply (qmail-remote.c outsmtptext).
const remoteSaid = "Remote host said:"

// Status finds the RFC 3463 status code and the SMTP diagnostic in a
// qmail-style delivery report.
//
// If a line starts with "Remote host said:" followed by an SMTP reply, the
// reply (continuation lines joined by spaces, as Postfix does) is returned
// as diagnostic. The status is, best first: the reply's enhanced code
// (RFC 2034) when its class matches the reply code; else the last valid
// "(#x.y.z)" in the text (qmail's HCMSSC notation); else the reply code's
// class as "4.0.0" or "5.0.0"; else 5.0.0. Codes of class 2 and malformed
// codes are ignored: a failure report cannot carry a success status.
// diagnostic is "" when the text quotes no SMTP reply.
func Status(text string) (status string, diagnostic string) {
	lines := reportLines(text)
	var enhanced, class string
	for i := len(lines) - 1; i >= 0; i-- {
		rest, ok := strings.CutPrefix(strings.TrimLeft(lines[i], " \t"), remoteSaid)
		if ok {
			diagnostic, enhanced, class = parseReply(strings.TrimLeft(rest, " \t"), lines[i+1:])
			break
		}
	}
	switch {
	case enhanced != "":
		return enhanced, diagnostic
	case lastHashCode(text) != "":
		return lastHashCode(text), diagnostic
	case class != "":
		return class, diagnostic
	}
	return defaultStatus, diagnostic
}

// parseReply reads an SMTP reply whose first line is first and whose
// continuation lines (RFC 5321 4.2.1: "code-text" until "code text") may
// follow in more. It returns the reply as one line, its enhanced status code
// if valid, and the class status "4.0.0"/"5.0.0" for a failure reply code.
func parseReply(first string, more []string) (reply, enhanced, class string) {
	code, sep, ok := replyCode(first)
	if !ok {
		return "", "", ""
	}
	parts := []string{strings.TrimSpace(first)}
	for _, l := range more {
		if sep != '-' {
			break
		}
		l = strings.TrimSpace(l)
		c, s, ok := replyCode(l)
		if !ok || c != code {
			break
		}
		parts = append(parts, l)
		sep = s
	}
	reply = strings.Join(parts, " ")
	if code[0] != '4' && code[0] != '5' {
		return reply, "", ""
	}
	class = code[:1] + ".0.0"
	if len(first) > 4 {
		tok, _, _ := strings.Cut(strings.TrimLeft(first[4:], " "), " ")
		if validEnhanced(tok) && tok[0] == code[0] {
			enhanced = tok
		}
	}
	return reply, enhanced, class
}

// replyCode checks the reply code at the start of line (RFC 5321 4.2:
// "2"-"5", "0"-"5", "0"-"9") and returns it with the byte after it: ' ',
// '-', or 0 at the end of the line.
func replyCode(line string) (code string, sep byte, ok bool) {
	if len(line) < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '5' || line[2] < '0' || line[2] > '9' {
		return "", 0, false
	}
	if len(line) == 3 {
		return line, 0, true
	}
	if line[3] != ' ' && line[3] != '-' {
		return "", 0, false
	}
	return line[:3], line[3], true
}

// lastHashCode returns the last valid failure code written "(#x.y.z)" in
// text, the way qmail-local and qmail-remote end their reports.
func lastHashCode(text string) string {
	found := ""
	for rest := text; ; {
		i := strings.Index(rest, "(#")
		if i < 0 {
			return found
		}
		rest = rest[i+2:]
		code, _, ok := strings.Cut(rest, ")")
		if ok && validEnhanced(code) && code[0] != '2' {
			found = code
		}
	}
}

// validEnhanced checks RFC 3463 section 2 syntax: class "2"/"4"/"5", then
// subject and detail of one to three digits without leading zeros.
func validEnhanced(s string) bool {
	class, rest, ok := strings.Cut(s, ".")
	if !ok || (class != "2" && class != "4" && class != "5") {
		return false
	}
	subject, detail, ok := strings.Cut(rest, ".")
	return ok && validCodePart(subject) && validCodePart(detail)
}

func validCodePart(s string) bool {
	if len(s) == 0 || len(s) > 3 || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
