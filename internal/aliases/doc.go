// Package aliases reads the system alias table (sendmail's aliases(5), the
// input of qmail's fastforward/setforward) and users' ~/.forward files
// (sendmail's .forward as qmail's dot-forward reads it), and expands an
// alias into the targets a delivery must reach.
//
// The package only parses and expands; it delivers nothing. Targets come in
// three kinds: an Address (a bare local name the caller completes with its
// domain, or name@host), a Program ("|command", Value without the '|') and a
// File ("/path"). Every Target.Value is non-empty and free of NUL, CR, LF and
// other control characters (a Program may contain tabs), so a caller can put
// it into a queue envelope or an environment variable without re-checking.
//
// Limits (each a defence against a mistyped or hostile file, not a format
// rule): a physical line is at most 64 KiB, a logical alias entry (with its
// continuation lines) at most 1 MiB, an alias holds at most 10000 targets, an
// :include: file is at most 4 MiB and includes nest at most 5 deep, alias
// expansion recurses at most 20 deep and one Lookup returns at most 10000
// targets.
//
// Security: the aliases file and every :include: file must be regular files
// that are not world-writable (qmail's conf-patrn 002 rule for .qmail
// files), because a line in them can run a program. Deciding which uid runs
// a Program or writes a File is the caller's job.
package aliases
