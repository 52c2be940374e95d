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

	"goqmail/internal/logline"
	"goqmail/internal/supervise"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: goqmaild ROOT\n  ROOT is a goqmail directory made by `goqmail init` or `goqmail install`")
		os.Exit(100)
	}
	root, err := filepath.Abs(os.Args[1])
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
	if err := s.Run(); err != nil {
		s.Log.Printf("alert: %v", err)
		os.Exit(111)
	}
}
