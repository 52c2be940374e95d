package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"goqmail/internal/helptext"
	"goqmail/internal/proto"
	"goqmail/internal/qmailqueue"
	"goqmail/internal/rootdir"
	"goqmail/internal/submit"
)

// Bounds: qmail-queue kills itself after 24 hours (its DEATH timer); the
// queue answers a commit as soon as the message is on disk.
const (
	selfDestruct  = 24 * time.Hour
	commitTimeout = 10 * time.Minute
)

func main() {
	if len(os.Args) > 1 {
		if os.Args[1] == "--help" || os.Args[1] == "-h" {
			fmt.Print(helptext.QmailQueue)
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "qmail-queue: fatal: it takes no arguments (got %q): the message comes on descriptor 0, the envelope on descriptor 1\n\n%s",
			os.Args[1], helptext.QmailQueue)
		os.Exit(qmailqueue.ExitBug)
	}
	time.AfterFunc(selfDestruct, func() { os.Exit(qmailqueue.ExitTimeout) })
	exe, _ := os.Executable()
	// Run by smtpd for a QMAILQUEUE filter, the message is network mail:
	// smtpd's session sets TCPREMOTEIP, and GOQMAIL_DKIM_SIGN when the
	// client may relay (the queue believes both only from smtpd's uid).
	q := queuer{root: findRoot(os.Getenv, exe), network: os.Getenv("TCPREMOTEIP") != "",
		sign: os.Getenv("GOQMAIL_DKIM_SIGN") == "1", report: reportFD()}
	os.Exit(q.run(os.Stdin, os.NewFile(1, "envelope")))
}

// queuer is one run: where the queue is, and where to report.
type queuer struct {
	root    string
	network bool
	sign    bool
	report  *os.File // descriptor 6 when it is a pipe; nil otherwise
}

// run reads the message and the envelope and queues them; it returns the
// exit code.
func (q queuer) run(msg, env io.Reader) int {
	spool, err := tempFile()
	if err != nil {
		return qmailqueue.ExitWrite
	}
	defer spool.Close()
	if _, err := io.Copy(spool, msg); err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) && pe.Op == "write" {
			return qmailqueue.ExitWrite
		}
		return qmailqueue.ExitRead
	}
	sender, rcpts, err := qmailqueue.ReadEnvelope(env)
	if err != nil {
		var ee *qmailqueue.EnvelopeError
		if errors.As(err, &ee) {
			return ee.Exit
		}
		return qmailqueue.ExitRead
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return qmailqueue.ExitRead
	}
	c := &submit.Conn{Path: filepath.Join(q.root, "run", "submit.sock"), Network: q.network, Sign: q.network && q.sign}
	defer c.Close()
	if err := c.Begin(sender, rcpts); err != nil {
		return q.refuse(proto.Result{Temporary: true, Text: "the queue is not running (#4.3.0)"}, qmailqueue.ExitQueue)
	}
	if _, err := io.Copy(c, spool); err != nil {
		c.Abort()
		return qmailqueue.ExitRead
	}
	res, err := c.Commit(commitTimeout)
	switch {
	case err != nil:
		return q.refuse(proto.Result{Temporary: true, Text: "lost the connection to the queue (#4.3.0)"}, qmailqueue.ExitQueue)
	case res.OK:
		if q.report != nil {
			q.report.Write(qmailqueue.Queued(res.ID))
		}
		return qmailqueue.ExitOK
	case !res.Temporary:
		return q.refuse(res, qmailqueue.ExitRefused)
	case strings.HasSuffix(res.Text, "(#4.3.1)"):
		return q.refuse(res, qmailqueue.ExitWrite) // the queue's disk is full
	default:
		return q.refuse(res, qmailqueue.ExitTempRefused)
	}
}

// refuse passes the queue's own reason on descriptor 6 (exit 82) when the
// caller reads it there, else exits with code.
func (q queuer) refuse(res proto.Result, code int) int {
	if q.report == nil || res.Text == "" {
		return code
	}
	kind := "Z"
	if !res.Temporary {
		kind = "D"
	}
	if _, err := q.report.Write([]byte(kind + res.Text + "\n")); err != nil {
		return code
	}
	return qmailqueue.ExitCustom
}

// reportFD returns descriptor 6 when it is a pipe: a caller that reads a
// custom error there (notqmail's convention) made it so.
func reportFD() *os.File {
	var st unix.Stat_t
	if err := unix.Fstat(qmailqueue.CustomErrorFD, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return nil
	}
	return os.NewFile(qmailqueue.CustomErrorFD, "report")
}

// tempFile is an unlinked file in $TMPDIR for the message while the
// envelope has not come: O_TMPFILE where the file system has it, else a
// named file removed at once.
func tempFile() (*os.File, error) {
	dir := os.TempDir()
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err == nil {
		return os.NewFile(uintptr(fd), filepath.Join(dir, "qmail-queue")), nil
	}
	f, err := os.CreateTemp(dir, "goqmail-qmail-queue-")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name())
	return f, nil
}

// findRoot: $GOQMAIL_ROOT, else ROOT when this program is ROOT/bin/NAME
// (symbolic links resolved) and ROOT/control/me exists, else the default,
// as sendmail finds it. qmail-queue takes no arguments, so no -root.
func findRoot(getenv func(string) string, exe string) string {
	if r := getenv(rootdir.Env); r != "" {
		return r
	}
	if real, err := filepath.EvalSymlinks(exe); err == nil && exe != "" {
		dir := filepath.Dir(real)
		if _, err := os.Stat(filepath.Join(dir, "..", "control", "me")); err == nil && filepath.Base(dir) == "bin" {
			return filepath.Dir(dir)
		}
	}
	return rootdir.Default
}
