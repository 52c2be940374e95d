// Package status is `goqmail status`: is the server of a root running,
// and well? It reads what the running programs leave behind, and changes
// nothing: the supervisor's lock and the programs' pid files (run/),
// /proc for each process's uid, start and parent, the control files for
// the listeners, queue/msg for the queue, the log files for the last
// deliveries and errors, control/servercert.pem for the certificate.
//
// Every check that fails is a problem, one line that names it; a
// monitoring system runs the command and alerts on its exit status
// (docs/commands.md).
package status

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"goqmail/internal/control"
	"goqmail/internal/pidlock"
	"goqmail/internal/supervise"
)

// Options are the thresholds and the clock.
type Options struct {
	Root string
	Now  func() time.Time
	// CertDays: a certificate that expires within this many days is a
	// problem (renew it before clients refuse it).
	CertDays int
	// QueueAge: a queue whose oldest message is older is stuck.
	QueueAge time.Duration
	// Window: deliveries are counted over this much of the recent log.
	Window time.Duration
	// Errors: how many of the last errors to show.
	Errors int
	// ProcRoot is /proc (a test's copy otherwise).
	ProcRoot string
}

// Defaults are the thresholds when the command line gives none.
var Defaults = Options{CertDays: 14, QueueAge: 24 * time.Hour, Window: 10 * time.Minute, Errors: 5, ProcRoot: "/proc"}

// Report is what status found: lines to show, and the problems.
type Report struct {
	Lines    []string
	Problems []string
}

func (r *Report) say(format string, args ...any) {
	r.Lines = append(r.Lines, fmt.Sprintf(format, args...))
}
func (r *Report) problem(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

// Gather looks at the root.
func Gather(o Options) *Report {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ProcRoot == "" {
		o.ProcRoot = "/proc"
	}
	r := &Report{}
	now := o.Now()
	r.say("goqmail status of %s at %s", o.Root, now.UTC().Format(time.RFC3339))
	snap, probs := control.Inspect(filepath.Join(o.Root, "control"))
	if len(probs) > 0 {
		r.problem("configuration: %d problem(s), the first: %s (goqmail check -config lists them)", len(probs), probs[0])
	}
	running := programs(r, o, snap, now)
	listeners(r, o, snap, running)
	queueState(r, o, now)
	recentLog(r, o, snap, now)
	certificate(r, o, now)
	return r
}

// programs reports goqmaild and each program it should be running, and
// returns whether goqmaild runs.
func programs(r *Report, o Options, snap *control.Snapshot, now time.Time) bool {
	run := filepath.Join(o.Root, "run")
	pid := pidlock.Holder(filepath.Join(run, "goqmaild.pid"))
	if pid == 0 {
		r.say("%-9s not running", "goqmaild")
		r.problem("goqmaild is not running: nothing holds %s (start it: goqmaild %s)", filepath.Join(run, "goqmaild.pid"), o.Root)
		return false
	}
	sup, err := readProc(o.ProcRoot, pid)
	if err != nil {
		r.problem("goqmaild (pid %d) holds its lock but /proc/%d cannot be read: %v", pid, pid, err)
		return true
	}
	r.say("%-9s running  pid %-7d %-10s up %s", "goqmaild", pid, userName(sup.uid), age(now.Sub(sup.started)))
	for _, svc := range supervise.Services {
		if why := notWanted(svc, snap, run); why != "" {
			r.say("  %-7s not started: %s", svc.Name, why)
			continue
		}
		pf := filepath.Join(run, svc.Name+".pid")
		b, err := os.ReadFile(pf)
		if err != nil {
			r.say("  %-7s DOWN     no %s", svc.Name, pf)
			r.problem("%s is down: %s is missing (goqmaild has not started it)", svc.Name, pf)
			continue
		}
		p, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		pr, err := readProc(o.ProcRoot, p)
		switch {
		case err != nil || pr.ppid != pid:
			r.say("  %-7s DOWN     pid %d has exited", svc.Name, p)
			r.problem("%s is down: its pid %d (%s) is gone; goqmaild restarts a program within seconds, and 30 s after a configuration error: if it stays down, its last lines in the log say why", svc.Name, p, pf)
		case pr.state == 'Z':
			r.say("  %-7s DOWN     pid %d has exited, not yet reaped", svc.Name, p)
			r.problem("%s is down: pid %d has exited and goqmaild has not restarted it yet (is goqmaild stopped or busy?)", svc.Name, p)
		default:
			r.say("  %-7s running  pid %-7d %-10s up %s", svc.Name, p, userName(pr.uid), age(now.Sub(pr.started)))
		}
	}
	return true
}

// notWanted says why the supervisor does not run svc here, or "".
func notWanted(svc supervise.Service, snap *control.Snapshot, run string) string {
	if svc.Log {
		switch dest := snap.Line(control.LogDest); dest {
		case "stderr":
			return "logdest is stderr"
		case "auto":
			// auto means the journal only when goqmaild's standard error
			// is the journal: its pid file says whether it chose so.
			if _, err := os.Stat(filepath.Join(run, "log.pid")); err != nil {
				return "logdest is auto and goqmaild's standard error is not the journal"
			}
		}
		return ""
	}
	if svc.NeedsListener {
		var names []string
		for _, l := range supervise.TCPListeners {
			for _, s := range svc.Sockets {
				if s == l.Kind {
					if len(snap.List(l.Control)) > 0 {
						return ""
					}
					names = append(names, l.Control.Name)
				}
			}
		}
		return "no address in " + strings.Join(names, " or ")
	}
	return ""
}

// listeners lists the addresses of the listener control files and, while
// goqmaild runs, says which port nothing listens on.
func listeners(r *Report, o Options, snap *control.Snapshot, running bool) {
	var ports map[int]bool
	if running {
		var err error
		if ports, err = listeningPorts(o.ProcRoot); err != nil {
			r.say("listeners (cannot read %s/net/tcp: %v)", o.ProcRoot, err)
		}
	}
	r.say("listeners")
	for _, l := range supervise.TCPListeners {
		for _, addr := range snap.List(l.Control) {
			state := "(goqmaild is not running)"
			if ports != nil {
				_, p, _ := net.SplitHostPort(addr) // checked by control
				n, _ := strconv.Atoi(p)
				state = "listening"
				if !ports[n] {
					state = "NOT LISTENING"
					r.problem("nothing listens on %s (control/%s), which goqmaild binds at start", addr, l.Control.Name)
				}
			}
			r.say("  %-11s %-22s %s", l.Kind, addr, state)
		}
	}
}

func userName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return "uid " + strconv.Itoa(uid)
}

// age is a duration for people, in its two largest units: 3d4h, 2h5m,
// 4m10s, 12s; a zero second unit is left out (24h, 3d, 10m).
func age(d time.Duration) string {
	two := func(a int, ua string, b int, ub string) string {
		if b == 0 {
			return fmt.Sprintf("%d%s", a, ua)
		}
		return fmt.Sprintf("%d%s%d%s", a, ua, b, ub)
	}
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < time.Hour:
		return two(int(d.Minutes()), "m", int(d.Seconds())%60, "s")
	case d < 48*time.Hour:
		return two(int(d.Hours()), "h", int(d.Minutes())%60, "m")
	}
	return two(int(d.Hours())/24, "d", int(d.Hours())%24, "h")
}

// plural is n and a noun, with an s when n is not 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// denied adds what to do to a permission error.
func denied(err error) string {
	if errors.Is(err, fs.ErrPermission) {
		return err.Error() + ": run goqmail status as root"
	}
	return err.Error()
}
