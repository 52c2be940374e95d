package control

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is matched (errors.Is) by every error Load returns: the
// configuration cannot be used as it is. Programs exit with
// logline.ExitConfig on it at start and keep their old configuration on it
// at a reload.
var ErrInvalid = errors.New("invalid configuration")

// Problem is one thing wrong with a configuration file, said so that the
// administrator can fix it without reading the code: which file, which
// line, what is wrong, and what to write instead.
type Problem struct {
	File string // relative to the goqmail root: "control/databytes", "users/assign"
	Line int    // 1-based; 0 when the problem is the file as a whole
	What string // what is wrong, quoting the text that is
	Fix  string // what to do
	Err  error  // a sentinel callers test with errors.Is (ErrNoMe), or nil
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, " line %d", p.Line)
	}
	b.WriteString(": ")
	b.WriteString(p.What)
	if p.Fix != "" {
		b.WriteString("; ")
		b.WriteString(p.Fix)
	}
	return b.String()
}

// Problems is every problem found in one configuration, as an error.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, " / ")
}

// Unwrap makes errors.Is(err, ErrInvalid) true, and errors.Is(err, ErrNoMe)
// when that is among the problems.
func (ps Problems) Unwrap() []error {
	errs := []error{ErrInvalid}
	for _, p := range ps {
		if p.Err != nil {
			errs = append(errs, p.Err)
		}
	}
	return errs
}

// ErrorLines splits err into one line per problem (Problems, or errors
// joined with errors.Join), for a log that writes one event per line; any
// other error is one line.
func ErrorLines(err error) []string {
	if err == nil {
		return nil
	}
	var ps Problems
	if errors.As(err, &ps) {
		lines := make([]string, len(ps))
		for i, p := range ps {
			lines[i] = p.String()
		}
		return lines
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var lines []string
		for _, e := range j.Unwrap() {
			lines = append(lines, ErrorLines(e)...)
		}
		return lines
	}
	return []string{err.Error()}
}

// Invalid is what a setting's Check returns: what is wrong with the value
// and how to fix it. The caller adds the file and line.
type Invalid struct{ What, Fix string }

func (e *Invalid) Error() string { return e.What + "; " + e.Fix }

func invalid(fix, format string, args ...any) error {
	return &Invalid{What: fmt.Sprintf(format, args...), Fix: fix}
}

// problemFor turns a Check error into a Problem at file and line.
func problemFor(file string, line int, err error) Problem {
	var inv *Invalid
	if errors.As(err, &inv) {
		return Problem{File: file, Line: line, What: inv.What, Fix: inv.Fix}
	}
	return Problem{File: file, Line: line, What: err.Error()}
}
