package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"goqmail/internal/status"
)

const statusUsage = `usage: goqmail status [-cert-days N] [-queue-age DURATION] [-window DURATION] [ROOT]
  Is the server running, and well? goqmaild and each program with its pid, account
  and uptime; the listeners and whether something listens on each port; the queue's
  size and its oldest message; with control/logdest files, the deliveries of the
  last -window (default 10m) and the last errors from ROOT/log; the certificate's
  expiry. Then a line "problem: ..." for each thing wrong, and exit 111 if any:
  goqmaild or a program not running, a port nothing listens on, a queue whose
  oldest message is older than -queue-age (default 24h), messages set aside in
  queue/bad, a certificate expired or expiring within -cert-days (default 14), an
  invalid configuration. Exit 0 when nothing is wrong. Run it as root.
` + rootArgHelp

// statusCmd is `goqmail status`: for people and for monitoring (exit 111
// with "problem:" lines when something is wrong, like goqmail check).
func statusCmd(c *call) {
	o := status.Defaults
	o.Root = c.root
	if v, ok := c.values["cert-days"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			usageFail(c.cmd, "-cert-days %q: give a whole number of days", v)
		}
		o.CertDays = n
	}
	for name, d := range map[string]*time.Duration{"queue-age": &o.QueueAge, "window": &o.Window} {
		if v, ok := c.values[name]; ok {
			dur, err := time.ParseDuration(v)
			if err != nil || dur <= 0 {
				usageFail(c.cmd, "-%s %q: give a duration such as 30m, 2h or 48h", name, v)
			}
			*d = dur
		}
	}
	if st, err := os.Stat(filepath.Join(c.root, "control")); err != nil || !st.IsDir() {
		fail("status: %s is not a goqmail installation (it has no control/): give ROOT, -root ROOT or set GOQMAIL_ROOT", c.root)
	}
	r := status.Gather(o)
	for _, l := range r.Lines {
		fmt.Println(l)
	}
	for _, p := range r.Problems {
		fmt.Println("problem:", p)
	}
	if len(r.Problems) > 0 {
		os.Exit(exitTrouble)
	}
	fmt.Println("ok")
}
