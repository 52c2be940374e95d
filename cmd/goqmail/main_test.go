package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"goqmail/internal/rootdir"
	"goqmail/internal/rootdir/roottest"
)

// The tests run the command itself: the test binary is goqmail when
// GOQMAIL_TEST_MAIN is set (no build step, and os.Exit is real).
func TestMain(m *testing.M) {
	if os.Getenv("GOQMAIL_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type result struct {
	stdout, stderr string
	code           int
}

// goqmail runs the command in dir with only the given environment.
func goqmail(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"GOQMAIL_TEST_MAIN=1", "PATH=" + os.Getenv("PATH")}, env...)
	cmd.Stdin = strings.NewReader("")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

// ownArgs are arguments each command is happy with, for the tables.
var ownArgs = map[string][]string{
	"init": nil, "install": nil, "uninstall": nil, "check": nil, "showctl": nil,
	"queue": {"list"}, "domain": {"list"}, "user": {"list", "x.example"}, "alias": {"list", "x.example"},
	"import": {"--dry-run"}, "relay": {"list"}, "log": {"summary"}, "status": nil,
	"dkim": {"list"}, "srs": {"list"}, "dns": {"records", "x.example"},
	"admin-session": {"-role", "site", "-login", "x"},
}

// TestRootConventionEveryCommand runs the shared table of command lines
// (internal/rootdir/roottest) through every command's parsing.
func TestRootConventionEveryCommand(t *testing.T) {
	for _, cmd := range commands {
		args, ok := ownArgs[cmd.name]
		if !ok {
			t.Errorf("command %s has no arguments in ownArgs: add them so the table covers it", cmd.name)
			continue
		}
		for _, c := range roottest.Cases {
			if c.Positional && !cmd.rootArg {
				continue
			}
			argv := append([]string{cmd.name}, c.Expand(args...)...)
			got, err := parse(argv, c.Getenv)
			want := c.Want
			if want == "" {
				want = rootdir.Default
			}
			wantErr := c.Err
			if want == rootdir.Default && cmd.explicitRoot && wantErr == "" {
				wantErr = "needs a directory"
			}
			var uerr *usageError
			switch {
			case wantErr != "":
				if !errors.As(err, &uerr) || !strings.Contains(uerr.msg, wantErr) || uerr.cmd != cmd {
					t.Errorf("%s %v: got %+v, %v; want a usage error of %s with %q", cmd.name, c, got, err, cmd.name, wantErr)
				}
			case err != nil:
				t.Errorf("%s %v: %v", cmd.name, c, err)
			case got.root != want || got.cmd != cmd:
				t.Errorf("%s %v: root %q (command %s), want %q", cmd.name, c, got.root, got.cmd.name, want)
			case !cmd.rootArg && strings.Join(got.args, " ") != strings.Join(args, " "):
				t.Errorf("%s %v: arguments %q, want %q", cmd.name, c, got.args, args)
			}
		}
	}
}

// helpLines are command lines that must print help and do nothing else.
func helpLines() [][]string {
	lines := [][]string{{"--help"}, {"-h"}, {"help"}, {"help", "queue"}}
	for _, cmd := range commands {
		lines = append(lines, []string{cmd.name, "--help"}, []string{cmd.name, "-h"},
			[]string{cmd.name, "-root", "/nonexistent", "--help"})
	}
	return append(lines,
		[]string{"queue", "help"}, []string{"queue", "list", "--help"}, []string{"queue", "delete", "x", "--help"},
		[]string{"user", "add", "bob@x.example", "--help"}, []string{"user", "passwd", "-h", "bob@x.example"},
		[]string{"domain", "add", "x.example", "--help"}, []string{"alias", "add", "a@x.example", "b@y.example", "-h"},
		[]string{"relay", "revoke", "--help"}, []string{"import", "--qmail", "/q", "--help"},
		[]string{"install", "/tmp/x", "--help"}, []string{"init", "demo", "-h"},
	)
}

// TestHelpDoesNothing: -h and --help print the usage to standard output
// and exit 0, and create nothing: `goqmail install --help` used to install
// into ./--help (issue 10, item 7).
func TestHelpDoesNothing(t *testing.T) {
	for _, argv := range helpLines() {
		dir := t.TempDir()
		root := filepath.Join(dir, "envroot")
		r := goqmail(t, dir, []string{"GOQMAIL_ROOT=" + root}, argv...)
		want := "usage: goqmail "
		if c := lookup(argv[0]); c != nil {
			want += c.name
		} else if len(argv) > 1 && lookup(argv[1]) != nil {
			want += argv[1]
		}
		if r.code != 0 || !strings.HasPrefix(r.stdout, want) || r.stderr != "" {
			t.Errorf("goqmail %s: exit %d, stdout %q, stderr %q; want exit 0 and %q", strings.Join(argv, " "), r.code, firstLine(r.stdout), r.stderr, want)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("goqmail %s created %v", strings.Join(argv, " "), ents)
		}
	}
}

// TestBadArgumentsGetUsage: an unknown option, a missing or extra
// argument: what is wrong and the usage on standard error, exit 100,
// nothing created, nothing on standard output.
func TestBadArgumentsGetUsage(t *testing.T) {
	type bad struct {
		argv []string
		msg  string
	}
	var lines []bad
	for _, cmd := range commands {
		lines = append(lines, bad{append(append([]string{cmd.name}, ownArgs[cmd.name]...), "--bogus"), "unknown option --bogus"})
	}
	lines = append(lines,
		bad{[]string{}, "which command?"},
		bad{[]string{"--bogus"}, "unknown option --bogus"},
		bad{[]string{"frob"}, `unknown command "frob"`},
		bad{[]string{"install", "a", "b"}, `unexpected argument "b"`},
		bad{[]string{"install", "-x"}, "unknown option -x"},
		bad{[]string{"check", "-root"}, "-root needs a directory"},
		bad{[]string{"queue"}, "which command?"},
		bad{[]string{"queue", "frob"}, `unknown command "frob"`},
		bad{[]string{"queue", "show"}, "show takes 1 argument(s), got 0"},
		bad{[]string{"queue", "delete", "0123456789abcdef"}, "delete needs --bounce"},
		bad{[]string{"queue", "delete", "0123456789abcdef", "--loud"}, "delete takes --bounce or --silent, got --loud"},
		bad{[]string{"relay", "revoke", "x"}, `"x" is not an IP address`},
		bad{[]string{"user", "frob", "a@b.example"}, `unknown command "frob"`},
		bad{[]string{"user", "add"}, "user add takes one argument, got 0"},
		bad{[]string{"domain", "add", "x.example", "--bogus", "1"}, "unknown option --bogus"},
		bad{[]string{"alias", "add", "a@x.example"}, "at least one target"},
		bad{[]string{"import", "extra"}, `unexpected argument "extra"`},
		bad{[]string{"import", "--qmail", "-x"}, "which is an option"},
		bad{[]string{"log"}, "which command?"},
		bad{[]string{"log", "summary", "-top", "0"}, `-top "0": give a whole number of at least 1`},
		bad{[]string{"status", "-cert-days", "x"}, `-cert-days "x": give a whole number of days`},
		bad{[]string{"status", "-queue-age"}, "-queue-age needs a value"},
		bad{[]string{"status", "--window=soon"}, `-window "soon": give a duration`},
		bad{[]string{"status", "a", "b"}, `unexpected argument "b"`},
	)
	for _, b := range lines {
		dir := t.TempDir()
		root := filepath.Join(dir, "envroot")
		r := goqmail(t, dir, []string{"GOQMAIL_ROOT=" + root}, b.argv...)
		want := "usage: goqmail"
		if len(b.argv) > 0 {
			if c := lookup(b.argv[0]); c != nil {
				want += " " + c.name
			}
		}
		if r.code != exitUsage || !strings.Contains(r.stderr, b.msg) || !strings.Contains(r.stderr, want) || r.stdout != "" {
			t.Errorf("goqmail %s: exit %d, stdout %q, stderr:\n%s\nwant exit 100, %q and %q", strings.Join(b.argv, " "), r.code, r.stdout, r.stderr, b.msg, want)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("goqmail %s created %v", strings.Join(b.argv, " "), ents)
		}
	}
}

// TestRelayNeedsAnInstallation: a wrong ROOT is not "no grants".
func TestRelayNeedsAnInstallation(t *testing.T) {
	dir := t.TempDir()
	r := goqmail(t, dir, nil, "relay", "list", "-root", filepath.Join(dir, "nosuch"))
	if r.code != exitTrouble || !strings.Contains(r.stderr, "is not a goqmail installation") || r.stdout != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := goqmail(t, dir, nil, "status", filepath.Join(dir, "nosuch")); r.code != exitTrouble || !strings.Contains(r.stderr, "is not a goqmail installation") || r.stdout != "" {
		t.Errorf("status of no installation: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	os.MkdirAll(filepath.Join(dir, "control"), 0o755)
	r = goqmail(t, dir, nil, "relay", "list", "-root", dir)
	if want := "no live grants (" + filepath.Join(dir, "relay", "grants") + ")\n"; r.code != 0 || r.stdout != want {
		t.Errorf("exit %d, stdout %q, stderr %q; want %q", r.code, r.stdout, r.stderr, want)
	}
}

// TestQueueListEmpty: an empty queue says so (qmail-qread printed
// nothing, which looks like a failure).
func TestQueueListEmpty(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"control", "queue/msg"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(root, "control", "me"), []byte("mail.example.test\n"), 0o644)
	r := goqmail(t, root, nil, "queue", "list", "-root", root)
	if want := "mail queue is empty (" + filepath.Join(root, "queue") + ")\n"; r.code != 0 || r.stdout != want {
		t.Errorf("exit %d, stdout %q, stderr %q; want %q", r.code, r.stdout, r.stderr, want)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// TestCheckConfigFlag: `goqmail check -config ROOT` (as goqmaild runs it)
// takes the flag and the directory, in either order.
func TestCheckConfigFlag(t *testing.T) {
	for _, argv := range [][]string{{"check", "-config", "/r"}, {"check", "/r", "--config"}} {
		c, err := parse(argv, func(string) string { return "" })
		if err != nil {
			t.Fatalf("%q: %v", argv, err)
		}
		if !c.flags["config"] || c.root != "/r" {
			t.Errorf("%q: flags %v root %q, want config and /r", argv, c.flags, c.root)
		}
	}
	if _, err := parse([]string{"showctl", "-config", "/r"}, func(string) string { return "" }); err == nil {
		t.Error("showctl took -config")
	}
}

// TestInstallOptions: install's options with values, in both spellings;
// a missing value, -mx without -cert and -cert without -mx are usage
// errors that say what is wrong (exit 100), before anything is done.
func TestInstallOptions(t *testing.T) {
	env := func(string) string { return "" }
	c, err := parse([]string{"install", "-systemd", "--links", "-mx", "-cert", "/c.pem", "--destdir=/tmp/d", "/srv/mail"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if !c.flags["systemd"] || !c.flags["links"] || !c.flags["mx"] || c.values["cert"] != "/c.pem" || c.values["destdir"] != "/tmp/d" || c.root != "/srv/mail" {
		t.Errorf("parsed %+v", c)
	}
	for _, args := range [][]string{{"install", "-cert"}, {"install", "-destdir="}, {"uninstall", "-cert", "x"}} {
		var ue *usageError
		if _, err := parse(args, env); !errors.As(err, &ue) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
	dir := t.TempDir()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"install", "-mx", dir}, "-mx needs -cert FILE"},
		{[]string{"install", "-cert", "x.pem", dir}, "-cert and -key go with -mx"},
	} {
		r := goqmail(t, dir, nil, tt.args...)
		if r.code != 100 || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%q: exit %d, stderr %q; want 100 and %q", tt.args, r.code, r.stderr, tt.want)
		}
	}
}
