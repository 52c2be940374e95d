package main

import (
	"fmt"
	"strings"
)

// mode is what the command was asked to do.
type mode int

const (
	modeDeliver    mode = iota // -bm, the default: read a message, queue it
	modeSMTP                   // -bs: an SMTP session on stdin/stdout
	modeQueue                  // -bp, mailq: list the queue
	modeNewAliases             // -bi, -I, newaliases: nothing to do
	modeFlush                  // -q: nothing to start
	modeIgnore                 // -bh, -bH: Postfix ignores them too
)

// options is the parsed command line.
type options struct {
	mode      mode
	extract   bool // -t
	dotEnds   bool // false with -i, -oi
	sender    string
	hasSender bool // -f or -r given
	fullName  string
	verbose   bool
	rcpts     []string
}

// usageError is a command line the command cannot follow (exit EX_USAGE).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// Option letters, as Postfix's sendmail reads them (its getopt string is
// "A:B:C:F:GIL:N:O:R:UV:X:b:ce:f:h:imno:p:r:q:tvx") plus sendmail's -d
// and qmail's ignored -E and -J. -q and -d take an optional attached value
// only ("-q" alone, "-q30m"), as in sendmail.
const (
	lettersWithValue  = "ABCFLNORVXbefhopr"
	lettersOptValue   = "dq"
	lettersWithoutArg = "EGIJUcimntvx"
)

// parseArgs reads the command line the way getopt(3) does for sendmail:
// clustered letters ("-ti"), values attached or in the next argument
// ("-fuser", "-f user", and an empty next argument for an empty value),
// options end at "--" or at the first
// argument that is not one (no permutation, like Postfix's "+" getopt).
// name is the base name the command was invoked as: mailq and newaliases
// select their mode as they do for Postfix.
func parseArgs(name string, args []string) (options, error) {
	o := options{dotEnds: true}
	switch name {
	case "mailq":
		o.mode = modeQueue
	case "newaliases":
		o.mode = modeNewAliases
	}
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		if a[1] == '-' {
			return o, usagef("unknown option %s", a)
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			switch {
			case strings.IndexByte(lettersWithValue, c) >= 0:
				v := a[j+1:]
				if v == "" {
					if i+1 >= len(args) {
						return o, usagef("option -%c needs a value", c)
					}
					i++
					v = args[i]
				}
				if err := o.set(c, v); err != nil {
					return o, err
				}
				j = len(a)
			case strings.IndexByte(lettersOptValue, c) >= 0:
				if err := o.set(c, a[j+1:]); err != nil {
					return o, err
				}
				j = len(a)
			case strings.IndexByte(lettersWithoutArg, c) >= 0:
				if err := o.set(c, ""); err != nil {
					return o, err
				}
			default:
				return o, usagef("unknown option -%c", c)
			}
		}
	}
	o.rcpts = args[i:]
	return o, o.check()
}

// set applies one option. Options a sendmail-compatible program accepts
// without effect for goqmail are listed so that they are not unknown.
func (o *options) set(c byte, v string) error {
	switch c {
	case 'b':
		switch v {
		case "m":
			o.mode = modeDeliver
		case "s":
			o.mode = modeSMTP
		case "p":
			o.mode = modeQueue
		case "i":
			o.mode = modeNewAliases
		case "h", "H": // host status: goqmail keeps none
			o.mode = modeIgnore
		case "d":
			return usagef("-bd is not supported: the goqmail daemon is started with goqmaild ROOT")
		default:
			return usagef("-b%s is not supported (goqmail supports -bm, -bs, -bp, -bi)", v)
		}
	case 'I':
		o.mode = modeNewAliases
	case 'f', 'r':
		o.sender, o.hasSender = v, true
	case 'F':
		o.fullName = v
	case 'i':
		o.dotEnds = false
	case 't':
		o.extract = true
	case 'v':
		o.verbose = true
	case 'q':
		o.mode = modeFlush
	case 'o':
		// Sendmail's one-letter options: -oi is -i; a value after the
		// letter is a boolean ("-oi-", "-oiTrue"), false only when it
		// starts with f or n (sendmail's atobool). The rest (-oem, -odb,
		// -om, -oA...) have no meaning here.
		if v != "" && v[0] == 'i' {
			o.dotEnds = isFalse(v[1:])
		}
	case 'O':
		// Long-form options: only IgnoreDots matters.
		name, val, _ := strings.Cut(v, "=")
		if strings.EqualFold(name, "IgnoreDots") {
			o.dotEnds = isFalse(val)
		}
	case 'B':
		if !strings.EqualFold(v, "7BIT") && !strings.EqualFold(v, "8BITMIME") {
			return usagef("-B needs 7BIT or 8BITMIME, not %q", v)
		}
	}
	// A, C, L, N, R, V, X, d, e, h, p and the letters without a value:
	// accepted and ignored (DSN options, logging, config paths, hop counts).
	return nil
}

func isFalse(v string) bool {
	return v != "" && strings.IndexByte("fFnN", v[0]) >= 0
}

// check refuses combinations that cannot mean anything.
func (o *options) check() error {
	if o.extract && o.mode != modeDeliver {
		return usagef("-t can be used only when sending a message")
	}
	for _, r := range o.rcpts {
		if strings.HasPrefix(r, "-") {
			return usagef("%s after the recipients: options must come first", r)
		}
	}
	switch o.mode {
	case modeSMTP:
		if len(o.rcpts) > 0 {
			return usagef("-bs takes no recipients: they come with RCPT TO")
		}
	case modeQueue, modeFlush:
		if len(o.rcpts) > 0 {
			return usagef("listing or flushing the queue takes no recipients")
		}
	case modeDeliver:
		if !o.extract && len(o.rcpts) == 0 {
			return usagef("no recipients: name them on the command line or use -t")
		}
	}
	return nil
}
