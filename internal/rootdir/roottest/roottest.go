// Package roottest is the one table of command lines that every goqmail
// command's tests run through its own argument parsing, so that the rule
// of internal/rootdir is the rule of every command, not of one function.
package roottest

import "strings"

// Args stands for a command's own arguments in Case.Words (queue's
// "list", sendmail's "-bp"): the root option must work before and after
// them.
const Args = "{ARGS}"

// Case is one command line and the root it must give.
type Case struct {
	Name  string
	Words []string // Args is replaced by the command's arguments
	Env   string   // $GOQMAIL_ROOT ("" = unset)
	// Positional: the case gives ROOT as an argument; only for commands
	// that take one.
	Positional bool
	// Want is the root; "" means the command's default (/var/goqmail, or
	// its own rule when it has none). Err, when set, is a piece of the
	// usage error the line must get instead.
	Want, Err string
}

// Cases is the table.
var Cases = []Case{
	{Name: "default", Words: []string{Args}},
	{Name: "environment", Words: []string{Args}, Env: "/env/root", Want: "/env/root"},
	{Name: "-root first", Words: []string{"-root", "/flag/root", Args}, Env: "/env/root", Want: "/flag/root"},
	{Name: "-root last", Words: []string{Args, "-root", "/flag/root"}, Env: "/env/root", Want: "/flag/root"},
	{Name: "--root", Words: []string{Args, "--root", "/flag/root"}, Want: "/flag/root"},
	{Name: "-root=", Words: []string{"-root=/flag/root", Args}, Want: "/flag/root"},
	{Name: "--root=", Words: []string{Args, "--root=/flag/root"}, Want: "/flag/root"},
	{Name: "same -root twice", Words: []string{"-root", "/flag/root", Args, "--root=/flag/root"}, Want: "/flag/root"},
	{Name: "two -root", Words: []string{"-root", "/a", Args, "-root", "/b"}, Err: "given twice"},
	{Name: "-root without a directory", Words: []string{Args, "-root"}, Err: "-root needs a directory"},
	{Name: "-root followed by an option", Words: []string{"-root", "--help", Args}, Err: "which is an option"},
	{Name: "-root empty", Words: []string{"--root=", Args}, Err: "needs a directory"},
	{Name: "positional", Words: []string{Args, "/pos/root"}, Env: "/env/root", Positional: true, Want: "/pos/root"},
	{Name: "positional and the same -root", Words: []string{"-root", "/pos/root", Args, "/pos/root"}, Positional: true, Want: "/pos/root"},
	{Name: "positional and another -root", Words: []string{"-root", "/flag/root", Args, "/pos/root"}, Positional: true, Err: "two roots"},
}

// Expand returns c's words with args in place of Args.
func (c Case) Expand(args ...string) []string {
	var out []string
	for _, w := range c.Words {
		if w == Args {
			out = append(out, args...)
		} else {
			out = append(out, w)
		}
	}
	return out
}

// Getenv is an environment that holds only c.Env as $GOQMAIL_ROOT.
func (c Case) Getenv(name string) string {
	if name == "GOQMAIL_ROOT" {
		return c.Env
	}
	return ""
}

// String names the case and its command line, for failures.
func (c Case) String() string { return c.Name + ": " + strings.Join(c.Words, " ") }
