package supervise

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"goqmail/internal/control"
	"goqmail/internal/logline"
)

// fakeCheck makes a BinDir whose goqmail prints script's output and exits
// with code; it records its arguments in args.
func fakeCheck(t *testing.T, output string, code int) (binDir, argsFile string) {
	t.Helper()
	dir := t.TempDir()
	argsFile = filepath.Join(dir, "args")
	script := "#!/bin/sh\necho \"$@\" > " + argsFile + "\ncat <<'EOF'\n" + output + "EOF\nexit " + strconv.Itoa(code) + "\n"
	if err := os.WriteFile(filepath.Join(dir, "goqmail"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, argsFile
}

func TestLoadConfigRefusesOnProblems(t *testing.T) {
	bin, args := fakeCheck(t, "warning: control/tcp.smtp line 1: ignored\nproblem: control/databytes line 1: \"10M\" is not a number of bytes; write a whole number\nproblem: control/rcpthosts line 2: bad\n/x: 2 configuration problem(s)\n", 111)
	var log bytes.Buffer
	s := &Supervisor{Root: "/nonexistent/root", BinDir: bin, Log: logline.NewTo(&log, "goqmaild")}
	_, err := s.loadConfig()
	if err == nil || !strings.Contains(err.Error(), "refusing to start: 2 configuration problem(s)") {
		t.Fatalf("loadConfig: %v", err)
	}
	for _, want := range []string{
		"goqmaild: warning: configuration: control/tcp.smtp line 1: ignored\n",
		"goqmaild: alert: configuration: control/databytes line 1: \"10M\" is not a number of bytes; write a whole number\n",
		"goqmaild: alert: configuration: control/rcpthosts line 2: bad\n",
	} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
	if b, _ := os.ReadFile(args); strings.TrimSpace(string(b)) != "check -config /nonexistent/root" {
		t.Errorf("check ran with %q", b)
	}
}

// TestCheckFailsClosed: a check that cannot run refuses, and says why.
func TestCheckFailsClosed(t *testing.T) {
	s := &Supervisor{Root: t.TempDir(), BinDir: t.TempDir(), Log: logline.NewTo(&bytes.Buffer{}, "goqmaild")}
	p := s.checkConfig()
	if len(p) != 1 || !strings.Contains(p[0], "install goqmail beside goqmaild") {
		t.Fatalf("missing goqmail: %q", p)
	}
	bin, _ := fakeCheck(t, "usage: ...\n", 100)
	s.BinDir = bin
	if p := s.checkConfig(); len(p) != 1 || !strings.Contains(p[0], "usage: ...") {
		t.Fatalf("check that failed without problems: %q", p)
	}
}

// TestHeldForConfig: a program that exits with logline.ExitConfig is held
// (not restarted at once) and alerted with the check's reasons; the retry
// event releases it once.
func TestHeldForConfig(t *testing.T) {
	bin, _ := fakeCheck(t, "problem: control/databytes line 1: bad\n", 111)
	var log bytes.Buffer
	s := &Supervisor{Root: "/r", BinDir: bin, Log: logline.NewTo(&log, "goqmaild"), exited: make(chan exitEvent, 4)}
	s.cfg.held = map[string]bool{}
	svc := &Services[0]
	exit78 := exec.Command("sh", "-c", "exit 78").Run()
	if !s.heldForConfig(exitEvent{svc: svc, err: exit78, started: time.Now()}) {
		t.Fatal("exit 78 not held")
	}
	if !strings.Contains(log.String(), "alert: "+svc.Name+" cannot start: its configuration is invalid") ||
		!strings.Contains(log.String(), "alert: configuration: control/databytes line 1: bad") {
		t.Errorf("log:\n%s", log.String())
	}
	exit111 := exec.Command("sh", "-c", "exit 111").Run()
	if s.heldForConfig(exitEvent{svc: &Services[1], err: exit111}) {
		t.Error("an ordinary failure was held")
	}
	// The retry starts it (here: a binary that does not exist, so the
	// start fails and is retried as any failed start).
	s.procs = map[string]*proc{}
	s.heldForConfig(exitEvent{svc: svc, err: errConfigRetry})
	if !strings.Contains(log.String(), "status: starting "+svc.Name+" again after its configuration error") ||
		!strings.Contains(log.String(), "alert: cannot restart "+svc.Name) {
		t.Errorf("retry not started:\n%s", log.String())
	}
	log.Reset()
	if !s.heldForConfig(exitEvent{svc: svc, err: errConfigRetry}) || log.Len() != 0 {
		t.Errorf("a second retry event did something: %s", log.String())
	}
}

func TestRestartChanges(t *testing.T) {
	boot := map[*control.Setting]string{control.SMTPListen: "127.0.0.1:25", control.SyncMode: "auto", control.POP3Listen: ""}
	now := map[*control.Setting]string{control.SMTPListen: "127.0.0.1:2525", control.SyncMode: "auto", control.POP3Listen: ""}
	got := restartChanges(boot, now)
	if len(got) != 1 || !strings.HasPrefix(got[0], `control/smtplisten changed ("127.0.0.1:2525", running with "127.0.0.1:25"): it is read only at start; restart goqmaild`) {
		t.Fatalf("%q", got)
	}
}
