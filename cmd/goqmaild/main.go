// Command goqmaild is the supervisor: `goqmaild ROOT` starts a complete
// goqmail server from the directory ROOT (control/, users/, queue/, run/).
// Started as root it binds the ports and runs each program under its own
// account (create them with `goqmail install`); started as an ordinary user
// everything runs as that user. It first runs `goqmail check -config ROOT`
// (the goqmail program beside it) and refuses to start, exit 111, on any
// configuration problem. SIGTERM stops everything cleanly, SIGHUP makes
// every program reread its configuration (when the same check passes),
// SIGALRM retries the queue. See internal/supervise.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"goqmail/internal/helptext"
	"goqmail/internal/ipc"
	"goqmail/internal/logline"
	"goqmail/internal/rootdir"
	"goqmail/internal/supervise"
)

const usage = helptext.Goqmaild

// rootFromArgs finds ROOT the way every goqmail command does
// (internal/rootdir); help is true for -h or --help.
func rootFromArgs(args []string, getenv func(string) string) (root string, help bool, err error) {
	flag, rest, err := rootdir.Split(args)
	if err != nil {
		return "", false, err
	}
	var positional string
	for _, a := range rest {
		switch {
		case a == "-h" || a == "-help" || a == "--help":
			return "", true, nil
		case strings.HasPrefix(a, "-"):
			return "", false, fmt.Errorf("unknown option %s", a)
		case positional != "":
			return "", false, fmt.Errorf("unexpected argument %q: goqmaild takes one directory", a)
		}
		positional = a
	}
	root, _, err = rootdir.Resolve(flag, positional, getenv)
	return root, false, err
}

func main() {
	arg, help, err := rootFromArgs(os.Args[1:], os.Getenv)
	switch {
	case help:
		fmt.Print(usage)
		os.Exit(0)
	case err != nil:
		fmt.Fprintf(os.Stderr, "goqmaild: %v\n\n%s", err, usage)
		os.Exit(100)
	}
	root, err := filepath.Abs(arg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "goqmaild:", err)
		os.Exit(111)
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "goqmaild:", err)
		os.Exit(111)
	}
	s := &supervise.Supervisor{Root: root, BinDir: filepath.Dir(exe), Log: logline.New("goqmaild")}
	// Whatever the shell or init script left open stays here: the programs
	// get exactly their sockets (and through the delivery process, users'
	// .qmail programs would have got the rest).
	if err := ipc.CloseOnExecFrom(3); err != nil {
		s.Log.Printf("alert: %v", err)
		os.Exit(111)
	}
	if err := s.Run(); err != nil {
		s.Log.Printf("alert: %v", err)
		os.Exit(111)
	}
}
