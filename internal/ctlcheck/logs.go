package ctlcheck

import (
	"fmt"
	"os"

	"goqmail/internal/accounts"
	"goqmail/internal/control"
	"goqmail/internal/logsink"
)

// logs checks what control/logdest needs (docs/logs.md). Files need the
// directory log/, a directory goqmail-log's account can write: without it
// goqmail-log cannot start, the programs' pipes fill and they wait, so the
// start is refused. A system log socket that is missing is a warning:
// goqmail-log then writes to goqmaild's standard error and says so, and
// the socket may well appear later (a syslog daemon started after us).
func (c *checker) logs() {
	switch c.snap.Line(control.LogDest) {
	case "files":
		dir := c.path("log")
		st, err := os.Stat(dir)
		if err != nil || !st.IsDir() {
			c.problem(control.Problem{File: "control/logdest",
				What: fmt.Sprintf("is files, but %s is not a directory (%v)", dir, errOrNotDir(err)),
				Fix:  "run goqmail install (it makes log/, owned by goqmaill, mode 0750), or choose another logdest"})
			return
		}
		ids, ok := c.opt.Accounts["log"]
		if ok && !(allowed(st, ids, 0o2) && allowed(st, ids, 0o1)) {
			c.problem(control.Problem{File: "control/logdest",
				What: fmt.Sprintf("is files, but %s cannot be written by %s, the account goqmail-log runs as", dir, accounts.Log.Name),
				Fix:  fmt.Sprintf("chown %s %s; chmod 750 %s (goqmail install does it)", accounts.Log.Name, dir, dir)})
		}
	case "journal":
		c.socket(logsink.JournalSocket, "journal")
	case "syslog":
		c.socket(logsink.SyslogSocket, "syslog")
	}
}

func (c *checker) socket(path, dest string) {
	if _, err := os.Stat(path); err != nil {
		c.warn(control.Problem{File: "control/logdest",
			What: fmt.Sprintf("is %s, but %s does not exist: until it does, the lines go to goqmaild's standard error", dest, path),
			Fix:  "start the " + dest + " daemon, or choose another logdest"})
	}
}

func errOrNotDir(err error) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("%s", "not a directory")
}
