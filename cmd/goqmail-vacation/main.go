package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/mail"
	"os"
	"time"

	"goqmail/internal/helptext"
	"goqmail/internal/submit"
	"goqmail/internal/vacation"
)

// maxHeader bounds how much of the message's header is read.
const maxHeader = 256 << 10

// commitTimeout is how long the queue may take (as sendmail).
const commitTimeout = 2 * time.Minute

func main() {
	if os.Geteuid() == 0 {
		// goqmail-local never runs as root; someone ran this by hand.
		fmt.Println("goqmail-vacation: refusing to run as root; no reply sent")
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdin, os.Stdout, time.Now()))
}

// run does one message and returns the exit code: always 0 (see doc.go).
func run(args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer, now time.Time) int {
	defer io.Copy(io.Discard, stdin) // qmail-local writes the whole message
	say := func(format string, a ...any) int {
		fmt.Fprintf(stdout, "goqmail-vacation: "+format+"\n", a...)
		return 0
	}
	if len(args) != 1 {
		fmt.Fprint(stdout, helptext.Vacation)
		return say("no reply sent")
	}
	dir := args[0]
	c, err := vacation.ReadConfig(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return say("no settings in %s; no reply sent", dir)
	}
	if err != nil {
		return say("%v; no reply sent", err)
	}
	m := vacation.Message{Sender: getenv("SENDER")}
	msg, err := mail.ReadMessage(bufio.NewReader(io.LimitReader(stdin, maxHeader)))
	if err != nil {
		return say("the message's header cannot be read (%v); no reply sent", err)
	}
	m.Header = msg.Header
	if why := vacation.Decide(c, m, now); why != "" {
		return say("no reply: %s", why)
	}
	fresh, err := vacation.Claim(dir, m.Sender, c.Days, now)
	if err != nil {
		return say("state: %v; no reply sent", err)
	}
	if !fresh {
		return say("no reply: %s was answered within %d days", m.Sender, c.Days)
	}
	reply := vacation.Reply(c, m, now)
	res, err := submit.Message(c.Socket, "", []string{m.Sender}, bytes.NewReader(reply), commitTimeout)
	switch {
	case err != nil:
		return say("queue: %v; no reply sent", err)
	case !res.OK:
		return say("queue refused the reply: %s", res.Text)
	}
	return say("replied to %s qp %s", m.Sender, res.ID)
}
