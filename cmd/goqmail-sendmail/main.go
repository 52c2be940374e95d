package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"goqmail/internal/control"
	"goqmail/internal/helptext"
	"goqmail/internal/inject"
	"goqmail/internal/logline"
	"goqmail/internal/rootdir"
	"goqmail/internal/smtpd"
)

// Exit codes: sysexits.h, as sendmail(8) and Postfix's sendmail use them,
// so that mail user agents know whether to keep the message and retry.
const (
	exitOK        = 0
	exitUsage     = 64 // EX_USAGE: bad option or recipient
	exitDataErr   = 65 // EX_DATAERR: the message cannot be sent as it is
	exitUnavail   = 69 // EX_UNAVAILABLE: a helper program is missing
	exitIOErr     = 74 // EX_IOERR: reading standard input failed
	exitCantCreat = 73 // EX_CANTCREAT: the queue refused the message for good
	exitTempFail  = 75 // EX_TEMPFAIL: the queue is down or answered "try again"
	exitConfig    = 78 // EX_CONFIG: no goqmail directory or unreadable controls
)

// commitTimeout bounds the wait for the queue's answer once the message is
// sent; the queue answers as soon as the message is on disk.
const commitTimeout = 10 * time.Minute

func main() {
	exe, _ := os.Executable()
	env := &environment{
		name:   filepath.Base(os.Args[0]),
		exe:    exe,
		getenv: os.Getenv,
		stdin:  os.Stdin,
		stdout: os.Stdout,
		stderr: os.Stderr,
		pid:    os.Getpid(),
	}
	os.Exit(env.run(os.Args[1:]))
}

// environment is everything the command takes from its process, so tests
// can run it in-process.
type environment struct {
	name   string // the name invoked as: sendmail, mailq, newaliases
	exe    string
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	pid    int
}

func (e *environment) fail(code int, format string, args ...any) int {
	fmt.Fprintf(e.stderr, "%s: fatal: %s\n", e.name, fmt.Sprintf(format, args...))
	return code
}

// usageFail reports a command line that cannot be followed, with the
// usage, and returns EX_USAGE (sendmail's code, which mail programs know).
func (e *environment) usageFail(format string, args ...any) int {
	fmt.Fprintf(e.stderr, "%s: fatal: %s\n\n%s", e.name, fmt.Sprintf(format, args...), usage)
	return exitUsage
}

// wantsHelp: --help anywhere before "--", or -h with nothing after it (-h
// is otherwise sendmail's hop count, which takes a value).
func wantsHelp(args []string) bool {
	for i, a := range args {
		switch {
		case a == "--":
			return false
		case a == "--help" || a == "-help":
			return true
		case a == "-h" && i == len(args)-1:
			return true
		}
	}
	return false
}

func (e *environment) warn(format string, args ...any) {
	fmt.Fprintf(e.stderr, "%s: warning: %s\n", e.name, fmt.Sprintf(format, args...))
}

// usage is the help of -h and --help, and the reminder after a mistake.
const usage = helptext.Sendmail

func (e *environment) run(args []string) int {
	flagRoot, args, err := rootdir.Split(args)
	if err != nil {
		return e.usageFail("%v", err)
	}
	if wantsHelp(args) {
		fmt.Fprint(e.stdout, usage)
		return exitOK
	}
	o, err := parseArgs(e.name, args)
	if err != nil {
		return e.usageFail("%v", err)
	}
	switch o.mode {
	case modeNewAliases:
		fmt.Fprintf(e.stderr, "%s: nothing to do: goqmail reads the aliases file named in control/aliases directly, so a change takes effect without a newaliases step\n", e.name)
		return exitOK
	case modeFlush:
		fmt.Fprintf(e.stderr, "%s: -q ignored: goqmail has no queue runner to start; goqmail-send retries queued mail on its own schedule (send SIGALRM to goqmaild to retry everything now)\n", e.name)
		return exitOK
	case modeIgnore:
		return exitOK
	}
	root, err := findRoot(flagRoot, e.getenv, e.exe)
	if err != nil {
		return e.fail(exitConfig, "%v", err)
	}
	switch o.mode {
	case modeQueue:
		return e.listQueue(root)
	case modeSMTP:
		return e.serveSMTP(root, o)
	}
	return e.enqueue(root, o)
}

// listQueue runs `goqmail queue list -root ROOT` in place of this process, as
// Postfix's mailq runs postqueue -p.
func (e *environment) listQueue(root string) int {
	bin := filepath.Join(root, "bin", "goqmail")
	if _, err := os.Stat(bin); err != nil {
		bin = filepath.Join(filepath.Dir(e.exe), "goqmail")
	}
	env := append(os.Environ(), "GOQMAIL_ROOT="+root)
	err := syscall.Exec(bin, []string{"goqmail", "queue", "list", "-root", root}, env)
	return e.fail(exitUnavail, "cannot run %s to list the queue: %v", bin, err)
}

// serveSMTP is -bs: the SMTP server's session on stdin and stdout, as a
// local client that may relay. -v logs the session to stderr.
func (e *environment) serveSMTP(root string, o options) int {
	cfg, _, err := smtpd.LoadLocalConfig(filepath.Join(root, "control"))
	if err != nil {
		return e.fail(exitConfig, "%v", err)
	}
	srv := &smtpd.Server{SubmitSocket: filepath.Join(root, "run", "submit.sock")}
	if o.verbose {
		srv.Log = logline.NewTo(e.stderr, e.name)
	}
	srv.SetConfig(cfg)
	srv.ServeStdio(e.stdin, e.stdout)
	return exitOK
}

// injectConfig reads the qmail-inject controls, with qmail-inject's
// environment overrides (non-empty values only: an empty override is more
// likely an accident than a wish to turn completion off).
func (e *environment) injectConfig(root string, o options) (inject.Config, error) {
	snap, err := control.Load(filepath.Join(root, "control"))
	if err != nil {
		return inject.Config{}, err
	}
	pick := func(st *control.Setting, env string) string {
		if v := e.getenv(env); v != "" {
			return v
		}
		return snap.Line(st)
	}
	var acct inject.Account
	if u, err := user.LookupId(strconv.Itoa(os.Getuid())); err == nil {
		acct = inject.Account{Name: u.Username, Gecos: u.Name}
	}
	return inject.Config{
		DefaultHost:   pick(control.DefaultHost, "QMAILDEFAULTHOST"),
		DefaultDomain: pick(control.DefaultDomain, "QMAILDEFAULTDOMAIN"),
		IDHost:        pick(control.IDHost, "QMAILIDHOST"),
		Identity:      inject.NewIdentity(e.getenv, acct, o.fullName),
		PID:           e.pid,
	}, nil
}

// exitFor maps a failure while reading or submitting the message to an
// exit code: the message's fault, the input's, or the queue's.
func exitFor(err error) int {
	var re *inject.ReadError
	switch {
	case errors.Is(err, inject.ErrNUL), errors.Is(err, inject.ErrHeaderTooBig):
		return exitDataErr
	case errors.As(err, &re):
		return exitIOErr
	}
	return exitTempFail
}
