package supervise

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"goqmail/internal/control"
	"goqmail/internal/logline"
)

// The supervisor validates the configuration without parsing it: it runs
// `BINDIR/goqmail check -config ROOT` (internal/ctlcheck) as a short-lived
// child, at start before it binds a port or starts a program, and on
// SIGHUP before it forwards the signal. goqmaild, a root program, so
// links none of the parsers (internal/layering). The child runs with the
// supervisor's credentials: as root it reads every file, and checks that
// each program's account can read the files that program reads.

// configCheckTimeout bounds the check; it reads a few files.
const configCheckTimeout = time.Minute

// configRetry is how long a program that exited with an invalid
// configuration (logline.ExitConfig) waits before it is started again,
// unless a SIGHUP whose check passes comes first. Restarting it every
// second would fail the same way and flood the log.
const configRetry = 30 * time.Second

// errConfigRetry is the exit event that ends such a wait.
var errConfigRetry = errors.New("waited after a configuration error")

// configState is the supervisor's part of configuration handling, used
// from its main loop only.
type configState struct {
	boot     map[*control.Setting]string // values of the restart-only settings at start
	held     map[string]bool             // services waiting after exiting with ExitConfig
	lastSaid string                      // the problems last logged, to say them once per change
}

// checkConfig runs the configuration check. It returns nil when the
// configuration may be used, else the problems, one line each, as the
// check printed them; the check's warnings are logged.
func (s *Supervisor) checkConfig() []string {
	ctx, cancel := context.WithTimeout(context.Background(), configCheckTimeout)
	defer cancel()
	bin := filepath.Join(s.BinDir, "goqmail")
	cmd := exec.CommandContext(ctx, bin, "check", "-config", s.Root)
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin"}
	cmd.Dir = "/"
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var problems []string
	for _, line := range strings.Split(out.String(), "\n") {
		switch {
		case strings.HasPrefix(line, "problem: "):
			problems = append(problems, strings.TrimPrefix(line, "problem: "))
		case strings.HasPrefix(line, "warning: "):
			s.Log.Printf("warning: configuration: %s", strings.TrimPrefix(line, "warning: "))
		}
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee) && len(problems) > 0:
		return problems
	case ctx.Err() != nil:
		return []string{fmt.Sprintf("the configuration check (%s check -config) did not finish within %v", bin, configCheckTimeout)}
	}
	// The check itself failed (missing, crashed): fail closed, and say why.
	said := strings.TrimSpace(out.String())
	if said == "" {
		said = "no output"
	}
	return []string{fmt.Sprintf("the configuration check %s check -config failed (%v): %s; install goqmail beside goqmaild", bin, err, said)}
}

// loadConfig is the start: check, then read the settings the supervisor
// itself uses (the listen addresses). Any problem refuses the start, each
// logged, before anything is bound or started.
func (s *Supervisor) loadConfig() (*control.Snapshot, error) {
	if problems := s.checkConfig(); problems != nil {
		for _, p := range problems {
			s.Log.Printf("alert: configuration: %s", p)
		}
		return nil, fmt.Errorf("refusing to start: %d configuration problem(s) (each logged above); fix them and start goqmaild again", len(problems))
	}
	snap, err := control.Load(filepath.Join(s.Root, "control"))
	if err != nil {
		return nil, err
	}
	s.cfg.boot = restartValues(snap)
	s.cfg.held = map[string]bool{}
	return snap, nil
}

// reload is SIGHUP: forwarded only when the check passes, so that every
// program switches to the new configuration or none does.
func (s *Supervisor) reload() {
	if problems := s.checkConfig(); problems != nil {
		for _, p := range problems {
			s.Log.Printf("warning: SIGHUP: configuration: %s", p)
		}
		s.Log.Printf("warning: SIGHUP: not forwarded: every program keeps its old configuration until the %d problem(s) above are fixed and SIGHUP is sent again", len(problems))
		return
	}
	if snap, err := control.Load(filepath.Join(s.Root, "control")); err == nil {
		for _, line := range restartChanges(s.cfg.boot, restartValues(snap)) {
			s.Log.Printf("warning: SIGHUP: %s", line)
		}
	}
	s.Log.Printf("status: SIGHUP: rereading configuration everywhere")
	var names []string
	for _, svc := range Services {
		names = append(names, svc.Name)
	}
	s.signal(syscall.SIGHUP, names...)
	// Programs waiting after a configuration error get their chance now.
	for i := range Services {
		if svc := &Services[i]; s.cfg.held[svc.Name] {
			go func() { s.exited <- exitEvent{svc: svc, err: errConfigRetry} }()
		}
	}
}

// heldForConfig handles the exits that concern configuration, from the
// main loop. A program that exited with logline.ExitConfig is not
// restarted at once: the supervisor logs an alert with the reasons and
// tries again after configRetry (or at a SIGHUP that passes the check).
// It returns true when the event is handled, false when the program
// should be restarted as after any exit.
func (s *Supervisor) heldForConfig(ev exitEvent) bool {
	name := ev.svc.Name
	if ev.err == errConfigRetry {
		if !s.cfg.held[name] {
			return true // already restarted (a SIGHUP came first)
		}
		delete(s.cfg.held, name)
		s.Log.Printf("status: starting %s again after its configuration error", name)
		if err := s.start(ev.svc); err != nil {
			s.Log.Printf("alert: cannot restart %s: %v; retrying", name, err)
			svc := ev.svc
			time.AfterFunc(5*time.Second, func() { s.exited <- exitEvent{svc: svc, err: err, started: time.Now()} })
		}
		return true
	}
	var ee *exec.ExitError
	if !errors.As(ev.err, &ee) || ee.ExitCode() != logline.ExitConfig {
		return false
	}
	s.Log.Printf("alert: %s cannot start: its configuration is invalid; trying again in %v, or at once after a SIGHUP whose check passes", name, configRetry)
	problems := s.checkConfig()
	said := strings.Join(problems, "\n")
	switch {
	case problems == nil:
		s.Log.Printf("alert: %s: the configuration check passes, so the reason is in %s's own alert above", name, name)
	case said == s.cfg.lastSaid:
		s.Log.Printf("alert: %s: the configuration problems are those logged above", name)
	default:
		for _, p := range problems {
			s.Log.Printf("alert: configuration: %s", p)
		}
	}
	s.cfg.lastSaid = said
	s.cfg.held[name] = true
	svc := ev.svc
	time.AfterFunc(configRetry, func() { s.exited <- exitEvent{svc: svc, err: errConfigRetry} })
	return true
}

// restartValues are the settings read only at start, as text.
func restartValues(snap *control.Snapshot) map[*control.Setting]string {
	vals := map[*control.Setting]string{}
	for _, st := range control.All {
		if !st.Restart {
			continue
		}
		v := snap.Get(st)
		if st.Kind == control.List {
			vals[st] = strings.Join(v.List, " ")
		} else {
			vals[st] = v.Line
		}
	}
	return vals
}

// restartChanges says which restart-only settings differ from the values
// goqmaild started with.
func restartChanges(boot, now map[*control.Setting]string) []string {
	var out []string
	for _, st := range control.All {
		was, ok := boot[st]
		if !ok || was == now[st] {
			continue
		}
		out = append(out, fmt.Sprintf("control/%s changed (%q, running with %q): it is read only at start; restart goqmaild to apply it", st.Name, now[st], was))
	}
	return out
}
