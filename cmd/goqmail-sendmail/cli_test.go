package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"goqmail/internal/rootdir"
	"goqmail/internal/rootdir/roottest"
)

// TestRootConvention: sendmail finds ROOT by the rule of every goqmail
// command (internal/rootdir/roottest); it has no positional ROOT, and
// without one of its own it falls back to the installation its program is
// in, then /var/goqmail when that is one.
func TestRootConvention(t *testing.T) {
	def := ""
	if hasMe(rootdir.Default) {
		def = rootdir.Default
	}
	for _, c := range roottest.Cases {
		if c.Positional {
			continue
		}
		flag, rest, err := rootdir.Split(c.Expand("-bp"))
		if c.Err != "" {
			if err == nil || !strings.Contains(err.Error(), c.Err) {
				t.Errorf("%v: %v; want an error with %q", c, err, c.Err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v: %v", c, err)
			continue
		}
		if o, err := parseArgs("sendmail", rest); err != nil || o.mode != modeQueue {
			t.Errorf("%v: the rest %q parsed as %+v, %v", c, rest, o, err)
		}
		root, err := findRoot(flag, c.Getenv, "")
		want := c.Want
		if want == "" {
			want = def
		}
		switch {
		case want == "":
			if !errors.Is(err, errNoRoot) {
				t.Errorf("%v: %q, %v; want errNoRoot", c, root, err)
			}
		case err != nil || root != want:
			t.Errorf("%v: %q, %v; want %q", c, root, err, want)
		}
	}
}

// TestHelpAndUsage: --help (and -h alone) prints the usage and exits 0; a
// bad option says what is wrong, then the usage, and exits EX_USAGE;
// --root finds the installation without $GOQMAIL_ROOT.
func TestHelpAndUsage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	root := makeRoot(t)
	bin := buildCommand(t, root)
	lone := filepath.Join(t.TempDir(), "sendmail") // not in a ROOT/bin
	data, _ := os.ReadFile(bin)
	os.WriteFile(lone, data, 0o755)
	env := []string{"USER=tester", "PATH=" + os.Getenv("PATH")}
	for _, args := range [][]string{{"--help"}, {"-h"}, {"-t", "--help"}} {
		r := runCmd(t, lone, env, "", args...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "usage: sendmail") || r.stderr != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, r.code, firstLine(r.stdout), r.stderr)
		}
	}
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"-z", "bob"}, "unknown option -z"},
		{[]string{"--bogus", "bob"}, "unknown option --bogus"},
		{[]string{"--root"}, "--root needs a directory"},
		{[]string{"-f"}, "option -f needs a value"},
	} {
		r := runCmd(t, lone, env, "", c.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, c.msg) || !strings.Contains(r.stderr, "\nusage: sendmail") {
			t.Errorf("%q: exit %d, stderr %q; want %d, %q and the usage", c.args, r.code, r.stderr, exitUsage, c.msg)
		}
	}
	q := startQueue(t, filepath.Join(root, "run", "submit.sock"))
	for _, args := range [][]string{{"--root", root, "bob"}, {"bob", "-root", root}} {
		r := runCmd(t, lone, env, "Subject: x\n\nhi\n", args...)
		if got := q.take(); r.code != 0 || len(got) != 1 {
			t.Errorf("%q: exit %d, %d submissions, stderr %q", args, r.code, len(got), r.stderr)
		}
	}
}

// TestMailqEmpty runs mailq with the real goqmail: an empty queue says so.
func TestMailqEmpty(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the commands")
	}
	root := makeRoot(t)
	bin := buildCommand(t, root)
	if out, err := exec.Command("go", "build", "-o", filepath.Join(root, "bin", "goqmail"), "../goqmail").CombinedOutput(); err != nil {
		t.Fatalf("go build goqmail: %v\n%s", err, out)
	}
	os.MkdirAll(filepath.Join(root, "queue", "msg"), 0o755)
	os.Symlink("sendmail", filepath.Join(root, "bin", "mailq"))
	env := []string{"USER=tester", "PATH=" + os.Getenv("PATH")}
	want := "mail queue is empty (" + filepath.Join(root, "queue") + ")\n"
	for _, argv := range [][]string{{filepath.Join(root, "bin", "mailq")}, {bin, "-bp"}} {
		r := runCmd(t, argv[0], env, "", argv[1:]...)
		if r.code != 0 || r.stdout != want {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want %q", argv, r.code, r.stdout, r.stderr, want)
		}
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
