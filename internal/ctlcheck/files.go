package ctlcheck

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"goqmail/internal/aliases"
	"goqmail/internal/assign"
	"goqmail/internal/control"
	"goqmail/internal/dotqmail"
	"goqmail/internal/route"
	"goqmail/internal/tcprules"
)

// tcpRules checks control/tcp.smtp with smtpd's parser: every syntax error
// is a problem (smtpd refuses the file); rules it ignores (=host, info@,
// shadowed addresses) stay warnings, so a qmail site's file loads.
func (c *checker) tcpRules() {
	const file = "control/tcp.smtp"
	path, ok := c.snap.Present(control.TCPRules)
	if !ok {
		return
	}
	_, warns, err := tcprules.ParseFile(path)
	for _, w := range warns {
		c.warn(control.Problem{File: file, Line: w.Line, What: w.Text})
	}
	if err == nil {
		return
	}
	var ses tcprules.SyntaxErrors
	if !errors.As(err, &ses) {
		c.problem(unreadable(file, err))
		return
	}
	for _, se := range ses {
		c.problem(control.Problem{File: file, Line: se.Line, What: se.Text,
			Fix: `write ADDRESS:allow or ADDRESS:deny, then ,NAME="value" per variable (tcprules(1)), e.g. 127.:allow,RELAYCLIENT=""`})
	}
}

// smtpRoutes checks control/smtproutes with goqmail-remote's parser, which
// refuses a file with any bad line.
func (c *checker) smtpRoutes() {
	const file = "control/smtproutes"
	items, err := c.snap.ReadList(control.SMTPRoutes)
	if err != nil {
		c.problem(unreadable(file, err))
		return
	}
	_, errs := route.ParseRoutesAt(control.Texts(items), control.LineNos(items))
	for _, e := range errs {
		var le *route.LineError
		if !errors.As(e, &le) {
			c.problem(control.Problem{File: file, What: e.Error()})
			continue
		}
		what := strings.TrimPrefix(le.Err.Error(), route.ErrBadRoute.Error()+": ")
		c.problem(control.Problem{File: file, Line: le.Line, What: what,
			Fix: "write domain:relay[:port], .domain:relay, :relay (every other domain) or domain: (deliver by MX), optionally followed by user and password"})
	}
}

// defaultDelivery checks each line of control/defaultdelivery with the
// .qmail parser goqmail-local uses.
func (c *checker) defaultDelivery() {
	const file = "control/defaultdelivery"
	data, err := os.ReadFile(c.path(file))
	if err != nil {
		return // missing: the default; unreadable: reported by control
	}
	const fix = "write .qmail lines: ./Maildir/ (a Maildir), ./Mailbox (an mbox), |program, or &address"
	var lines []string
	before := len(c.res.Problems)
	for _, it := range control.Items(data) {
		lines = append(lines, it.Text)
		ins, err := dotqmail.Parse([]byte(it.Text+"\n"), false)
		if err != nil {
			c.problem(control.Problem{File: file, Line: it.Line, What: fmt.Sprintf("%q: %v", it.Text, err), Fix: fix})
			continue
		}
		// A line that is neither a path nor a program is a forward: a
		// Maildir written without its ./ would send every user's mail to
		// an address such as "Maildir/".
		for _, in := range ins {
			if in.Kind == dotqmail.Forward && strings.ContainsAny(in.Value, "/ \t") {
				c.problem(control.Problem{File: file, Line: it.Line,
					What: fmt.Sprintf("%q would forward mail to the address %q", it.Text, in.Value),
					Fix:  "start a Maildir or mbox path with ./ or / (./Maildir/), a program with |"})
			}
		}
	}
	// What only the lines together can get wrong (+list makes the lines
	// after it forward-only).
	if len(lines) > 0 && len(c.res.Problems) == before {
		if _, err := dotqmail.Parse([]byte(strings.Join(lines, "\n")+"\n"), false); err != nil {
			c.problem(control.Problem{File: file, What: err.Error(), Fix: fix})
		}
	}
}

// assign checks users/assign with the spawner's parser and its refusal of
// a file others may write (it decides which uid deliveries run as).
func (c *checker) assign() {
	const file = "users/assign"
	f, err := os.Open(c.path(file))
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		c.problem(unreadable(file, err))
		return
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && (!fi.Mode().IsRegular() || fi.Mode().Perm()&0o022 != 0) {
		c.problem(control.Problem{File: file, What: fmt.Sprintf("is not a regular file writable only by its owner (mode %v)", fi.Mode()),
			Fix: "chmod 644 " + c.path(file)})
		return
	}
	_, err = assign.Parse(f)
	if err == nil {
		return
	}
	var pes assign.ParseErrors
	if !errors.As(err, &pes) {
		c.problem(unreadable(file, err))
		return
	}
	for _, pe := range pes {
		c.problem(control.Problem{File: file, Line: pe.Line, What: pe.Reason,
			Fix: `write =local:user:uid:gid:home:dash:ext: or +prefix:user:uid:gid:home:dash:pre: lines, then a line holding only "." (qmail-users(5))`})
	}
}

// aliases checks the file control/aliases names with the parser the
// delivery side uses. Its problems are the file's own lines, so they name
// that file.
func (c *checker) aliases() {
	path := c.snap.Line(control.Aliases)
	if path == "" {
		return
	}
	table, err := aliases.Load(path)
	if table == nil && err != nil {
		c.problem(control.Problem{File: "control/aliases", Line: 1, What: fmt.Sprintf("%s cannot be used: %v", path, err),
			Fix: "point it at an existing aliases file that only its owner may write, or empty control/aliases"})
		return
	}
	for _, e := range flatten(err) {
		var le *aliases.LineError
		if errors.As(e, &le) {
			file := le.File
			if file == "" {
				file = path
			}
			c.problem(control.Problem{File: file, Line: le.Line, What: le.Err.Error(),
				Fix: "write name: target, target ... (aliases(5))"})
		} else {
			c.problem(control.Problem{File: path, What: e.Error()})
		}
	}
}

// checkPassword checks that control/checkpassword names a program.
func (c *checker) checkPassword() {
	path := c.snap.Line(control.CheckPassword)
	if path == "" {
		return
	}
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		c.problem(control.Problem{File: "control/checkpassword", Line: 1, What: fmt.Sprintf("%s: %v", path, errText(err)),
			Fix: "install the program there, or empty control/checkpassword"})
	case !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0:
		c.problem(control.Problem{File: "control/checkpassword", Line: 1, What: fmt.Sprintf("%s is not an executable file (mode %v)", path, fi.Mode()),
			Fix: "chmod 755 " + path})
	}
}

// flatten lists the leaves of an error tree built with %w and errors.Join
// (aliases.Load joins a *LineError per bad line and wraps the lot).
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	if _, ok := err.(*aliases.LineError); ok {
		return []error{err}
	}
	if inner := errors.Unwrap(err); inner != nil {
		return flatten(inner)
	}
	return []error{err}
}

// unreadable is a file that exists but cannot be read or parsed at all.
func unreadable(file string, err error) control.Problem {
	return control.Problem{File: file, What: "cannot be read: " + errText(err),
		Fix: "make it a readable regular file (see docs/control.md for its owner and mode)"}
}

// errText is an error without the path a *fs.PathError repeats.
func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
