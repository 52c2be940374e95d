package aliases

import (
	"bytes"
	"fmt"
	"strings"
)

// ParseForward parses a ~/.forward file as sendmail and qmail's dot-forward
// read it: each line is a list of targets separated by commas (or blanks),
// lines whose first non-blank character is '#' are comments, blank lines
// are ignored. Targets are "\user" (deliver to the user's own mailbox; the
// Address carries the name without the backslash), "|program", "/file",
// name or name@host, and any of them in double quotes.
//
// Unlike Parse, ParseForward is strict: the file belongs to a user, and a
// half-understood .forward must not deliver half the mail, so any bad
// target, a line over 64 KiB, more than 10000 targets or any control
// character (NUL, a bare CR, ...) fails the whole file. :include: is
// refused (dot-forward does not support it either, and it would let a user
// read files through the mailer). Targets are deduplicated in first-seen
// order. An empty or comments-only file gives no targets and no error; as
// dot-forward does, the caller should treat it like a missing file.
func ParseForward(data []byte) ([]Target, error) {
	var out []Target
	seen := map[Target]bool{}
	lines := bytes.Split(data, []byte("\n"))
	for i, b := range lines {
		n := i + 1
		line := strings.TrimSuffix(string(b), "\r")
		if len(line) > maxLineLen {
			return nil, &LineError{Line: n, Err: fmt.Errorf("%w: line longer than %d bytes", ErrLimit, maxLineLen)}
		}
		if c, bad := badControl(line, true); bad {
			return nil, &LineError{Line: n, Err: fmt.Errorf("%w: control character %#02x", ErrSyntax, c)}
		}
		trimmed := strings.TrimLeft(line, " \t")
		if trimmed == "" || trimmed[0] == '#' {
			continue
		}
		ents, errs := splitTargets(line, false)
		if len(errs) > 0 {
			return nil, &LineError{Line: n, Err: errs[0]}
		}
		for _, e := range ents {
			key := e.Target
			if key.Kind == Address {
				key.Value = strings.ToLower(key.Value)
			}
			if seen[key] {
				continue
			}
			if len(out) == maxTargets {
				return nil, &LineError{Line: n, Err: fmt.Errorf("%w: more than %d targets", ErrLimit, maxTargets)}
			}
			seen[key] = true
			out = append(out, e.Target)
		}
	}
	return out, nil
}
