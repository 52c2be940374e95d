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
	b.WriteString("and lines starting with `#`. Processes reread control/ on SIGHUP. `goqmail showctl` prints every\n")
	b.WriteString("effective value and where it came from.\n\n")
	b.WriteString("## Validation\n\n")
	b.WriteString("Every file is checked against the rule in the table below (`goqmail check -config ROOT` runs\n")
	b.WriteString("every check; `goqmail check ROOT` runs them with the installation check). A value that breaks\n")
	b.WriteString("its rule is an error naming the file, the line, what is wrong and what to write, for example\n\n")
	b.WriteString("    control/databytes line 1: \"10M\" is not a number of bytes; write a whole number such as 10485760 (0 = no limit)\n\n")
	b.WriteString("and every problem is reported, not just the first. goqmaild runs the check before it binds a\n")
	b.WriteString("port or starts a program and refuses to start on any problem. On SIGHUP it runs the check\n")
	b.WriteString("first: on a problem it logs each one and forwards nothing, so every program keeps its old\n")
	b.WriteString("configuration; settings marked *restart* are read only at start, and a changed one is logged as\n")
	b.WriteString("needing a restart of goqmaild. A program that finds its configuration invalid when it (re)starts\n")
	b.WriteString("exits with status 78 (EX_CONFIG); goqmaild logs an `alert:` with the reasons and tries it again\n")
	b.WriteString("every 30 seconds, and at once after a SIGHUP whose check passes.\n\n")
	b.WriteString("| file | default | read by | qmail | meaning | accepted values |\n|---|---|---|---|---|---|\n")
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
		rule := st.Rule
		if st.Kind == Number {
			rule = st.NumberFix()
			rule = strings.TrimPrefix(rule, "write ")
		}
		if st.Restart {
			rule += "; *restart*"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", st.Name, def, strings.Join(st.UsedBy, ", "), q, st.Meaning, rule)
	}
	b.WriteString(failOpen)
	b.WriteString("\nWhere goqmail differs from qmail on purpose: `rcpthosts` missing means no relaying at all\n")
	b.WriteString("(qmail: an open relay); concurrency caps are 1000 instead of 120; `tcp.smtp` is read as text\n")
	b.WriteString("(no `tcprules` compile step); `users/assign` is read directly (no `qmail-newu`); a number that\n")
	b.WriteString("does not parse is an error (qmail read `10M` as 10 and garbage as the default).\n")
	return b.String()
}

// failOpen is the hand-written part: the few places where goqmail goes on
// without a value on purpose, and why.
const failOpen = `
## Where goqmail fails open on purpose

Everything else above fails closed. These few cases go on, each for a reason:

- **A missing file means its documented default** (qmail's rule). Only ` + "`me`" + ` is required. A file
  that exists but cannot be read is an error, never the default.
- **No ` + "`servercert.pem`" + ` means no TLS on port 25**: mail from other servers keeps flowing in plain text
  (RFC 3207 makes STARTTLS optional), and AUTH is not offered there. Listeners that need TLS
  (` + "`smtpslisten`, `pop3slisten`" + `, and ` + "`submissionlisten`" + ` unless ` + "`authplaintext`" + ` is 1) are then an error.
  A certificate that exists but is unreadable or invalid is an error. A renewed certificate that
  fails to load while running keeps the previous one in use and is logged, so a half-written
  renewal never takes TLS down.
- **` + "`concurrencylocal`" + ` and ` + "`concurrencyremote`" + ` above 1000 are used as 1000**, with a warning, as
  qmail caps them at 120: the administrator asked for "as many as possible".
- **` + "`tcp.smtp`" + ` rules that need DNS or ident** (` + "`=host`, `=.suffix`, `info@`" + `) are ignored with a
  warning, so a qmail site's file loads unchanged; goqmail does no reverse lookups, so such a rule can
  never match. A rule whose every address an earlier line already claims is ignored with a warning
  too, as tcprules' cdb keeps the first.
- **More lines in a one-value file** are ignored with a warning (qmail reads the first line).
- **A DNS blocklist (` + "`dnsbl`" + `) that cannot be asked** (SERVFAIL, no answer within ` + "`dnstimeout`" + `) does
  not list the client, and the failure is logged as a warning: rblsmtpd's and postscreen's choice,
  so that a dead blocklist does not stop all mail. An allowlist that cannot be asked spares
  nobody; reverse DNS that cannot be checked answers 451 (docs/antispam.md).
- **A line of the greylisting state that does not parse** is skipped with a warning: its triplet
  is greylisted again, which delays mail and loses none.
- **Files read per delivery** (` + "`users/assign`" + `, the ` + "`aliases`" + ` file, ` + "`.qmail`" + ` files, the virtual
  directory) take effect when they change, without SIGHUP. ` + "`goqmail check`" + ` reports their problems,
  but goqmaild cannot hold their old version: a broken ` + "`users/assign`" + ` defers deliveries until it is
  fixed, and a bad line in the aliases file leaves out that alias only (as newaliases does).
`
