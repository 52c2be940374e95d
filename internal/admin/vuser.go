package admin

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"goqmail/internal/pwhash"
	"goqmail/internal/vdir"
)

const userUsage = `usage: goqmail user COMMAND ... [-root ROOT]
  add ADDRESS [--quota BYTES] [--quota-messages N]   add the user; asks for its password
  passwd ADDRESS                                     set a new password
  set ADDRESS [--quota BYTES] [--quota-messages N]   change the limits (0 = unlimited)
  del ADDRESS           remove it (the mailbox is kept as vmail/DOMAIN/.deleted-USER-TIME)
  list DOMAIN           every user of the domain
  show ADDRESS          limits, password scheme and mailbox
A password is never taken from the command line: on a terminal it is asked for twice
without echo; from a pipe (or with --password-stdin) it is the first line of standard input.
A user added without --quota gets the domain's default quota.
` + rootHelp

// UserUsage is the help text of `goqmail user`.
func UserUsage() string { return userUsage }

// maxPasswordLine bounds what is read from standard input.
const maxPasswordLine = 1024

// PasswordSource gives the new password of addr.
type PasswordSource func(addr string) (string, error)

// PipePassword reads the password as the first line of in: how scripts
// give it (echo pw | goqmail user add ...), never on the command line.
func PipePassword(in io.Reader) PasswordSource {
	return func(string) (string, error) { return readPassword(in) }
}

// TerminalPassword asks on a terminal: the prompt goes to prompt, read
// reads one line without echo (term.ReadPassword), and the password is
// asked twice, as passwd(1) does, because a typing mistake nobody saw
// would lock the user out.
func TerminalPassword(prompt io.Writer, read func() ([]byte, error)) PasswordSource {
	return func(addr string) (string, error) {
		ask := func(text string) (string, error) {
			fmt.Fprint(prompt, text)
			b, err := read()
			fmt.Fprintln(prompt) // the Enter was not echoed
			if err != nil {
				return "", fmt.Errorf("read password from the terminal: %w", err)
			}
			if len(b) > maxPasswordLine {
				return "", usagef("password longer than %d bytes", maxPasswordLine)
			}
			return string(b), nil
		}
		pw, err := ask("New password for " + addr + ": ")
		if err != nil {
			return "", err
		}
		if pw == "" {
			return "", usagef("empty password: nothing changed")
		}
		again, err := ask("Same password again: ")
		if err != nil {
			return "", err
		}
		if again != pw {
			return "", usagef("the two passwords differ: nothing changed")
		}
		return pw, nil
	}
}

// readPassword takes the first line of in, without its line end.
func readPassword(in io.Reader) (string, error) {
	if in == nil {
		return "", usagef("no password on standard input")
	}
	line, err := bufio.NewReaderSize(in, maxPasswordLine+2).ReadSlice('\n')
	if err != nil && err != io.EOF {
		if err == bufio.ErrBufferFull {
			return "", usagef("password line longer than %d bytes", maxPasswordLine)
		}
		return "", fmt.Errorf("read password: %w", err)
	}
	pw := strings.TrimRight(string(line), "\r\n")
	if pw == "" {
		return "", usagef("no password on standard input (give it as the first line)")
	}
	return pw, nil
}

// UserCmd runs `goqmail user ARGS` against the directory open gives;
// passwords come from pw.
func UserCmd(open Opener, args []string, pw PasswordSource, out io.Writer) (bool, error) {
	fs, err := parseFlags(args, []string{"quota", "quota-messages"}, []string{"password-stdin"})
	if err != nil {
		return false, err
	}
	if len(fs.args) == 0 {
		return false, usagef("which command? add, passwd, set, del, list or show")
	}
	verb, rest := fs.args[0], fs.args[1:]
	allowed := map[string][]string{
		"add": {"quota", "quota-messages", "password-stdin"}, "set": {"quota", "quota-messages"},
		"passwd": {"password-stdin"}, "del": nil, "list": nil, "show": nil,
	}
	opts, known := allowed[verb]
	if !known {
		return false, usagef("unknown command %q: add, passwd, set, del, list or show", verb)
	}
	if len(rest) != 1 {
		return false, usagef("user %s takes one argument, got %d", verb, len(rest))
	}
	for name := range fs.vals {
		if !contains(opts, name) {
			return false, usagef("user %s does not take --%s", verb, name)
		}
	}
	if verb == "list" {
		if _, err := vdir.CheckDomain(rest[0]); err != nil {
			return false, err
		}
		d, err := open()
		if err != nil {
			return false, err
		}
		return false, listUsers(d, rest[0], out)
	}
	local, domain, err := vdir.SplitAddress(rest[0])
	if err != nil {
		return false, err
	}
	addr := local + "@" + domain
	u := vdir.User{Local: local, Domain: domain}
	if err := userLimits(fs, &u); err != nil {
		return false, err
	}
	d, err := open()
	if err != nil {
		return false, err
	}
	switch verb {
	case "add":
		if err := checkNewUser(d, local, domain); err != nil {
			return false, err
		}
		pw, err := pw(addr)
		if err != nil {
			return false, err
		}
		if err := d.AddUser(u, pw); err != nil {
			return false, err
		}
		u, _, err = d.User(local, domain)
		if err != nil {
			return true, err
		}
		fmt.Fprintf(out, "added user %s\n", describeUser(u))
	case "passwd":
		if _, err := existingUser(d, local, domain); err != nil {
			return false, err
		}
		pw, err := pw(addr)
		if err != nil {
			return false, err
		}
		if err := d.SetPassword(local, domain, pw); err != nil {
			return false, err
		}
		fmt.Fprintf(out, "changed the password of %s\n", addr)
	case "set":
		if !fs.has("quota") && !fs.has("quota-messages") {
			return false, usagef("user set: nothing to change (give --quota or --quota-messages)")
		}
		u, err := existingUser(d, local, domain)
		if err != nil {
			return false, err
		}
		if err := userLimits(fs, &u); err != nil {
			return false, err
		}
		if err := d.SetQuota(local, domain, u.QuotaBytes, u.QuotaMessages); err != nil {
			return false, err
		}
		fmt.Fprintf(out, "changed user %s\n", describeUser(u))
	case "del":
		if err := d.DeleteUser(local, domain); err != nil {
			return false, err
		}
		fmt.Fprintf(out, "deleted user %s (mailbox kept as vmail/%s/.deleted-%s-TIME)\n", addr, domain, local)
	case "show":
		return false, showUser(d, local, domain, out)
	}
	return true, nil
}

// existingUser is the user local@domain, or ErrNotFound (a user of an
// alias domain is not one of its own).
func existingUser(d vdir.Directory, local, domain string) (vdir.User, error) {
	u, ok, err := d.User(local, domain)
	if err != nil {
		return u, err
	}
	if !ok || u.Domain != domain {
		return u, fmt.Errorf("no user %s@%s: %w", local, domain, vdir.ErrNotFound)
	}
	return u, nil
}

// checkNewUser answers "exists" before the password is asked for, so
// nobody types a password twice for nothing. AddUser checks again.
func checkNewUser(d vdir.Directory, local, domain string) error {
	if u, ok, err := d.User(local, domain); err != nil {
		return err
	} else if ok && u.Domain == domain {
		return &kindError{vdir.ErrExists, fmt.Sprintf("user %s@%s already exists", local, domain)}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func userLimits(fs *flagSet, u *vdir.User) error {
	var err error
	if fs.has("quota") {
		if u.QuotaBytes, err = parseSize(fs.vals["quota"], "--quota"); err != nil {
			return err
		}
	}
	if fs.has("quota-messages") {
		if u.QuotaMessages, err = parseCount(fs.vals["quota-messages"], "--quota-messages"); err != nil {
			return err
		}
	}
	return nil
}

// describeUser is one line without secrets: the hash's scheme only.
func describeUser(u vdir.User) string {
	scheme := pwhash.Scheme(u.Hash)
	if scheme == "" {
		scheme = "none"
	}
	return fmt.Sprintf("%s@%s quota=%d messages=%d password=%s", u.Local, u.Domain, u.QuotaBytes, u.QuotaMessages, scheme)
}

func listUsers(d vdir.Directory, domain string, out io.Writer) error {
	name, err := vdir.CheckDomain(domain)
	if err != nil {
		return err
	}
	us, err := d.Users(name)
	if err != nil {
		return err
	}
	for _, u := range us {
		fmt.Fprintln(out, describeUser(u))
	}
	return nil
}

// homer is what a Directory with mailboxes on disk adds (vdir.Files).
type homer interface {
	MailboxHome(local, domain string) string
}

func showUser(d vdir.Directory, local, domain string, out io.Writer) error {
	u, ok, err := d.User(local, domain)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("no user %s@%s: %w", local, domain, vdir.ErrNotFound)
	}
	fmt.Fprintf(out, "user %s@%s\nquota: %d bytes, %d messages (0 = unlimited)\npassword scheme: %s\n",
		u.Local, u.Domain, u.QuotaBytes, u.QuotaMessages, pwhash.Scheme(u.Hash))
	if h, ok := d.(homer); ok {
		fmt.Fprintf(out, "mailbox: %s/Maildir/\n", h.MailboxHome(u.Local, u.Domain))
	}
	return nil
}

// kindError is a message that is one of vdir's error kinds (errors.Is).
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }
