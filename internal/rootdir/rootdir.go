// Package rootdir is the one rule every goqmail command uses to find the
// installation it works on (the directory that holds control/, queue/,
// run/, users/):
//
//  1. -root DIR or --root DIR (also -root=DIR, --root=DIR), anywhere on
//     the command line before a "--";
//  2. else the positional ROOT of a command that takes one (goqmail
//     install ROOT, goqmaild ROOT, ...);
//  3. else $GOQMAIL_ROOT;
//  4. else /var/goqmail (qmail's /var/qmail).
//
// A directory is never taken from a word that starts with '-': `goqmail
// install --help` must print help, not install into ./--help.
package rootdir

import (
	"fmt"
	"strings"
)

// Default is the root of a system installation.
const Default = "/var/goqmail"

// Env is the environment variable that names the root.
const Env = "GOQMAIL_ROOT"

// Source says which rule gave the root, for messages.
type Source string

const (
	FromFlag       Source = "-root"
	FromPositional Source = "argument"
	FromEnv        Source = "$" + Env
	FromDefault    Source = "default"
)

// UsageError is a command line the rule cannot follow.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Split takes the root option out of args and returns its value ("" when
// it is not given) and the other words in their order. The option may come
// anywhere before a "--", which ends options (it and what follows are
// kept). Giving it twice, or without a directory, is an error.
func Split(args []string) (root string, rest []string, err error) {
	given := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		name, val, hasVal := strings.Cut(a, "=")
		if name != "-root" && name != "--root" {
			rest = append(rest, a)
			continue
		}
		if !hasVal {
			if i+1 >= len(args) {
				return "", nil, &UsageError{name + " needs a directory"}
			}
			i++
			val = args[i]
		}
		if err := CheckDir(name, val); err != nil {
			return "", nil, err
		}
		if given && val != root {
			return "", nil, &UsageError{fmt.Sprintf("%s given twice (%s and %s)", name, root, val)}
		}
		root, given = val, true
	}
	return root, rest, nil
}

// CheckDir refuses a directory name that is empty or looks like an option:
// a word starting with '-' is a mistyped option far more often than a
// directory (write ./-dir for that one).
func CheckDir(what, dir string) error {
	switch {
	case dir == "":
		return &UsageError{what + " needs a directory, got an empty word"}
	case strings.HasPrefix(dir, "-"):
		return &UsageError{fmt.Sprintf("%s needs a directory, got %q, which is an option (for a directory of that name write ./%s)", what, dir, dir)}
	}
	return nil
}

// Resolve applies the rule: flag, else positional, else $GOQMAIL_ROOT
// (read through getenv), else Default. Both a flag and a different
// positional root is an error: which one was meant cannot be known.
func Resolve(flag, positional string, getenv func(string) string) (string, Source, error) {
	switch {
	case flag != "" && positional != "" && flag != positional:
		return "", "", &UsageError{fmt.Sprintf("two roots: -root %s and %s; give one", flag, positional)}
	case flag != "":
		return flag, FromFlag, nil
	case positional != "":
		return positional, FromPositional, nil
	}
	if v := getenv(Env); v != "" {
		return v, FromEnv, nil
	}
	return Default, FromDefault, nil
}
