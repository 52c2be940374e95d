package control

import (
	"fmt"
	"strings"
)

// Markdown renders the declaration table as docs/control.md. The file is
// generated (`go test ./internal/control -update`) and a test fails when it
// is stale, so the document cannot drift from the code.
func Markdown() string {
	var b strings.Builder
	b.WriteString("# Control files\n\n")
	b.WriteString("<!-- Generated from internal/control/settings.go by `go test ./internal/control -update`. Do not edit. -->\n\n")
	b.WriteString("Every setting is one file in `control/` under the goqmail root, read with qmail's rules:\n")
	b.WriteString("single-value files use the first line with trailing blanks removed; list files skip blank lines\n")
	b.WriteString("and lines starting with `#`; a number that does not parse keeps the default (and `goqmail showctl`\n")
	b.WriteString("warns). Processes reread control/ on SIGHUP. `goqmail showctl` prints every effective value and\n")
	b.WriteString("where it came from.\n\n")
	b.WriteString("| file | default | read by | qmail | meaning |\n|---|---|---|---|---|\n")
	for _, st := range All {
		def := st.Default
		switch {
		case st.FromMe:
			def = "me"
		case st.Kind == File:
			def = "(none)"
		case def == "":
			def = "(none)"
		}
		q := "new"
		if st.Qmail {
			q = "same"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", st.Name, def, strings.Join(st.UsedBy, ", "), q, st.Meaning)
	}
	b.WriteString("\nWhere goqmail differs from qmail on purpose: `rcpthosts` missing means no relaying at all\n")
	b.WriteString("(qmail: an open relay); concurrency caps are 1000 instead of 120; `tcp.smtp` is read as text\n")
	b.WriteString("(no `tcprules` compile step); `users/assign` is read directly (no `qmail-newu`).\n")
	return b.String()
}
