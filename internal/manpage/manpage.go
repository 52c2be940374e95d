// Package manpage renders a program's --help text as a man page (roff,
// man(7) macros), so that the manual is the help and cannot drift from
// it: `goqmail install` writes the pages from the texts the programs
// print, and a test compares docs/man with a fresh rendering.
package manpage

import (
	"fmt"
	"strings"
)

// Page is one manual page.
type Page struct {
	Name    string   // goqmail-queue
	Section string   // 8
	Summary string   // the NAME line's description
	Help    string   // the --help text, as printed
	SeeAlso []string // other pages, "goqmail(8)"
}

// File is the page's file name, NAME.SECTION.
func (p Page) File() string { return p.Name + "." + p.Section }

// Render returns the page. The help text goes in verbatim (no fill, no
// adjustment), as the terminal shows it; no date, so a rendering is
// reproducible.
func Render(p Page) string {
	var b strings.Builder
	b.WriteString(`.\" Generated from the program's --help text; do not edit (see internal/manpage).` + "\n")
	fmt.Fprintf(&b, ".TH %s %s \"\" goqmail \"goqmail manual\"\n", strings.ToUpper(escape(p.Name)), p.Section)
	b.WriteString(".SH NAME\n")
	fmt.Fprintf(&b, "%s \\- %s\n", escape(p.Name), escape(p.Summary))
	b.WriteString(".SH DESCRIPTION\n.nf\n")
	for _, line := range strings.Split(strings.TrimRight(p.Help, "\n"), "\n") {
		b.WriteString(escapeLine(line) + "\n")
	}
	b.WriteString(".fi\n")
	if len(p.SeeAlso) > 0 {
		b.WriteString(".SH SEE ALSO\n")
		var refs []string
		for _, s := range p.SeeAlso {
			name, sec, ok := strings.Cut(strings.TrimSuffix(s, ")"), "(")
			if !ok {
				refs = append(refs, escape(s))
				continue
			}
			refs = append(refs, fmt.Sprintf(".BR %s (%s)", escape(name), sec))
		}
		b.WriteString(strings.Join(refs, " ,\n") + "\n")
	}
	return b.String()
}

// escape makes text safe inside a roff line: a backslash is \e, a hyphen
// \- (so it copies and searches as a minus).
func escape(s string) string {
	return strings.NewReplacer(`\`, `\e`, "-", `\-`).Replace(s)
}

// escapeLine also keeps a line that starts with a dot or an apostrophe
// from being read as a request.
func escapeLine(s string) string {
	s = escape(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}
