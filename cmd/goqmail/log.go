package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"goqmail/internal/logdir"
	"goqmail/internal/logparse"
	"goqmail/internal/logsum"
)

const logUsage = `usage: goqmail log summary [-top N] [FILE|DIR|-]... [-root ROOT]
  What qmailanalog and pflogsumm print, from goqmail's log lines: messages in,
  bounces, refusals by reason; deliveries delivered, deferred, failed; delays
  (percentiles); top senders, recipients and domains; deferral reasons; warnings.
  Without FILE it reads ROOT/log (control/logdest files): the rotated files
  oldest first, then current. A DIR is read the same way; - is standard input
  (journalctl -u goqmail -o cat | goqmail log summary -). -top N: list lengths
  (default 10). Exit 0, 100 usage, 111 a file that cannot be read.
` + rootHelp

// logCmd runs `goqmail log summary ...`; see docs/logs.md.
func logCmd(c *call) {
	if len(c.args) == 0 {
		usageFail(c.cmd, "which command? (summary)")
	}
	if c.args[0] != "summary" {
		usageFail(c.cmd, "unknown log command %q (summary)", c.args[0])
	}
	top := 10
	var inputs []string
	args := c.args[1:]
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-top" || a == "--top":
			if i+1 == len(args) {
				usageFail(c.cmd, "%s needs a number", a)
			}
			n, err := strconv.Atoi(args[i+1])
			if err != nil || n < 1 {
				usageFail(c.cmd, "%s %q: give a whole number of at least 1", a, args[i+1])
			}
			top, i = n, i+1
		case a == "-" || !strings.HasPrefix(a, "-"):
			inputs = append(inputs, a)
		default:
			usageFail(c.cmd, "unknown option %s", a)
		}
	}
	if len(inputs) == 0 {
		dir := filepath.Join(c.root, "log")
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			fail("log summary: %s does not exist (control/logdest is not files?): give the files to read, or - for standard input, e.g. journalctl -u goqmail -o cat | goqmail log summary -", dir)
		}
		inputs = []string{dir}
	}
	s := logsum.New()
	for _, in := range inputs {
		if err := summarise(s, in); err != nil {
			fail("log summary: %v", err)
		}
	}
	s.Write(os.Stdout, top)
}

// summarise adds a file, a log directory's files, or standard input.
func summarise(s *logsum.Summary, in string) error {
	if in == "-" {
		return readLines(s, os.Stdin)
	}
	st, err := os.Stat(in)
	if err != nil {
		return fmt.Errorf("%w%s", err, permHint(err))
	}
	files := []string{in}
	if st.IsDir() {
		if files, err = logdir.Files(in); err != nil {
			return fmt.Errorf("%w%s", err, permHint(err))
		}
	}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("%w%s", err, permHint(err))
		}
		err = readLines(s, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

func readLines(s *logsum.Summary, r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		s.Add(logparse.Parse(sc.Text()))
	}
	return sc.Err()
}

// permHint says what to do about a log file that cannot be read.
func permHint(err error) string {
	if errors.Is(err, fs.ErrPermission) {
		return " (the log is readable by root and the group goqmaill)"
	}
	return ""
}
