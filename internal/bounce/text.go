package bounce

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxLine is RFC 5322 2.1.1's limit on a line, without its line end. Every
// line this package writes itself stays within it.
const maxLine = 998

// maxAddr caps an address as shown in the bounce. Real ones are far shorter
// (internal/address allows about 520 bytes); the cap keeps every header and
// text line within maxLine whatever the caller passes.
const maxAddr = 900

// reportLines splits a delivery report into its lines. qmail reports mark
// line ends with '/' (qmail-send logs them that way, and proto.CleanText
// stores them that way); '\n', '\r' and NUL also end a line. A '/' inside a
// URL ("https://host/path") is kept: remote servers quote URLs in their
// replies, and cutting them into lines would make them useless. Blank lines
// are dropped, as QSBMF paragraphs must not contain empty lines (qmail's
// addbounce rewrites them as "/").
func reportLines(text string) []string {
	var lines []string
	start, token := 0, 0
	flush := func(end int) {
		line := strings.TrimRight(text[start:end], " \t")
		if strings.TrimSpace(line) != "" {
			lines = append(lines, line)
		}
	}
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c == '\n' || c == '\r' || c == 0:
			flush(i)
			start, token = i+1, i+1
		case c == ' ' || c == '\t':
			token = i + 1
		case c == '/' && !inURL(text, token, i):
			flush(i)
			start, token = i+1, i+1
		}
	}
	flush(len(text))
	return lines
}

// inURL reports whether the '/' at text[i] belongs to a URL: it is part of
// "://" or the word it ends (starting at token) contains "://".
func inURL(text string, token, i int) bool {
	if i+1 < len(text) && text[i+1] == '/' && i > 0 && text[i-1] == ':' {
		return true
	}
	if i >= 2 && text[i-2:i] == ":/" {
		return true
	}
	return strings.Contains(text[token:i], "://")
}

// cleanText makes s valid UTF-8 (invalid bytes become U+FFFD) and replaces
// control characters other than tab (C0, DEL, C1) with repl, so that no CR,
// LF or NUL reaches the output from caller-supplied text.
func cleanText(s string, repl rune) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if r != '\t' && (r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0)) {
			return repl
		}
		return r
	}, s)
}

// displayAddr is an address as the bounce shows it: clean (qmail's addbounce
// turns '\n' into '_'; we do that for every control character) and capped
// at maxAddr bytes.
func displayAddr(addr string) string {
	return truncate(cleanText(addr, '_'), maxAddr)
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// wrapLine cuts a line longer than maxLine into pieces that fit.
func wrapLine(line string) []string {
	var out []string
	for len(line) > maxLine {
		head := truncate(line, maxLine)
		out = append(out, head)
		line = line[len(head):]
	}
	return append(out, line)
}

// humanPart is the text/plain part in qmail-send's wording (qmail.md §5.1,
// QSBMF), so that parsers written for qmail bounces still recognise it: the
// intro paragraph, one paragraph per recipient starting "<rcpt>:", then the
// break paragraph starting with "-".
func humanPart(p Params, host string, att *attachment) string {
	var b strings.Builder
	b.WriteString("Hi. This is the qmail-send program at " + host + ".\n")
	if p.Double {
		b.WriteString("I tried to deliver a bounce message to this address, but the bounce bounced!\n\n")
	} else {
		b.WriteString("I'm afraid I wasn't able to deliver your message to the following addresses.\n" +
			"This is a permanent error; I've given up. Sorry it didn't work out.\n\n")
	}
	for _, f := range p.Failures {
		b.WriteString("<" + displayAddr(f.Rcpt) + ">:\n")
		for _, line := range reportLines(f.Text) {
			line = strings.TrimRight(cleanText(line, '?'), " \t")
			if strings.TrimSpace(line) == "" {
				continue
			}
			for _, piece := range wrapLine(line) {
				b.WriteString(piece + "\n")
			}
		}
		b.WriteString("\n")
	}
	b.WriteString(breakLine(p.Double, att) + "\n")
	return b.String()
}

// breakLine is QSBMF's break paragraph, saying what the third part holds.
func breakLine(double bool, att *attachment) string {
	what, it := "message", "the message"
	if double {
		what, it = "original bounce", "it"
	}
	switch {
	case att.full && double:
		return "--- Below this line is the original bounce."
	case att.full:
		return "--- Below this line is a copy of the message."
	case att.tooBig:
		return fmt.Sprintf("--- Below this line is the header of the %s; %s was %d bytes, more than the limit of %d.",
			what, it, att.size, att.limit)
	}
	return fmt.Sprintf("--- Below this line is the header of the %s; %s could not be attached as it is not 8-bit clean.",
		what, it)
}

// isASCII reports whether s is pure US-ASCII.
func isASCII[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
